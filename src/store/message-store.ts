/**
 * The MessageStore facade: the one object the broker talks to. It owns the data directory —
 * lock, abort marker, checkpoint, CommitLog, consume queues, index — and keeps them consistent:
 * an append writes the record and dispatches its consume-queue and index entries in the same
 * synchronous step, so nothing can observe one without the other.
 *
 *   dataDir/commitlog/<20-digit offset>          the log
 *   dataDir/consumequeue/<topic>/<queueId>/<20-digit first queue offset>
 *   dataDir/index/<20-digit sequence>
 *   dataDir/config/                              written atomically by the layers above
 *   dataDir/checkpoint, abort, lock
 */

import { join } from "node:path";
import { assert } from "../common/assert.ts";
import { MqError } from "../common/errors.ts";
import { decodeOffsetMsgId } from "../common/ids.ts";
import * as limits from "../common/limits.ts";
import { encodePropertiesText, findInvalidProperty, propertyNames, tagHash } from "../common/message-properties.ts";
import { checkRecord, decodeRecord, ipv4ToNumber, readStoreTimestamp, type StoredMessage } from "../common/message-record.ts";
import { Checkpoint } from "./checkpoint.ts";
import { CommitLog } from "./commit-log.ts";
import { ConsumeQueue } from "./consume-queue.ts";
import { AbortMarker, DataDirLock } from "./data-dir.ts";
import { IndexService, keyIndexKey, msgIdIndexKey } from "./index-service.ts";
import type { PutMessageInput, PutResult } from "./put-message.ts";
import { Retention } from "./retention.ts";
import { recoverStore, type RecoveryReport } from "./store-recovery.ts";
import { resolveStoreOptions, type MessageStoreOptions, type ResolvedStoreOptions } from "./store-options.ts";
import { QueueRepair } from "./queue-repair.ts";
import { readMessages, type GetMessagesRequest, type GetMessagesResult, type ReadContext } from "./message-reader.ts";
import type { TimerHandle } from "../common/clock.ts";

const textEncoder = new TextEncoder();
const emptyBytes = new Uint8Array(0);

export interface QueueInfo {
  queueId: number;
  minOffset: number;
  maxOffset: number;
}

export interface TopicInfo {
  topic: string;
  queues: QueueInfo[];
}

export interface StoreStats {
  commitLogMinOffset: number;
  commitLogMaxOffset: number;
  commitLogFlushedOffset: number;
  commitLogFiles: number;
  indexFiles: number;
  diskUsedRatio: number;
  diskFull: boolean;
  messagesPut: number;
  bytesPut: number;
}

export class MessageStore {
  readonly options: ResolvedStoreOptions;
  readonly commitLog: CommitLog;
  readonly index: IndexService;
  readonly retention: Retention;
  readonly recovery: RecoveryReport;
  /** Rewrites consume-queue entries that readers found damaged, from the CommitLog. */
  readonly queueRepair: QueueRepair;
  private readonly queues = new Map<string, ConsumeQueue[]>();
  private readonly topicBytes = new Map<string, Uint8Array>();
  private readonly checkpoint: Checkpoint;
  private readonly lock: DataDirLock;
  private readonly abort: AbortMarker;
  private readonly storeHost: { ip: number; port: number };
  private readonly timers: TimerHandle[] = [];
  private checkpointRun: Promise<void> | undefined;
  private readonly readContext: ReadContext;
  private state: "open" | "closing" | "closed" = "open";
  private messagesPut = 0;
  private bytesPut = 0;

