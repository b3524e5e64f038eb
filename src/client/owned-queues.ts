/**
 * The queues this consumer should own (set by rebalancing) and those it works now.
 *
 * A queue becomes active in three steps: lock it on the broker (clustering: LOCK_BATCH_MQ, so
 * no other member of the group works it at the same time), read the group's committed offset
 * (or apply consumeFromWhere when there is none), start its pull loop. A queue stops in the
 * reverse order: stop handing out its messages, wait for the handlers already running, commit
 * the offset of its oldest unfinished message, unlock. Because a member unlocks only after that
 * commit and the next owner reads the offset only after its lock, a queue changes hands without
 * any message being handled by two members at once.
 *
 * Locks (clustering only) expire on the broker after 60 s: they are renewed every 20 s, and a
 * queue whose lock the broker no longer grants, or that could not be renewed for
 * `lockLocalExpiryMs`, is released (and locked again later if still ours). Every change to the
 * tables runs through one serial lane, so a rebalance and a lock renewal never interleave; the
 * slow part of a release (waiting for handlers) runs outside it.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { QueueOffset } from "../common/offsets.ts";
import { lockBatchQueuesMax } from "../protocol/limits.ts";
import type { BrokerClient } from "./broker-client.ts";
import { type MessageQueue, queueKey } from "./message-queue.ts";
import type { OffsetStore } from "./offset-store.ts";
import { ProcessQueue } from "./process-queue.ts";
import type { RouteResolver } from "./route-resolver.ts";

/** A lock not renewed for this long is treated as lost (the broker's expiry is 60 s). */
export const lockLocalExpiryMs = 30_000;

export interface OwnedQueuesOptions {
  readonly broker: BrokerClient;
  readonly routes: RouteResolver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly group: string;
  readonly clientId: string;
  readonly offsets: OffsetStore;
  /** Clustering: lock each queue on the broker before working it. */
  readonly lockQueues: boolean;
  /** Messages a queue may hold unfinished before its pull waits. */
  readonly capacity: number;
  /** Where to start when the group has no committed offset (consumeFromWhere). */
  startOffset(queue: MessageQueue): Promise<QueueOffset>;
  /** Starts the pull loop of a queue that just became active. */
  startPulling(queue: ProcessQueue): void;
}

export class OwnedQueues {
  private desired = new Map<string, MessageQueue>();
  private readonly active = new Map<string, ProcessQueue>();
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly lockedAtMs = new Map<string, number>();
  private lane: Promise<void> = Promise.resolve();

  constructor(private readonly options: OwnedQueuesOptions) {}

  get activeQueues(): ProcessQueue[] {
    return [...this.active.values()];
  }

  /** Desired queues not yet active (waiting for a lock, or for their previous release). */
  get pendingCount(): number {
    let count = 0;
    for (const key of this.desired.keys()) if (!this.active.has(key)) count++;
    return count;
  }

  /** Sets the queues this member should own; releases the others and activates what it can. */
  assign(queues: readonly MessageQueue[]): Promise<void> {
    return this.serial(async () => {
      this.desired = new Map(queues.map((queue) => [queueKey(queue), queue]));
      for (const [key, queue] of this.active) if (!this.desired.has(key)) this.startRelease(queue, "no longer assigned");
      await this.activatePending();
    });
  }

  /** Retries the desired queues that are not active yet (locks refused earlier, errors). */
  retryPending(): Promise<void> {
    return this.serial(() => this.activatePending());
  }

  /** Renews the locks of active queues; releases those the broker no longer grants us. */
  renewLocks(): Promise<void> {
    if (!this.options.lockQueues) return Promise.resolve();
    return this.serial(async () => {
      const queues = [...this.active.values()].map((queue) => queue.queue);
      const { granted, unanswered } = await this.lock(queues);
      const now = this.options.clock.monotonicMs();
      for (const pq of [...this.active.values()]) {
        if (granted.has(pq.key)) this.lockedAtMs.set(pq.key, now);
        else if (!unanswered.has(pq.key)) this.startRelease(pq, "the broker no longer grants its lock");
        else if (now - (this.lockedAtMs.get(pq.key) ?? 0) > lockLocalExpiryMs) this.startRelease(pq, "its lock could not be renewed");
      }
    });
  }

  /** Commits the offset of every active queue whose offset moved since its last commit. */
  async commitAll(): Promise<void> {
    const moved = [...this.active.values()].filter((pq) => pq.commitOffset() !== pq.committedOffset);
    await this.commit(moved);
  }

  /**
   * The group's offsets of `topic` were reset (Admin.resetOffset): the queues concerned drop what
   * they hold (running handlers finish first), store the new offset, and start again from it.
   */
  resetOffsets(topic: string, offsets: ReadonlyMap<number, QueueOffset>): Promise<void> {
    return this.serial(async () => {
      const affected = [...this.active.values()].filter((pq) => pq.queue.topic === topic && offsets.has(pq.queue.queueId));
      for (const pq of affected) this.startRelease(pq, "its offset was reset", offsets.get(pq.queue.queueId));
      await Promise.allSettled(affected.map((pq) => this.releasing.get(pq.key)));
      await this.activatePending();
    });
  }

