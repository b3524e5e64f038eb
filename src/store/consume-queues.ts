/**
 * Every consume queue of the store, by topic and queue id, and the consume-queue dispatcher: a
 * visible record becomes the entry at its queue offset (creating the queue on first use).
 *
 *   dataDir/consumequeue/<topic>/<queueId>/<20-digit first queue offset>
 *
 * At load, a queue whose files are damaged (one missing in the middle, one cut short) is removed
 * and reported, so recovery rebuilds it from the CommitLog; so is a queue left over from a topic
 * deleted before a crash (its entries point below the topic's tombstone).
 */

import { join } from "node:path";
import * as limits from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";
import { queueOffset as toQueueOffset } from "../common/offsets.ts";
import { ConsumeQueue } from "./consume-queue.ts";
import type { DispatchRecord } from "./dispatch/dispatch-record.ts";
import type { Dispatcher } from "./dispatch/record-dispatch.ts";
import type { FaultPoints } from "./fault-points.ts";
import type { FileStorage } from "./mapped-file.ts";
import type { TopicTombstones } from "./topic-tombstones.ts";

export interface ConsumeQueuesOptions {
  dataDir: string;
  entriesPerFile: number;
  storage: FileStorage;
  faults: FaultPoints;
  logger: Logger;
  tombstones: TopicTombstones;
}

export interface QueueInfo {
  queueId: number;
  minOffset: QueueOffset;
  maxOffset: QueueOffset;
}

export interface TopicInfo {
  topic: string;
  queues: QueueInfo[];
}

export class ConsumeQueues implements Dispatcher {
  readonly accepts = "visible";
  private readonly root: string;
  private readonly byTopic = new Map<string, ConsumeQueue[]>();

  constructor(private readonly options: ConsumeQueuesOptions) {
    this.root = join(options.dataDir, "consumequeue");
  }

  /** Maps every queue on disk. Returns why derived data must be rebuilt, if it must. */
  load(): string | undefined {
    const { storage, logger, tombstones } = this.options;
    let rebuild: string | undefined;
    for (const topic of storage.listDirs(this.root)) {
      if (!limits.topicNamePattern.test(topic)) continue;
      for (const queueName of storage.listDirs(join(this.root, topic))) {
        const queueId = Number(queueName);
        if (!Number.isInteger(queueId) || queueId < 0 || queueId >= limits.queuesPerTopicMax) continue;
        const queue = this.create(topic, queueId);
        const damage = queue.load();
        // A queue never mixes incarnations (deletion removes it first): its first entry decides.
        let stale = false;
        queue.scan(queue.minOffset, (_offset, physicalOffset) => {
          stale = tombstones.hidesAt(topic, physicalOffset);
          return false;
        });
        if (damage === undefined && !stale) continue;
        queue.removeAll();
        this.forget(topic, queueId);
        if (damage !== undefined) {
          logger.warn(`Consume queue ${queueId} of "${topic}" is damaged (${damage}): removed, it is rebuilt from the CommitLog`);
          rebuild ??= `consume queue ${queueId} of "${topic}" was damaged`;
        }
      }
    }
    return rebuild;
  }

  private create(topic: string, queueId: number): ConsumeQueue {
    let list = this.byTopic.get(topic);
    if (list === undefined) {
      list = [];
      this.byTopic.set(topic, list);
    }
    const { dataDir, entriesPerFile, storage, faults } = this.options;
    const queue = new ConsumeQueue({ dir: join(dataDir, "consumequeue", topic, String(queueId)), topic, queueId, entriesPerFile, storage, faults });
    list[queueId] = queue;
    return queue;
  }

  private forget(topic: string, queueId: number): void {
    const list = this.byTopic.get(topic);
    if (list === undefined) return;
    delete list[queueId];
    if (!list.some((queue) => queue !== undefined)) this.byTopic.delete(topic);
  }

  get(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.byTopic.get(topic)?.[queueId];
  }

  /** The queue offset the next visible record of (topic, queueId) takes. */
  /** Whether the queue exists and has an entry (maybe blank) at `queueOffset`. */
  holds(topic: string, queueId: number, queueOffset: number): boolean {
    const queue = this.get(topic, queueId);
    return queue !== undefined && queueOffset >= queue.minOffset && queueOffset < queue.maxOffset;
  }

  nextOffset(topic: string, queueId: number): QueueOffset {
    return toQueueOffset(this.byTopic.get(topic)?.[queueId]?.maxOffset ?? 0);
  }

  queuesOf(topic: string): readonly (ConsumeQueue | undefined)[] {
    return this.byTopic.get(topic) ?? [];
  }

  all(): ConsumeQueue[] {
    const all: ConsumeQueue[] = [];
    for (const list of this.byTopic.values()) for (const queue of list) if (queue !== undefined) all.push(queue);
    return all;
  }

  get isEmpty(): boolean {
    return this.byTopic.size === 0;
  }

  dispatch(record: DispatchRecord): void {
    const queue = this.get(record.topic, record.queueId) ?? this.create(record.topic, record.queueId);
    queue.put(record.queueOffset, { physicalOffset: record.physicalOffset, size: record.size, tagHash: record.tagHash });
  }

  rollback(physicalOffset: PhysicalOffset): void {
    for (const queue of this.all()) queue.rollbackFrom(physicalOffset);
  }

  topics(): TopicInfo[] {
    const topics: TopicInfo[] = [];
    for (const [topic, list] of this.byTopic) {
      const queues: QueueInfo[] = [];
      for (const queue of list) if (queue !== undefined) queues.push({ queueId: queue.queueId, minOffset: queue.minOffset, maxOffset: queue.maxOffset });
      topics.push({ topic, queues });
    }
    return topics.sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** Removes every queue of `topic`, files included. */
  removeTopic(topic: string): void {
    for (const queue of this.byTopic.get(topic) ?? []) queue?.removeAll();
    this.byTopic.delete(topic);
    this.options.storage.removeDir(join(this.root, topic));
  }

  deleteBefore(commitLogMin: PhysicalOffset): void {
    for (const queue of this.all()) queue.deleteBefore(commitLogMin);
  }

  close(): void {
    for (const queue of this.all()) queue.close();
  }
}
