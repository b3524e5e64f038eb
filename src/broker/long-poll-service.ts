/**
 * Long polling: a pull that finds nothing new is held, not answered, until a message for its
 * queue is stored (the store's in-process "message.stored" event) or its timeout passes; then
 * it is answered like a fresh pull. This is what lets a PushConsumer see a message within a
 * millisecond of its send without polling the broker in a loop.
 *
 * - Wake-ups are coalesced: a batch of 64 stored messages re-runs each waiting pull once, in a
 *   microtask after the batch, not 64 times.
 * - A pull whose filter matches none of the new messages keeps waiting (its retry says so).
 * - At most `heldMax` pulls wait at once; past that a pull is answered at once (the client
 *   pulls again), so held pulls cannot grow memory without bound.
 * - Timeouts run on the injected clock; a closed connection's pulls are dropped.
 */

import type { EventBus } from "../common/bus.ts";
import type { Clock, TimerHandle } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { Channel } from "../net/channel.ts";
import type { StoreEvents } from "../store/store-options.ts";

export interface HoldRequest<R> {
  readonly topic: string;
  readonly queueId: number;
  readonly timeoutMs: number;
  readonly channel: Channel;
  /** Runs the pull again after a store; undefined keeps waiting. May throw an MqError. */
  readonly retry: () => R | undefined;
  /** The answer when time is up (or the broker stops). */
  readonly onTimeout: () => R;
}

interface Held<R> {
  readonly request: HoldRequest<R>;
  readonly key: string;
  readonly resolve: (reply: R) => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | undefined;
}

export interface LongPollServiceOptions {
  readonly bus: EventBus<StoreEvents>;
  readonly clock: Clock;
  readonly heldMax: number;
  readonly logger: Logger;
}

export class LongPollService<R> {
  private readonly held = new Map<string, Set<Held<R>>>();
  private readonly woken = new Set<string>();
  private wakeScheduled = false;
  private count = 0;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(private readonly options: LongPollServiceOptions) {
    this.unsubscribe = options.bus.on("message.stored", (event) => this.onStored(event.topic, event.queueId));
  }

  /** Pulls waiting right now. */
  get size(): number {
    return this.count;
  }

  /** Holds the pull; resolves with its answer. Answers at once when too many pulls wait. */
  hold(request: HoldRequest<R>): Promise<R> {
    if (this.stopped || this.count >= this.options.heldMax || request.timeoutMs <= 0) return Promise.resolve().then(request.onTimeout);
    return new Promise<R>((resolve, reject) => {
      const key = queueKey(request.topic, request.queueId);
      const entry: Held<R> = { request, key, resolve, reject, timer: undefined };
      entry.timer = this.options.clock.setTimeout(() => this.finish(entry, "timeout"), request.timeoutMs);
      let set = this.held.get(key);
      if (set === undefined) {
        set = new Set();
        this.held.set(key, set);
      }
      set.add(entry);
      this.count += 1;
    });
  }

  /** Forgets the pulls of a closed connection (nobody is left to answer). */
  channelClosed(channel: Channel): void {
    for (const set of this.held.values()) {
      for (const entry of set) if (entry.request.channel === channel) this.finish(entry, "timeout");
    }
  }

  /** Answers every held pull (as timed out) and stops listening. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const set of [...this.held.values()]) for (const entry of [...set]) this.finish(entry, "timeout");
  }

  private onStored(topic: string, queueId: number): void {
    if (this.count === 0) return; // runs per stored message: no key string while nothing waits
    const key = queueKey(topic, queueId);
    if (!this.held.has(key)) return;
    this.woken.add(key);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => this.wake());
  }

  private wake(): void {
    this.wakeScheduled = false;
    const keys = [...this.woken];
    this.woken.clear();
    for (const key of keys) {
      const set = this.held.get(key);
      if (set !== undefined) for (const entry of [...set]) this.finish(entry, "retry");
    }
  }

  /** Retries or times out one held pull; it leaves the table whenever it gets an answer. */
  private finish(entry: Held<R>, how: "retry" | "timeout"): void {
    let reply: R | undefined;
    try {
      reply = how === "retry" ? entry.request.retry() : entry.request.onTimeout();
    } catch (error) {
      this.remove(entry);
      entry.reject(error);
      return;
    }
    if (reply === undefined) return;
    this.remove(entry);
    entry.resolve(reply);
  }

  private remove(entry: Held<R>): void {
    const set = this.held.get(entry.key);
    if (set === undefined || !set.delete(entry)) return;
    entry.timer?.cancel();
    this.count -= 1;
    if (set.size === 0) this.held.delete(entry.key);
  }
}

function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}
