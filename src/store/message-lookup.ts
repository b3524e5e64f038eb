/**
 * Finding messages other than by queue offset: by CommitLog offset (offsetMsgId), by producer
 * msgId and by key through the index, and by store time through the consume queues. Index
 * entries are hints: every candidate record is read back, verified and matched before it is
 * returned, and records of a deleted topic incarnation (below its tombstone) never are.
 */

import { decodeOffsetMsgId } from "../common/ids.ts";
import * as limits from "../common/limits.ts";
import { checkedRecordSize, checkRecord, decodeRecord, readStoreTimestamp, type StoredMessage } from "../common/message-record.ts";
import { queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";
import type { ConsumeQueues } from "./consume-queues.ts";
import { propertyNames } from "../common/message-properties.ts";
import { dedupKeyIndexKey, keyIndexKey, msgIdIndexKey, sendBackIndexKey } from "./index-keys.ts";
import type { IndexService } from "./index-service.ts";
import type { TopicTombstones } from "./topic-tombstones.ts";

export interface LookupContext {
  commitLog: CommitLog;
  index: IndexService;
  queues: ConsumeQueues;
  tombstones: TopicTombstones;
}

/** What the dedup window asks the store to confirm (broker/dedup-service.ts). */
export interface DedupQuery {
  readonly topic: string;
  readonly id: { readonly kind: "msgId" | "dedupKey"; readonly value: string };
  /** The window's start: records stored before it are not duplicates any more. */
  readonly sinceMs: number;
}

export class MessageLookup {
  constructor(private readonly context: LookupContext) {}

  /** The message whose record starts at `physicalOffset`, verified, or undefined. */
  byPhysicalOffset(physicalOffset: PhysicalOffset): StoredMessage | undefined {
    const record = this.recordAt(physicalOffset);
    return record === undefined ? undefined : decodeRecord(record);
  }

  /**
   * The message at an offset the broker holds for a record it wrote itself (a pending half's): its
   * structure checked, not its CRC, and decoded in place — its body a view into the mapped file,
   * valid until the caller's step ends. Undefined when no record is there.
   */
  ownAt(physicalOffset: PhysicalOffset): StoredMessage | undefined {
    const commitLog = this.context.commitLog;
    const located = physicalOffset < commitLog.writePosition ? commitLog.locate(physicalOffset) : undefined;
    if (located === undefined) return undefined;
    const { file, position } = located;
    if (checkedRecordSize(file.bytes, file.view, position, commitLog.fileBytes, physicalOffset, false) < 0) return undefined;
    return decodeRecord(file.bytes, position, file.view);
  }

  /** A copy of the verified record bytes starting at `physicalOffset`, or undefined. */
  recordAt(physicalOffset: PhysicalOffset): Uint8Array | undefined {
    const commitLog = this.context.commitLog;
    if (physicalOffset >= commitLog.writePosition) return undefined; // past the log: nothing written there by this run
    const located = commitLog.locate(physicalOffset);
    if (located === undefined) return undefined;
    const { file, position } = located;
    // Always verified: the offset comes from outside (an id) and could point inside a body.
    const check = checkRecord(file.bytes, file.view, position, commitLog.fileBytes, physicalOffset);
    if (check.kind !== "record") return undefined;
    return file.bytes.slice(position, position + check.totalSize);
  }

  byOffsetMsgId(offsetMsgId: string): StoredMessage | undefined {
    return this.byPhysicalOffset(decodeOffsetMsgId(offsetMsgId).physicalOffset);
  }

  private live(message: StoredMessage | undefined): StoredMessage | undefined {
    return message === undefined || this.context.tombstones.hidesAt(message.topic, message.physicalOffset) ? undefined : message;
  }

  byMsgId(msgId: string): StoredMessage | undefined {
    for (const offset of this.context.index.lookup(msgIdIndexKey(msgId), 16)) {
      const message = this.live(this.byPhysicalOffset(offset));
      if (message?.msgId !== undefined && message.msgId.toUpperCase() === msgId.toUpperCase()) return message;
    }
    return undefined;
  }

  /** The newest stored copy carrying SEND_BACK_KEY `sendBackKey` (a retry copy, scheduled or delivered, or a DLQ entry), or undefined. */
  bySendBackKey(sendBackKey: string): StoredMessage | undefined {
    for (const offset of this.context.index.lookup(sendBackIndexKey(sendBackKey), limits.sendBackCopiesLookupMax)) {
      const message = this.live(this.byPhysicalOffset(offset));
      if (message?.properties[propertyNames.sendBackKey] === sendBackKey) return message;
    }
    return undefined;
  }

  /** Every stored copy of the message with `msgId` (a scheduled message and its delivered copy share it), at most `max`. */
  allByMsgId(msgId: string, max: number): StoredMessage[] {
    const found: StoredMessage[] = [];
    for (const offset of this.context.index.lookup(msgIdIndexKey(msgId), 4 * max)) {
      const message = this.live(this.byPhysicalOffset(offset));
      if (message?.msgId !== undefined && message.msgId.toUpperCase() === msgId.toUpperCase()) found.push(message);
      if (found.length >= max) break;
    }
    return found;
  }

  /**
   * The newest live message of `topic` stored at or after `sinceMs` that the dedup window knows
   * by `id`: its dedup key, or its msgId when it was sent without one.
   */
  byDedupId(query: DedupQuery): StoredMessage | undefined {
    const { topic, id, sinceMs } = query;
    const indexKey = id.kind === "dedupKey" ? dedupKeyIndexKey(topic, id.value) : msgIdIndexKey(id.value);
    for (const offset of this.context.index.lookup(indexKey, limits.dedupConfirmCandidatesMax, sinceMs)) {
      const message = this.live(this.byPhysicalOffset(offset));
      if (message === undefined || message.topic !== topic || message.storeTimestampMs < sinceMs) continue;
      const dedupKey = message.properties[propertyNames.dedupKey];
      const matches = id.kind === "dedupKey" ? dedupKey === id.value : dedupKey === undefined && message.msgId?.toUpperCase() === id.value.toUpperCase();
      if (matches) return message;
    }
    return undefined;
  }

  /** Messages of `topic` carrying `key`, newest first, optionally within a store-time range. */
  byKey(topic: string, key: string, maxCount: number, beginMs: number, endMs: number): StoredMessage[] {
    const found: StoredMessage[] = [];
    const limit = Math.min(maxCount, limits.indexQueryResultsMax);
    for (const offset of this.context.index.lookup(keyIndexKey(topic, key), limit * 4, beginMs, endMs)) {
      const message = this.live(this.byPhysicalOffset(offset));
      if (message === undefined || message.topic !== topic || !message.keys.includes(key)) continue;
      if (message.storeTimestampMs < beginMs || message.storeTimestampMs > endMs) continue;
      found.push(message);
      if (found.length >= limit) break;
    }
    return found;
  }

  /** Messages of `topic` stored within [beginMs, endMs], oldest first per queue. */
  byTime(topic: string, beginMs: number, endMs: number, maxCount: number): StoredMessage[] {
    const found: StoredMessage[] = [];
    for (const queue of this.context.queues.queuesOf(topic)) {
      if (queue === undefined) continue;
      queue.scan(this.offsetForTimestamp(queue, beginMs), (_offset, physicalOffset) => {
        const message = this.byPhysicalOffset(physicalOffset);
        if (message === undefined) return true;
        if (message.storeTimestampMs > endMs || found.length >= maxCount) return false;
        found.push(message);
        return true;
      });
    }
    return found.sort((a, b) => a.storeTimestampMs - b.storeTimestampMs).slice(0, maxCount);
  }

  /** The first queue offset whose message was stored at or after `timestampMs` (max if none). */
  offsetForTimestamp(queue: ConsumeQueue | undefined, timestampMs: number): QueueOffset {
    if (queue === undefined) return toQueueOffset(0);
    let low: number = queue.minOffset;
    let high: number = queue.maxOffset;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const storedAt = this.storeTimestampAt(queue, toQueueOffset(middle));
      if (storedAt === undefined || storedAt < timestampMs) low = middle + 1;
      else high = middle;
    }
    return toQueueOffset(low);
  }

  private storeTimestampAt(queue: ConsumeQueue, queueOffset: QueueOffset): number | undefined {
    const entry = queue.get(queueOffset);
    if (entry === undefined) return undefined;
    const located = this.context.commitLog.locate(entry.physicalOffset);
    if (located === undefined) return undefined;
    return readStoreTimestamp(located.file.view, located.position);
  }
}
