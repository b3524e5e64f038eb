/**
 * The MessageStore facade: the one object the broker talks to. It owns the data directory —
 * lock, abort marker, geometry, checkpoint, CommitLog, consume queues, index, topic tombstones —
 * and keeps them consistent: an append writes the record and dispatches it (consume queue, index,
 * registered dispatchers) in one synchronous step, undone as a whole if dispatch cannot complete,
 * so nothing can observe one without the other.
 *
 *   dataDir/commitlog/<20-digit offset>          the log
 *   dataDir/consumequeue/<topic>/<queueId>/<20-digit first queue offset>
 *   dataDir/index/<20-digit sequence>
 *   dataDir/store.json                           geometry at creation (store-geometry.ts)
 *   dataDir/topic-tombstones.json                deleted topics (topic-tombstones.ts)
 *   dataDir/config/                              written atomically by the layers above
 *   dataDir/checkpoint, abort, lock
 */

import { join } from "node:path";
import { assert } from "../common/assert.ts";
import { MqError } from "../common/errors.ts";
import * as limits from "../common/limits.ts";
import { checkRecord, ipv4ToNumber, readStoreTimestamp, type StoredMessage } from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import { Appender } from "./appender.ts";
import { Checkpoint } from "./checkpoint.ts";
import { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";
import { ConsumeQueues, type TopicInfo } from "./consume-queues.ts";
import { AbortMarker, DataDirLock } from "./data-dir.ts";
import { DiskSpaceCheck } from "./disk-space-check.ts";
import { consumeQueueTagHash, readDispatchRecord, readScannedRecord, RecordTopics, type DispatchRecord, type ScannedRecord } from "./dispatch/dispatch-record.ts";
import { IndexDispatcher } from "./dispatch/index-dispatcher.ts";
import { ScheduleDispatcher, type ScheduleSink } from "./dispatch/schedule-dispatcher.ts";
import { RecordDispatch, type Dispatcher, type DispatcherSlot } from "./dispatch/record-dispatch.ts";
import { TransactionDispatcher, type TransactionSink } from "./dispatch/transaction-dispatcher.ts";
import { IndexService } from "./index-service.ts";
import { MessageLookup, type DedupQuery } from "./message-lookup.ts";
import { CommitLogWalk } from "./commit-log-walk.ts";
import type { MappedFile } from "./mapped-file.ts";
import type { PutBatchResult, PutFailure, PutMessageInput, PutResult } from "./put-message.ts";
import { Retention } from "./retention.ts";
import { recoverStore, type RecoveryReport } from "./store-recovery.ts";
import { settleGeometry } from "./store-geometry.ts";
import { resolveStoreOptions, type MessageStoreOptions, type ResolvedStoreOptions } from "./store-options.ts";
import { QueueRepair } from "./queue-repair.ts";
import { readMessages, type GetMessagesRequest, type GetMessagesResult, type ReadContext } from "./message-reader.ts";
import { TopicTombstones } from "./topic-tombstones.ts";
import type { TimerHandle } from "../common/clock.ts";

export type { QueueInfo, TopicInfo } from "./consume-queues.ts";

export interface StoreStats {
  commitLogMinOffset: PhysicalOffset;
  commitLogMaxOffset: PhysicalOffset;
  commitLogFlushedOffset: PhysicalOffset;
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
  /** Set once `open` has recovered the store. */
  recovery!: RecoveryReport;
  /** Rewrites consume-queue entries that readers found damaged, from the CommitLog. */
  readonly queueRepair: QueueRepair;
  private readonly queues: ConsumeQueues;
  private readonly diskSpace: DiskSpaceCheck;
  private readonly tombstones: TopicTombstones;
  private readonly dispatcher: RecordDispatch;
  /** Scheduled records (timers) go here, replayed ones too, until and after the broker attaches. */
  private readonly schedule: ScheduleDispatcher;
  /** Half messages (transactions), replayed ones too, until and after the broker attaches. */
  private readonly transactions: TransactionDispatcher;
  private readonly appender: Appender;
  private readonly lookup: MessageLookup;
  private readonly checkpoint: Checkpoint;
  private readonly lock: DataDirLock;
  private readonly abort: AbortMarker;
  private readonly timers: TimerHandle[] = [];
  private checkpointRun: Promise<void> | undefined;
  private readonly readContext: ReadContext;
  /** Why derived data was found missing or damaged at open (recovery then rebuilds it all). */
  private readonly rebuildReason: string | undefined;
  private state: "open" | "closing" | "closed" = "open";

  private constructor(configured: ResolvedStoreOptions) {
    this.lock = DataDirLock.acquire(configured.dataDir);
    const { storage, logger, faults, dataDir } = configured;
    // Geometry first: it decides how every file is read.
    let options: ResolvedStoreOptions;
    try {
      options = this.options = withGeometry(configured);
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.commitLog = new CommitLog({ dir: join(dataDir, "commitlog"), fileBytes: options.commitLogFileBytes, storage, faults, logger, warmAheadBytes: options.warmAheadBytes });
    try {
      this.abort = new AbortMarker(dataDir);
      storage.makeDir(dataDir);
      this.tombstones = new TopicTombstones(dataDir);
      this.index = new IndexService({ dir: join(dataDir, "index"), slotsPerFile: options.indexSlotsPerFile, entriesPerFile: options.indexEntriesPerFile, storage, faults });
      this.queues = new ConsumeQueues({ dataDir, entriesPerFile: options.consumeQueueEntriesPerFile, storage, faults, logger, tombstones: this.tombstones });
      this.dispatcher = new RecordDispatch(this.tombstones);
      this.schedule = new ScheduleDispatcher({ holdRetentionForTimers: options.holdRetentionForTimers });
      this.transactions = new TransactionDispatcher({ holdRetention: options.holdRetentionForTimers });
      this.dispatcher.register("consume_queue", this.queues);
      this.dispatcher.register("index", new IndexDispatcher(this.index));
      for (const [slot, dispatcher] of Object.entries(options.dispatchers) as [DispatcherSlot, Dispatcher][]) this.dispatcher.register(slot, dispatcher);
      if (!this.dispatcher.has("schedule")) this.dispatcher.register("schedule", this.schedule);
      if (!this.dispatcher.has("transaction")) this.dispatcher.register("transaction", this.transactions);
      this.checkpoint = new Checkpoint(join(dataDir, "checkpoint"), storage);
      this.retention = new Retention(options, { commitLog: this.commitLog, afterCommitLogDeleted: (min) => this.deleteDerivedBefore(min), keepFrom: () => lowest(this.schedule.keepFrom(), this.transactions.keepFrom()) });
      this.diskSpace = new DiskSpaceCheck(this.retention, options.clock, options.diskFullRatio);
      this.commitLog.load();
      const indexLost = this.index.load();
      const queueLost = this.queues.load();
      this.rebuildReason = indexLost ?? queueLost;
      this.appender = new Appender({ options, commitLog: this.commitLog, queues: this.queues, dispatch: this.dispatcher, storeHost: { ip: ipv4ToNumber(options.storeHost.ip), port: options.storeHost.port } });
      this.lookup = new MessageLookup({ commitLog: this.commitLog, index: this.index, queues: this.queues, tombstones: this.tombstones });
      this.queueRepair = new QueueRepair({
        commitLog: this.commitLog,
        logger,
        currentQueue: (topic, queueId) => this.consumeQueue(topic, queueId),
        entryOf: (message) => ({ physicalOffset: message.physicalOffset, size: message.storeSize, tagHash: consumeQueueTagHash(message.tags) }),
      });
      this.readContext = { commitLog: this.commitLog, logger, verifyCrcBelow: 0, onDamagedEntry: (queue, queueOffset) => this.queueRepair.schedule(queue, queueOffset) };
    } catch (error) {
      this.commitLog.abandon();
      this.closeFiles();
      this.lock.release();
      throw error;
    }
  }

  /**
   * Opens (creating or recovering) the store in `options.dataDir`. Recovery yields to the event
   * loop as it goes, so the process stays responsive; `options.recoveryProgress` shows how far.
   */
  static async open(options: MessageStoreOptions): Promise<MessageStore> {
    const store = new MessageStore(resolveStoreOptions(options));
    await store.recover();
    store.start();
    return store;
  }

  private async recover(): Promise<void> {
    const options = this.options;
    try {
      this.recovery = await recoverStore({
        commitLog: this.commitLog,
        checkpoint: this.checkpoint.state,
        abnormal: this.abort.exists(),
        queues: () => this.queues.all(),
        dispatch: (record) => this.dispatcher.dispatch(record),
        rebuild: this.rebuildReason,
        counts: (record) => record.visibility === "visible" && !this.tombstones.hides(record),
        holdsEntry: (topic, queueId, queueOffset) => this.queues.holds(topic, queueId, queueOffset),
        logger: options.logger,
        clock: options.clock,
        progress: options.recoveryProgress,
        stepPauseMs: options.recoveryStepPauseMs,
      });
      // Retention may have deleted CommitLog files without its derived data catching up (a crash in
      // between, or queues whose minimum is only known in memory): correct them now.
      this.deleteDerivedBefore(this.commitLog.minOffset);
      this.readContext.verifyCrcBelow = this.recovery.verifiedFrom;
      this.abort.create();
    } catch (error) {
      this.commitLog.abandon();
      this.closeFiles();
      this.lock.release();
      throw error;
    }
  }

  private start(): void {
    const { clock, flushIntervalMs, retentionCheckIntervalMs } = this.options;
    this.retention.run();
    this.commitLog.prepareNext();
    this.timers.push(clock.setInterval(() => void this.checkpointNow().catch((error) => this.options.logger.error(`Flush failed: ${error.message}`)), flushIntervalMs));
    this.timers.push(clock.setInterval(() => this.retention.run(), retentionCheckIntervalMs));
  }

  /**
   * Fills a dispatcher slot (schedule, transaction, trace, replication): from now on it receives
   * every record it accepts. To also receive the records recovery replays, pass it in the
   * `dispatchers` option instead.
   */
  registerDispatcher(slot: DispatcherSlot, dispatcher: Dispatcher): void {
    this.dispatcher.register(slot, dispatcher);
  }

  /**
   * Attaches the sink of scheduled records (the broker's timers): it first receives those
   * recovery replayed and no delivered copy answered, then every scheduled record appended.
   * Returns how many replayed records it was handed.
   */
  attachSchedule(sink: ScheduleSink): number {
    return this.schedule.attach(sink, (physicalOffset) => {
      const bytes = this.lookup.recordAt(physicalOffset);
      return bytes === undefined ? undefined : readDispatchRecord(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
    });
  }

  /**
   * Attaches the sink of half messages (the broker's transactions): it first receives those
   * recovery replayed and no state record ended, then every half appended. Returns how many
   * replayed halves it was handed.
   */
  attachTransactions(sink: TransactionSink): number {
    return this.transactions.attach(sink, (physicalOffset) => {
      const bytes = this.lookup.recordAt(physicalOffset);
      return bytes === undefined ? undefined : readDispatchRecord(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
    });
  }

  consumeQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic, queueId);
  }

  /** Why appends are refused right now, if they are. */
  private refusal(): PutFailure | undefined {
    if (this.state !== "open") return { status: "store_closed" };
    return this.diskSpace.refusal();
  }

  /** Appends one message and dispatches it; durability follows the flush mode (see `put`). */
  append(input: PutMessageInput): PutResult {
    const result = this.refusal() ?? this.appender.append(input);
    if (result.status === "ok") this.diskSpace.written(result.size);
    else if (result.status === "io_error") return this.diskSpace.failed(result.error) ?? result;
    return result;
  }

  /** Appends a batch of one topic whole or not at all (see `putBatch`), without waiting for a flush. */
  appendBatch(inputs: readonly PutMessageInput[]): PutBatchResult {
    if (inputs.length === 0) throw new MqError("BATCH_EMPTY");
    const topic = inputs[0]!.topic;
    const other = inputs.find((input) => input.topic !== topic);
    if (other !== undefined) throw new MqError("BATCH_MIXED_TOPICS", { first: topic, other: other.topic });
    const result = this.refusal() ?? this.appender.appendBatch(inputs);
    if (result.status === "ok") for (const stored of result.results) this.diskSpace.written(stored.size);
    else if (result.status === "io_error") return this.diskSpace.failed(result.error) ?? result;
    return result;
  }

  /** Appends one message and resolves once it is stored under the flush policy. */
  async put(input: PutMessageInput): Promise<PutResult> {
    const result = this.append(input);
    if (result.status === "ok" && this.options.flush === "sync") {
      const failure = await this.durable(result.physicalOffset + result.size);
      if (failure !== undefined) return failure;
    }
    return result;
  }

  /** Appends a batch of one topic as consecutive records, all or none; resolves when all are stored. */
  async putBatch(inputs: readonly PutMessageInput[]): Promise<PutBatchResult> {
    const result = this.appendBatch(inputs);
    if (result.status === "ok" && this.options.flush === "sync") {
      const last = result.results[result.results.length - 1]!;
      const failure = await this.durable(last.physicalOffset + last.size);
      if (failure !== undefined) return failure;
    }
    return result;
  }

  private async durable(end: number): Promise<PutFailure | undefined> {
    try {
      await this.commitLog.waitDurable(toPhysicalOffset(end));
      return undefined;
    } catch (error) {
      return { status: "io_error", error: error instanceof MqError ? error : new MqError("INTERNAL", { reason: String(error) }) };
    }
  }

  getMessages(request: GetMessagesRequest): GetMessagesResult {
    return readMessages(this.readContext, this.consumeQueue(request.topic, request.queueId), request);
  }

  /** The message whose record starts at `physicalOffset`, verified, or undefined. */
  getByPhysicalOffset(physicalOffset: PhysicalOffset): StoredMessage | undefined {
    return this.lookup.byPhysicalOffset(physicalOffset);
  }

  /** `MessageLookup.ownAt`: a record this broker wrote, read in place (no copy, no CRC pass) for use within the caller's step. */
  getOwnAt(physicalOffset: PhysicalOffset): StoredMessage | undefined {
    return this.lookup.ownAt(physicalOffset);
  }

  /** A copy of the verified record bytes starting at `physicalOffset` (what pulls and lookups send as is), or undefined. */
  recordAt(physicalOffset: PhysicalOffset): Uint8Array | undefined {
    return this.lookup.recordAt(physicalOffset);
  }

  getByOffsetMsgId(offsetMsgId: string): StoredMessage | undefined {
    return this.lookup.byOffsetMsgId(offsetMsgId);
  }

  queryByMsgId(msgId: string): StoredMessage | undefined {
    return this.lookup.byMsgId(msgId);
  }

  /** The newest copy a send-back stored for the failure `sendBackKey` (SEND_BACK_KEY), or undefined. */
  queryBySendBackKey(sendBackKey: string): StoredMessage | undefined {
    return this.lookup.bySendBackKey(sendBackKey);
  }

  /** Every stored copy of the message with `msgId`, at most `max` (message-lookup.ts). */
  queryAllByMsgId(msgId: string, max: number): StoredMessage[] {
    return this.lookup.allByMsgId(msgId, max);
  }

  /** The stored message a dedup window's fingerprint hit names, if it is live and inside the window (message-lookup.ts). */
  queryDedupOriginal(query: DedupQuery): StoredMessage | undefined {
    return this.lookup.byDedupId(query);
  }

  /**
   * Hands `visit` every record of a live topic incarnation stored at or after `sinceMs` and before
   * the write position at the call, in log order: what a feature rebuilds its memory from at start
   * (the dedup window), while the broker already serves. Nothing is decoded (`ScannedRecord`: the
   * topic, known topics not decoded again, and where the properties lie) and no CRC is computed
   * again — recovery verified every record below the write position; decoding each record made a
   * scan of a million records take a second. The call itself only finds where to start and where
   * the log ends; the records are walked in later turns of the event loop, `recoveryStepBytes` a
   * turn, each finding its file anew (retention may delete files meanwhile), and the scan ends
   * early, incomplete, once `stopped()` or the store closes.
   */
  async scanSince(sinceMs: number, visit: (record: ScannedRecord) => void, stopped: () => boolean = () => false): Promise<{ visited: number; complete: boolean }> {
    const end = this.commitLog.writePosition;
    const topics = new RecordTopics();
    const record: ScannedRecord = { topic: "", physicalOffset: 0, storeTimestampMs: 0, bytes: new Uint8Array(0), propertiesStart: 0, propertiesEnd: 0 };
    let visited = 0;
    const onRecord = (offset: PhysicalOffset, file: MappedFile, position: number): void => {
      if (offset >= end || readStoreTimestamp(file.view, position) < sinceMs) return;
      const topic = topics.of(file.bytes, file.view, position).topic;
      if (this.tombstones.hidesAt(topic, offset)) return;
      readScannedRecord(record, topic, offset, file.bytes, file.view, position);
      visit(record);
      visited += 1;
    };
    let position = this.scanStartBefore(sinceMs);
    while (position < end) {
      // Each step in a turn of its own, the first too: the caller's start is not made longer by it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.state !== "open" || stopped()) return { visited, complete: false };
      const walk = new CommitLogWalk(this.commitLog, Math.max(position, this.commitLog.minOffset), end, onRecord, false);
      const done = walk.step(limits.recoveryStepBytes);
      position = walk.position;
      if (done) break;
    }
    return { visited, complete: true };
  }

  /** The base of the newest CommitLog file whose first record was stored before `sinceMs` (else the oldest file's). */
  private scanStartBefore(sinceMs: number): number {
    for (let index = this.commitLog.fileCount - 1; index > 0; index--) {
      const { file, base } = this.commitLog.fileAt(index)!;
      const first = checkRecord(file.bytes, file.view, 0, this.commitLog.fileBytes, base, false);
      if (first.kind === "record" && readStoreTimestamp(file.view, 0) < sinceMs) return base;
    }
    return this.commitLog.minOffset;
  }

  /** Messages of `topic` carrying `key`, newest first, optionally within a store-time range. */
  queryByKey(topic: string, key: string, maxCount = 32, beginMs = 0, endMs = Number.MAX_SAFE_INTEGER): StoredMessage[] {
    return this.lookup.byKey(topic, key, maxCount, beginMs, endMs);
  }

  /** Messages of `topic` stored within [beginMs, endMs], oldest first per queue. */
  queryByTime(topic: string, beginMs: number, endMs: number, maxCount = 32): StoredMessage[] {
    return this.lookup.byTime(topic, beginMs, endMs, maxCount);
  }

  minOffset(topic: string, queueId: number): QueueOffset {
    return this.consumeQueue(topic, queueId)?.minOffset ?? toQueueOffset(0);
  }

  maxOffset(topic: string, queueId: number): QueueOffset {
    return this.queues.nextOffset(topic, queueId);
  }

  /** The first queue offset whose message was stored at or after `timestampMs` (max if none). */
  offsetForTimestamp(topic: string, queueId: number, timestampMs: number): QueueOffset {
    return this.lookup.offsetForTimestamp(this.consumeQueue(topic, queueId), timestampMs);
  }

  /** Topics with stored messages and their queues; a deleted topic is listed again only once re-created. */
  topics(): TopicInfo[] {
    return this.queues.topics();
  }

  /**
   * Deletes a topic durably: its tombstone (the CommitLog position now) is written before its
   * consume queues are removed, so neither a restart nor a replay brings its records back, and a
   * topic created later under the same name starts empty. The records leave with retention.
   */
  deleteTopic(topic: string): void {
    this.tombstones.record(topic, toPhysicalOffset(this.commitLog.writePosition));
    this.queues.removeTopic(topic);
  }

  private deleteDerivedBefore(commitLogMin: PhysicalOffset): void {
    this.queues.deleteBefore(commitLogMin);
    this.index.deleteBefore(commitLogMin);
    this.tombstones.prune(commitLogMin);
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
    await Promise.all([...this.queues.all().map((queue) => queue.flush()), this.index.flush()]);
    await this.schedule.sync();
    this.transactions.sync();
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
      messagesPut: this.appender.messagesPut,
      bytesPut: this.appender.bytesPut,
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
    this.queues?.close();
    this.index?.close();
    this.checkpoint?.close();
  }
}

/** The lower of two retention floors; undefined means no floor. */
function lowest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The options with the data dir's recorded geometry in place of the configured one. */
function withGeometry(options: ResolvedStoreOptions): ResolvedStoreOptions {
  const { commitLogFileBytes, consumeQueueEntriesPerFile, indexSlotsPerFile, indexEntriesPerFile } = options;
  const geometry = settleGeometry({ dataDir: options.dataDir, configured: { commitLogFileBytes, consumeQueueEntriesPerFile, indexSlotsPerFile, indexEntriesPerFile }, storage: options.storage, logger: options.logger });
  return { ...options, ...geometry };
}

assert(limits.consumeQueueEntryBytes === 20, "consume-queue entries are 20 bytes");
