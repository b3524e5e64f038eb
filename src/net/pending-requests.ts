/**
 * Requests this side sent and still awaits, keyed by opaque. Each has a deadline (REQUEST_TIMEOUT)
 * and optionally an AbortSignal (ABORTED); whichever of response, timeout, abort or close comes
 * first settles it, and the rest find nothing to do. A response arriving after its request
 * settled is dropped.
 *
 * Deadlines are checked by one sweep every `timeoutSweepMs` while anything is pending, not by a
 * timer per request: arming and cancelling a timer cost more than the rest of a small request.
 * A timeout therefore fires up to one sweep late. The sweep stops itself when it finds nothing
 * pending, not when the last answer arrives: a connection with one request in flight at a time
 * would otherwise arm and cancel the timer once per request.
 *
 * Opaques run 1..2^32-1 and wrap, skipping any still in use; 0 is never issued, because a peer
 * answers a frame it could not attribute with opaque 0.
 */

import type { Clock, TimerHandle } from "../common/clock.ts";
import type { MqError } from "../common/errors.ts";
import type { Frame } from "../protocol/frame.ts";
import { frameOpaqueMax } from "../protocol/frame.ts";

interface PendingRequest {
  readonly code: number;
  readonly resolve: (frame: Frame) => void;
  readonly reject: (error: Error) => void;
  readonly deadlineMs: number;
  readonly onTimeout: () => MqError;
  detachSignal: (() => void) | undefined;
}

export const timeoutSweepMs = 20;

export class PendingRequests {
  private readonly byOpaque = new Map<number, PendingRequest>();
  private lastOpaque = 0;
  private sweeper: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.byOpaque.size;
  }

  nextOpaque(): number {
    do {
      this.lastOpaque = this.lastOpaque >= frameOpaqueMax ? 1 : this.lastOpaque + 1;
    } while (this.byOpaque.has(this.lastOpaque));
    return this.lastOpaque;
  }

  /** Registers a request; `onTimeout`/`onAbort` build the errors it fails with. */
  add(options: {
    opaque: number;
    code: number;
    timeoutMs: number;
    signal: AbortSignal | undefined;
    onTimeout: () => MqError;
    onAbort: (reason: unknown) => MqError;
  }): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const pending: PendingRequest = {
        code: options.code,
        resolve,
        reject,
        deadlineMs: this.clock.monotonicMs() + options.timeoutMs,
        onTimeout: options.onTimeout,
        detachSignal: undefined,
      };
      this.byOpaque.set(options.opaque, pending);
      this.sweeper ??= this.clock.setInterval(() => this.sweep(), timeoutSweepMs);
      const signal = options.signal;
      if (signal !== undefined) {
        const onAbort = () => this.fail(options.opaque, options.onAbort(signal.reason));
        signal.addEventListener("abort", onAbort, { once: true });
        pending.detachSignal = () => signal.removeEventListener("abort", onAbort);
      }
    });
  }

  /** Hands a response to its request; false when nothing awaits this opaque any more. */
  complete(opaque: number, settle: (pending: { resolve: (frame: Frame) => void; reject: (error: Error) => void }) => void): boolean {
    const pending = this.take(opaque);
    if (pending === undefined) return false;
    settle(pending);
    return true;
  }

  fail(opaque: number, error: Error): boolean {
    const pending = this.take(opaque);
    if (pending === undefined) return false;
    pending.reject(error);
    return true;
  }

  failAll(error: Error): void {
    for (const opaque of [...this.byOpaque.keys()]) this.fail(opaque, error);
  }

  private sweep(): void {
    if (this.byOpaque.size === 0) {
      this.sweeper?.cancel();
      this.sweeper = undefined;
      return;
    }
    const nowMs = this.clock.monotonicMs();
    for (const [opaque, pending] of this.byOpaque) {
      if (pending.deadlineMs <= nowMs) this.fail(opaque, pending.onTimeout());
    }
  }

  private take(opaque: number): PendingRequest | undefined {
    const pending = this.byOpaque.get(opaque);
    if (pending === undefined) return undefined;
    this.byOpaque.delete(opaque);
    pending.detachSignal?.();
    return pending;
  }
}
