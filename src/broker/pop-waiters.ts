/**
 * Held pop receives (long polling): a receive that found nothing waits until a message is stored
 * on its topic, an in-flight message of its (group, topic) becomes visible again, its wait ends,
 * or its signal aborts. Wake-ups run in a microtask, never inside the event that caused them, so
 * a receive is never re-entered while another is handing out messages. At most `waitersMax` are
 * held; more are answered at once (empty).
 */

import type { Clock, TimerHandle } from "../common/clock.ts";

export interface WaitingRequest {
  readonly group: string;
  readonly topic: string;
  readonly signal?: AbortSignal;
}

interface Waiter<R extends WaitingRequest, T> {
  readonly request: R;
  readonly resolve: (value: T[]) => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
}

export class PopWaiters<R extends WaitingRequest, T> {
  private readonly waiters = new Set<Waiter<R, T>>();
  private readonly woken = new Set<string>();
  private wakeScheduled = false;

  constructor(
    private readonly clock: Clock,
    private readonly waitersMax: number,
    /** Tries a held request again; an empty answer keeps it held. */
    private readonly retry: (request: R) => T[],
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  get full(): boolean {
    return this.waiters.size >= this.waitersMax;
  }

  /** True when a receive of (group, topic) is held. */
  holds(group: string, topic: string): boolean {
    for (const waiter of this.waiters) if (waiter.request.group === group && waiter.request.topic === topic) return true;
    return false;
  }

  hold(request: R, waitMs: number): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      const waiter: Waiter<R, T> = { request, resolve, reject, timer: undefined, onAbort: undefined };
      waiter.timer = this.clock.setTimeout(() => this.finish(waiter, []), waitMs);
      if (request.signal !== undefined) {
        waiter.onAbort = () => this.finish(waiter, []);
        request.signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
    });
  }

  /** Wakes, in a microtask, the receives held on `topic` (any group) or on (group, topic). */
  wakeSoon(topic: string, group?: string): void {
    if (this.waiters.size === 0) return;
    this.woken.add(group === undefined ? topic : `${topic}\u0000${group}`);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const woken = new Set(this.woken);
      this.woken.clear();
      this.wake((request) => woken.has(request.topic) || woken.has(`${request.topic}\u0000${request.group}`));
    });
  }

  /** Answers every held receive (empty). */
  releaseAll(): void {
    for (const waiter of [...this.waiters]) this.finish(waiter, []);
  }

  /** Retries matching held receives in arrival order; the earliest waiter is served first. */
  private wake(matches: (request: R) => boolean): void {
    for (const waiter of [...this.waiters]) {
      if (!this.waiters.has(waiter) || !matches(waiter.request)) continue;
      let found: T[];
      try {
        found = this.retry(waiter.request);
      } catch (error) {
        this.finish(waiter, undefined, error);
        continue;
      }
      if (found.length > 0) this.finish(waiter, found);
    }
  }

  private finish(waiter: Waiter<R, T>, value: T[] | undefined, error?: unknown): void {
    if (!this.waiters.delete(waiter)) return;
    waiter.timer?.cancel();
    if (waiter.onAbort !== undefined) waiter.request.signal?.removeEventListener("abort", waiter.onAbort);
    if (value === undefined) waiter.reject(error);
    else waiter.resolve(value);
  }
}