  /** Releases everything (shutdown): waits for handlers, commits, unlocks. */
  releaseAll(): Promise<void> {
    return this.serial(async () => {
      this.desired.clear();
      for (const pq of [...this.active.values()]) this.startRelease(pq, "the consumer stops");
      await Promise.allSettled([...this.releasing.values()]);
    });
  }

  private async activatePending(): Promise<void> {
    const waiting = [...this.desired.entries()].filter(([key]) => !this.active.has(key) && !this.releasing.has(key)).map(([, queue]) => queue);
    if (waiting.length === 0) return;
    let granted = waiting;
    if (this.options.lockQueues) {
      const locked = (await this.lock(waiting)).granted;
      granted = waiting.filter((queue) => locked.has(queueKey(queue)));
      if (granted.length < waiting.length) this.options.logger.debug(`Waiting for the locks of ${waiting.length - granted.length} queues held by other members`);
    }
    await Promise.all(granted.map((queue) => this.activate(queue)));
  }

  private async activate(queue: MessageQueue): Promise<void> {
    const key = queueKey(queue);
    let offset: QueueOffset;
    try {
      const committed = await this.options.offsets.read(queue);
      offset = committed === -1 ? await this.options.startOffset(queue) : committed;
    } catch (error) {
      this.options.logger.warn(`Cannot start consuming ${key}, will retry: ${(error as Error).message}`);
      if (this.options.lockQueues) await this.unlock([queue]);
      return;
    }
    const pq = new ProcessQueue(queue, offset, this.options.capacity);
    this.active.set(key, pq);
    this.lockedAtMs.set(key, this.options.clock.monotonicMs());
    this.options.logger.debug(`Consuming ${key} from offset ${offset}`);
    this.options.startPulling(pq);
  }

  /**
   * Synchronous part of a release: nothing new starts; the rest (wait, commit, unlock) runs on its
   * own. With `resetTo`, that offset is stored instead of the queue's own and the lock is kept.
   */
  private startRelease(pq: ProcessQueue, why: string, resetTo?: QueueOffset): void {
    this.active.delete(pq.key);
    this.lockedAtMs.delete(pq.key);
    pq.release();
    this.options.logger.debug(`Releasing ${pq.key}: ${why}`);
    const done = (async () => {
      await pq.whenIdle();
      if (resetTo !== undefined) {
        await this.options.offsets.commit([{ queue: pq.queue, offset: resetTo }]).catch((error: Error) => this.options.logger.warn(`Cannot store the reset offset of ${pq.key}: ${error.message}`));
        return;
      }
      await this.commit([pq]).catch((error: Error) => this.options.logger.warn(`Cannot commit the offset of ${pq.key} on release: ${error.message}`));
      if (this.options.lockQueues) await this.unlock([pq.queue]);
    })().finally(() => this.releasing.delete(pq.key));
    this.releasing.set(pq.key, done);
  }

  private async commit(queues: readonly ProcessQueue[]): Promise<void> {
    if (queues.length === 0) return;
    const commits = queues.map((pq) => ({ pq, offset: pq.commitOffset() }));
    await this.options.offsets.commit(commits.map(({ pq, offset }) => ({ queue: pq.queue, offset })));
    for (const { pq, offset } of commits) pq.committedOffset = offset;
  }

  /** Locks queues, in batches per broker: the keys granted, and those whose request failed. */
  private async lock(queues: readonly MessageQueue[]): Promise<{ granted: Set<string>; unanswered: Set<string> }> {
    const granted = new Set<string>();
    const unanswered = new Set<string>();
    await this.perBatch(queues, async (address, topicQueues) => {
      try {
        const locked = await this.options.broker.lockBatch(address, { consumerGroup: this.options.group, clientId: this.options.clientId, queues: topicQueues.map(({ topic, queueId }) => ({ topic, queueId })) });
        for (const { topic, queueId } of locked) {
          const queue = topicQueues.find((candidate) => candidate.topic === topic && candidate.queueId === queueId);
          if (queue !== undefined) granted.add(queueKey(queue));
        }
      } catch (error) {
        for (const queue of topicQueues) unanswered.add(queueKey(queue));
        this.options.logger.warn(`Cannot lock queues on ${address}: ${(error as Error).message}`);
      }
    });
    return { granted, unanswered };
  }

  private async unlock(queues: readonly MessageQueue[]): Promise<void> {
    await this.perBatch(queues, async (address, topicQueues) => {
      try {
        await this.options.broker.unlockBatch(address, { consumerGroup: this.options.group, clientId: this.options.clientId, queues: topicQueues.map(({ topic, queueId }) => ({ topic, queueId })) });
      } catch (error) {
        // The broker's lock expires by itself; the next owner waits for that at worst.
        this.options.logger.warn(`Cannot unlock queues on ${address}: ${(error as Error).message}`);
      }
    });
  }

  private async perBatch(queues: readonly MessageQueue[], run: (address: string, queues: MessageQueue[]) => Promise<void>): Promise<void> {
    const byAddress = new Map<string, MessageQueue[]>();
    for (const queue of queues) {
      const address = this.options.routes.brokerAddress(queue.brokerName);
      byAddress.set(address, [...(byAddress.get(address) ?? []), queue]);
    }
    const batches: Promise<void>[] = [];
    for (const [address, list] of byAddress) {
      for (let start = 0; start < list.length; start += lockBatchQueuesMax) batches.push(run(address, list.slice(start, start + lockBatchQueuesMax)));
    }
    await Promise.all(batches);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
