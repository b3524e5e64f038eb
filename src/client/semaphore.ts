/**
 * A counting semaphore with a FIFO of waiters: bounds how much work is in flight (sends,
 * message handlers) without holding anything unbounded — a caller that finds no permit waits on
 * its own promise, and an aborted wait leaves the queue at once.
 */

import { MqError } from "../common/errors.ts";

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  detach: (() => void) | undefined;
}

export class Semaphore {
  private available: number;
  private readonly waiters: Waiter[] = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`Semaphore needs at least 1 permit, got ${permits}`);
    this.available = permits;
  }

  get inUse(): number {
    return this.permits - this.available;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  tryAcquire(): boolean {
    if (this.available === 0 || this.waiters.length > 0) return false;
    this.available--;
    return true;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, detach: undefined };
      if (signal !== undefined) {
        const onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortError(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      // The permit passes straight to the next waiter: `available` does not change.
      next.detach?.();
      next.resolve();
      return;
    }
    this.available++;
    if (this.available > this.permits) throw new Error("Semaphore released more permits than it holds");
    if (this.available === this.permits) for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /** Resolves once every permit is back (nothing in flight). */
  whenIdle(): Promise<void> {
    if (this.available === this.permits) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

function abortError(signal: AbortSignal): MqError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "signal aborted");
  return new MqError("ABORTED", { reason });
}