  private constructor(options: ResolvedStoreOptions) {
    this.options = options;
    this.lock = DataDirLock.acquire(options.dataDir);
    this.commitLog = new CommitLog({ dir: join(options.dataDir, "commitlog"), fileBytes: options.commitLogFileBytes, storage: options.storage, faults: options.faults, logger: options.logger, warmAheadBytes: options.warmAheadBytes });
    try {
      this.abort = new AbortMarker(options.dataDir);
      const storage = options.storage;
      storage.makeDir(options.dataDir);
      this.index = new IndexService({ dir: join(options.dataDir, "index"), slotsPerFile: options.indexSlotsPerFile, entriesPerFile: options.indexEntriesPerFile, storage });
      this.checkpoint = new Checkpoint(join(options.dataDir, "checkpoint"), storage);
      this.retention = new Retention(options, { commitLog: this.commitLog, afterCommitLogDeleted: (min) => this.deleteDerivedBefore(min) });
      this.storeHost = { ip: ipv4ToNumber(options.storeHost.ip), port: options.storeHost.port };
      this.commitLog.load();
      this.index.load();
      this.loadConsumeQueues();
      this.recovery = recoverStore({
        commitLog: this.commitLog,
        checkpoint: this.checkpoint.state,
        abnormal: this.abort.exists(),
        queues: () => this.allQueues(),
        dispatch: (message) => this.dispatch(message.topic, message.queueId, message.queueOffset, message.physicalOffset, message.storeSize, consumeQueueTagHash(message.tags, message.properties), message.keys, message.msgId, message.storeTimestampMs),
        logger: options.logger,
        clock: options.clock,
      });
      // Retention may have deleted CommitLog files without its derived data catching up (a crash in
      // between, or queues whose minimum is only known in memory): correct them now.
      this.deleteDerivedBefore(this.commitLog.minOffset);
      this.queueRepair = new QueueRepair({
        commitLog: this.commitLog,
        logger: options.logger,
        currentQueue: (topic, queueId) => this.consumeQueue(topic, queueId),
        entryOf: (message) => ({ physicalOffset: message.physicalOffset, size: message.storeSize, tagHash: consumeQueueTagHash(message.tags, message.properties) }),
      });
      this.readContext = { commitLog: this.commitLog, logger: options.logger, verifyCrcBelow: this.recovery.verifiedFrom, onDamagedEntry: (queue, queueOffset) => this.queueRepair.schedule(queue, queueOffset) };
      this.abort.create();
    } catch (error) {
      this.commitLog.abandon();
      this.closeFiles();
      this.lock.release();
      throw error;
    }
  }

  /** Opens (creating or recovering) the store in `options.dataDir`. */
  static async open(options: MessageStoreOptions): Promise<MessageStore> {
    const store = new MessageStore(resolveStoreOptions(options));
    store.start();
    return store;
  }

  private start(): void {
    const { clock, flushIntervalMs, retentionCheckIntervalMs } = this.options;
    this.retention.run();
    this.commitLog.prepareNext();
    this.timers.push(clock.setInterval(() => void this.checkpointNow().catch((error) => this.options.logger.error(`Flush failed: ${error.message}`)), flushIntervalMs));
    this.timers.push(clock.setInterval(() => this.retention.run(), retentionCheckIntervalMs));
  }

  private loadConsumeQueues(): void {
    const root = join(this.options.dataDir, "consumequeue");
    for (const topic of this.options.storage.listDirs(root)) {
      if (!limits.topicNamePattern.test(topic)) continue;
      for (const queueName of this.options.storage.listDirs(join(root, topic))) {
        const queueId = Number(queueName);
        if (!Number.isInteger(queueId) || queueId < 0 || queueId >= limits.queuesPerTopicMax) continue;
        const queue = this.createQueue(topic, queueId);
        queue.load();
      }
    }
  }

  private createQueue(topic: string, queueId: number): ConsumeQueue {
    let list = this.queues.get(topic);
    if (list === undefined) {
      list = [];
      this.queues.set(topic, list);
    }
    const queue = new ConsumeQueue({
      dir: join(this.options.dataDir, "consumequeue", topic, String(queueId)),
      topic,
      queueId,
      entriesPerFile: this.options.consumeQueueEntriesPerFile,
      storage: this.options.storage,
    });
    list[queueId] = queue;
    return queue;
  }

  private allQueues(): ConsumeQueue[] {
    const all: ConsumeQueue[] = [];
    for (const list of this.queues.values()) for (const queue of list) if (queue !== undefined) all.push(queue);
    return all;
  }

  consumeQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic)?.[queueId];
  }

  private dispatch(topic: string, queueId: number, queueOffset: number, physicalOffset: number, size: number, hash: number, keys: readonly string[] | undefined, msgId: string | undefined, storeTimestampMs: number): void {
    const queue = this.consumeQueue(topic, queueId) ?? this.createQueue(topic, queueId);
    queue.put(queueOffset, { physicalOffset, size, tagHash: hash });
    if (keys !== undefined) for (const key of keys) this.index.put(keyIndexKey(topic, key), physicalOffset, storeTimestampMs);
    if (msgId !== undefined) this.index.put(msgIdIndexKey(msgId), physicalOffset, storeTimestampMs);
  }

  /** Appends one message and dispatches it; durability follows the flush mode (see `put`). */
  append(input: PutMessageInput): PutResult {
    if (this.state !== "open") return { status: "store_closed" };
    if (this.retention.diskFull) return { status: "disk_full", usedRatio: this.retention.usedRatio, limitRatio: this.options.diskFullRatio };
    let topicBytes = this.topicBytes.get(input.topic);
    if (topicBytes === undefined) {
      if (!limits.topicNamePattern.test(input.topic)) return { status: "topic_invalid", topic: input.topic, reason: `expected ${limits.topicNamePattern}` };
      topicBytes = textEncoder.encode(input.topic);
      this.topicBytes.set(input.topic, topicBytes);
    }
    if (!Number.isInteger(input.queueId) || input.queueId < 0 || input.queueId >= limits.queuesPerTopicMax) {
      return { status: "topic_invalid", topic: input.topic, reason: `queue id ${input.queueId} is outside 0..${limits.queuesPerTopicMax - 1}` };
    }
    if (input.body.length > limits.messageBodyBytesMax) return { status: "message_too_large", bytes: input.body.length, limit: limits.messageBodyBytesMax };
    const propertiesBytes = input.propertiesBytes ?? this.encodeProperties(input);
    if (typeof propertiesBytes === "string") return { status: "property_invalid", name: propertiesBytes };
    if (propertiesBytes.length > limits.messagePropertiesBytesMax) return { status: "properties_too_large", bytes: propertiesBytes.length, limit: limits.messagePropertiesBytesMax };
    const queue = this.consumeQueue(input.topic, input.queueId) ?? this.createQueue(input.topic, input.queueId);
    const queueOffset = queue.maxOffset;
    const storeTimestampMs = this.options.clock.nowMs();
    const appended = this.commitLog.append(
      {
        topicBytes,
        queueId: input.queueId,
        flag: input.flag ?? 0,
        sysFlag: input.sysFlag ?? 0,
        bornTimestampMs: input.bornTimestampMs ?? storeTimestampMs,
        bornHost: input.bornHost ?? this.storeHost,
        reconsumeTimes: input.reconsumeTimes ?? 0,
        preparedTransactionOffset: input.preparedTransactionOffset ?? 0,
        body: input.body,
        propertiesBytes,
      },
      { queueOffset, storeTimestampMs, storeHost: this.storeHost },
    );
    switch (appended.status) {
      case "ok":
        break;
      case "message_too_large":
        return { status: "message_too_large", bytes: appended.size, limit: appended.limit };
      case "io_error":
        return { status: "io_error", error: appended.error };
    }
    const hash = consumeQueueTagHash(input.tags, input.properties);
    this.dispatch(input.topic, input.queueId, queueOffset, appended.physicalOffset, appended.size, hash, input.keys, input.msgId, storeTimestampMs);
    this.messagesPut += 1;
    this.bytesPut += appended.size;
    this.options.bus?.emit("message.stored", { topic: input.topic, queueId: input.queueId, queueOffset, physicalOffset: appended.physicalOffset, storeTimestampMs });
    return { status: "ok", physicalOffset: appended.physicalOffset, queueOffset, size: appended.size, storeTimestampMs };
  }

  private encodeProperties(input: PutMessageInput): Uint8Array | string {
    const user = input.properties;
    if (user === undefined && input.tags === undefined && input.keys === undefined && input.msgId === undefined) return emptyBytes;
    const properties: Record<string, string> = { ...user };
    if (input.tags !== undefined) properties[propertyNames.tags] = input.tags;
    if (input.keys !== undefined && input.keys.length > 0) properties[propertyNames.keys] = input.keys.join(" ");
    if (input.msgId !== undefined) properties[propertyNames.msgId] = input.msgId;
    const invalid = findInvalidProperty(properties);
    if (invalid !== undefined) return invalid;
    return textEncoder.encode(encodePropertiesText(properties));
  }

  /** Appends one message and resolves once it is stored under the flush policy. */
  async put(input: PutMessageInput): Promise<PutResult> {
    const result = this.append(input);
    if (result.status === "ok" && this.options.flush === "sync") {
      try {
        await this.commitLog.waitDurable(result.physicalOffset + result.size);
      } catch (error) {
        return { status: "io_error", error: error instanceof MqError ? error : new MqError("INTERNAL", { reason: String(error) }) };
      }
    }
    return result;
  }

  /** Appends a batch of one topic as consecutive records; resolves when all are stored. */
  async putBatch(inputs: readonly PutMessageInput[]): Promise<PutResult[]> {
    if (inputs.length === 0) throw new MqError("BATCH_EMPTY");
    const topic = inputs[0]!.topic;
    const other = inputs.find((input) => input.topic !== topic);
    if (other !== undefined) throw new MqError("BATCH_MIXED_TOPICS", { first: topic, other: other.topic });
    const results = inputs.map((input) => this.append(input));
    let end = 0;
    for (const result of results) if (result.status === "ok") end = result.physicalOffset + result.size;
    if (end > 0 && this.options.flush === "sync") {
      try {
        await this.commitLog.waitDurable(end);
      } catch (error) {
        const failure = { status: "io_error" as const, error: error instanceof MqError ? error : new MqError("INTERNAL", { reason: String(error) }) };
        return results.map((result) => (result.status === "ok" ? failure : result));
      }
    }
    return results;
  }

  getMessages(request: GetMessagesRequest): GetMessagesResult {
    return readMessages(this.readContext, this.consumeQueue(request.topic, request.queueId), request);
  }

  /** The message whose record starts at `physicalOffset`, verified, or undefined. */
  getByPhysicalOffset(physicalOffset: number): StoredMessage | undefined {
    const located = this.commitLog.locate(physicalOffset);
    if (located === undefined) return undefined;
    const { file, position } = located;
    // Always verified: the offset comes from outside (an id) and could point inside a body.
    const check = checkRecord(file.bytes, file.view, position, this.commitLog.fileBytes, physicalOffset);
    if (check.kind !== "record") return undefined;
    return decodeRecord(file.bytes.slice(position, position + check.totalSize));
  }

  getByOffsetMsgId(offsetMsgId: string): StoredMessage | undefined {
    return this.getByPhysicalOffset(decodeOffsetMsgId(offsetMsgId).physicalOffset);
  }

  queryByMsgId(msgId: string): StoredMessage | undefined {
    for (const offset of this.index.lookup(msgIdIndexKey(msgId), 16)) {
      const message = this.getByPhysicalOffset(offset);
      if (message?.msgId !== undefined && message.msgId.toUpperCase() === msgId.toUpperCase()) return message;
    }
    return undefined;
  }

  /** Messages of `topic` carrying `key`, newest first, optionally within a store-time range. */
  queryByKey(topic: string, key: string, maxCount = 32, beginMs = 0, endMs = Number.MAX_SAFE_INTEGER): StoredMessage[] {
    const found: StoredMessage[] = [];
    const limit = Math.min(maxCount, limits.indexQueryResultsMax);
    for (const offset of this.index.lookup(keyIndexKey(topic, key), limit * 4, beginMs, endMs)) {
      const message = this.getByPhysicalOffset(offset);
      if (message === undefined || message.topic !== topic || !message.keys.includes(key)) continue;
      if (message.storeTimestampMs < beginMs || message.storeTimestampMs > endMs) continue;
      found.push(message);
      if (found.length >= limit) break;
    }
    return found;
  }

  /** Messages of `topic` stored within [beginMs, endMs], oldest first per queue. */
  queryByTime(topic: string, beginMs: number, endMs: number, maxCount = 32): StoredMessage[] {
    const found: StoredMessage[] = [];
    for (const queue of this.queues.get(topic) ?? []) {
      if (queue === undefined) continue;
      queue.scan(this.offsetForTimestamp(topic, queue.queueId, beginMs), (_offset, physicalOffset) => {
        const message = this.getByPhysicalOffset(physicalOffset);
        if (message === undefined) return true;
        if (message.storeTimestampMs > endMs || found.length >= maxCount) return false;
        found.push(message);
        return true;
      });
    }
    return found.sort((a, b) => a.storeTimestampMs - b.storeTimestampMs).slice(0, maxCount);
  }

  minOffset(topic: string, queueId: number): number {
    return this.consumeQueue(topic, queueId)?.minOffset ?? 0;
  }

  maxOffset(topic: string, queueId: number): number {
    return this.consumeQueue(topic, queueId)?.maxOffset ?? 0;
  }

  /** The first queue offset whose message was stored at or after `timestampMs` (max if none). */
  offsetForTimestamp(topic: string, queueId: number, timestampMs: number): number {
    const queue = this.consumeQueue(topic, queueId);
    if (queue === undefined) return 0;
    let low = queue.minOffset;
    let high = queue.maxOffset;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const storedAt = this.storeTimestampAt(queue, middle);
      if (storedAt === undefined || storedAt < timestampMs) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private storeTimestampAt(queue: ConsumeQueue, queueOffset: number): number | undefined {
    const entry = queue.get(queueOffset);
    if (entry === undefined) return undefined;
    const located = this.commitLog.locate(entry.physicalOffset);
    if (located === undefined) return undefined;
    return readStoreTimestamp(located.file.view, located.position);
  }

  topics(): TopicInfo[] {
    const topics: TopicInfo[] = [];
    for (const [topic, list] of this.queues) {
      const queues: QueueInfo[] = [];
      for (const queue of list) if (queue !== undefined) queues.push({ queueId: queue.queueId, minOffset: queue.minOffset, maxOffset: queue.maxOffset });
      topics.push({ topic, queues });
    }
    return topics.sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** Forgets a topic's consume queues; its records leave with CommitLog retention. */
  deleteTopic(topic: string): void {
    for (const queue of this.queues.get(topic) ?? []) queue?.removeAll();
    this.queues.delete(topic);
    this.topicBytes.delete(topic);
  }

  private deleteDerivedBefore(commitLogMin: number): void {
    for (const queue of this.allQueues()) queue.deleteBefore(commitLogMin);
    this.index.deleteBefore(commitLogMin);
  }

  /** Flushes the CommitLog, consume queues and index, then records the checkpoint. */
  checkpointNow(): Promise<void> {
    this.checkpointRun ??= this.runCheckpoint().finally(() => {
      this.checkpointRun = undefined;
    });
    return this.checkpointRun;
  }

  private async runCheckpoint(): Promise<void> {
    const startMs = performance.now();
    const dispatched = this.commitLog.writePosition;
    await this.commitLog.flush();
    await Promise.all([...this.allQueues().map((queue) => queue.flush()), this.index.flush()]);
    this.options.faults.check("checkpoint", this.options.dataDir);
    await this.checkpoint.write({ commitLogFlushed: this.commitLog.flushedPosition, dispatchFlushed: dispatched, timestampMs: this.options.clock.nowMs() });
    this.options.bus?.emit("store.flushed", { commitLogFlushed: this.commitLog.flushedPosition, durationMs: performance.now() - startMs });
  }

  stats(): StoreStats {
    return {
      commitLogMinOffset: this.commitLog.minOffset,
      commitLogMaxOffset: this.commitLog.writePosition,
      commitLogFlushedOffset: this.commitLog.flushedPosition,
      commitLogFiles: this.commitLog.fileCount,
      indexFiles: this.index.fileCount,
      diskUsedRatio: this.retention.usedRatio,
      diskFull: this.retention.diskFull,
      messagesPut: this.messagesPut,
      bytesPut: this.bytesPut,
    };
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Flushes everything, writes the checkpoint, removes the abort marker and releases the lock. */
  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closing";
    for (const timer of this.timers) timer.cancel();
    await this.queueRepair.stop();
    await this.checkpointRun?.catch(() => {});
    try {
      await this.checkpointNow();
    } catch (error) {
      this.options.logger.error(`Final checkpoint failed; the next start will recover: ${(error as Error).message}`);
      await this.commitLog.close();
      this.closeFiles();
      this.lock.release();
      this.state = "closed";
      return;
    }
    await this.commitLog.close();
    this.closeFiles();
    this.abort.remove();
    this.lock.release();
    this.state = "closed";
  }

  private closeFiles(): void {
    for (const queue of this.allQueues()) queue.close();
    this.index?.close();
    this.checkpoint?.close();
  }
}

/** The consume-queue tag field: the deliver time for scheduled messages, else the tag's hash. */
export function consumeQueueTagHash(tags: string | undefined, properties: Record<string, string> | undefined): number {
  const deliverAt = properties?.[propertyNames.deliverAtMs];
  if (deliverAt !== undefined && /^\d+$/.test(deliverAt)) return Number(deliverAt);
  return tags === undefined || tags.length === 0 ? 0 : tagHash(tags);
}

assert(limits.consumeQueueEntryBytes === 20, "consume-queue entries are 20 bytes");
