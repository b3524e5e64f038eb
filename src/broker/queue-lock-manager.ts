/**
 * Broker-side queue locks for orderly consumption: within a consumer group, one client at a
 * time works a queue, so per-queue order holds across re-balances. A lock lasts `expiryMs`
 * (60 s) from its last (re)lock; the holder renews it by locking again, as RocketMQ clients do
 * every 20 s. An expired lock is free for anyone; a client leaving its group frees its locks
 * at once so its queues move without waiting for the expiry.
 *
 * Expired locks are swept every `expiryMs` (start/stop), so locks of clients that vanished and
 * groups that are gone do not stay in memory: the table holds at most the live locks plus one
 * expiry's worth of dead ones.
 *
 * Time is the injected clock's monotonic ms: tests advance it instead of waiting a minute.
 */

import type { Clock, TimerHandle } from "../common/clock.ts";

export interface QueueRef {
  readonly topic: string;
  readonly queueId: number;
}

interface Lock {
  clientId: string;
  lockedAtMs: number;
}

export interface QueueLockManagerOptions {
  readonly clock: Clock;
  readonly expiryMs: number;
}

export class QueueLockManager {
  /** group → "topic\u0000queueId" → lock. */
  private readonly locks = new Map<string, Map<string, Lock>>();
  private sweep: TimerHandle | undefined;

  constructor(private readonly options: QueueLockManagerOptions) {}

  /** Sweeps expired locks every `expiryMs` until `stop()`. */
  start(): void {
    this.sweep ??= this.options.clock.setInterval(() => this.sweepExpired(), this.options.expiryMs);
  }

  stop(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
  }

  /** Locks held in every group, expired or not (the sweep removes expired ones). */
  get size(): number {
    let count = 0;
    for (const groupLocks of this.locks.values()) count += groupLocks.size;
    return count;
  }

  /** Removes every expired lock, and groups left with none; returns how many were removed. */
  sweepExpired(): number {
    const now = this.options.clock.monotonicMs();
    let removed = 0;
    for (const [group, groupLocks] of this.locks) {
      for (const [key, lock] of groupLocks) {
        if (!this.expired(lock, now)) continue;
        groupLocks.delete(key);
        removed += 1;
      }
      if (groupLocks.size === 0) this.locks.delete(group);
    }
    return removed;
  }

  /** Locks (or renews) each free or own queue; returns those the client now holds. */
  lock(group: string, clientId: string, queues: readonly QueueRef[]): QueueRef[] {
    const now = this.options.clock.monotonicMs();
    let groupLocks = this.locks.get(group);
    if (groupLocks === undefined) {
      groupLocks = new Map();
      this.locks.set(group, groupLocks);
    }
    const locked: QueueRef[] = [];
    for (const queue of queues) {
      const key = queueKey(queue);
      const current = groupLocks.get(key);
      if (current === undefined || current.clientId === clientId || this.expired(current, now)) {
        groupLocks.set(key, { clientId, lockedAtMs: now });
        locked.push({ topic: queue.topic, queueId: queue.queueId });
      }
    }
    return locked;
  }

  /** Releases the queues this client holds; others' locks are left alone. */
  unlock(group: string, clientId: string, queues: readonly QueueRef[]): void {
    const groupLocks = this.locks.get(group);
    if (groupLocks === undefined) return;
    for (const queue of queues) {
      const key = queueKey(queue);
      if (groupLocks.get(key)?.clientId === clientId) groupLocks.delete(key);
    }
    if (groupLocks.size === 0) this.locks.delete(group);
  }

  /** Frees every lock a client holds in a group (it left the group). */
  releaseClient(group: string, clientId: string): void {
    const groupLocks = this.locks.get(group);
    if (groupLocks === undefined) return;
    for (const [key, lock] of groupLocks) if (lock.clientId === clientId) groupLocks.delete(key);
    if (groupLocks.size === 0) this.locks.delete(group);
  }

  /** The client holding a live lock on the queue, if any. */
  holder(group: string, queue: QueueRef): string | undefined {
    const lock = this.locks.get(group)?.get(queueKey(queue));
    if (lock === undefined || this.expired(lock, this.options.clock.monotonicMs())) return undefined;
    return lock.clientId;
  }

  private expired(lock: Lock, now: number): boolean {
    return now - lock.lockedAtMs >= this.options.expiryMs;
  }
}

function queueKey(queue: QueueRef): string {
  return `${queue.topic}\u0000${queue.queueId}`;
}
