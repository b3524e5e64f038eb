/**
 * Transactions (issue 12, DESIGN §6 and §14): half messages, their outcome, and the state of
 * every unresolved one. It is the sink of the store's transaction dispatcher: each half message
 * (live or replayed) becomes one "transaction.check" job (transaction-job.ts) due at its first
 * check-back; transaction-check.ts runs those jobs.
 *
 * Ending a transaction, by the producer (END_TRANSACTION), a check-back answer or an operator,
 * writes one record, which is its outcome:
 *   commit    the message appended into its real topic and queue with its msgId, keys, tags and
 *             properties, sysFlag commit and preparedTransactionOffset = the half's offset: the
 *             committed message itself says which half it ends (replay reads it so);
 *   rollback  a state record (body ≤ transactionStateRecordBodyBytesMax: "rollback <offset>";
 *             key: the offset in 16 hex digits) into RMQ_SYS_TRANS_OP_HALF_TOPIC; the half stays
 *             in the log until retention;
 *   then      the job is closed (DONE, when it was journaled) and `transaction.ended` goes out.
 * All of it runs in one synchronous step (appends are synchronous; sync flush only waits after),
 * so two commits racing, or a commit racing a check-back answer, end it once: the second finds
 * it ended and is answered from the outcome (the same outcome: `already`; the other: refused
 * with TRANSACTION_ALREADY_ENDED). Check-backs write no record: their count lives in the job.
 *
 * Crash windows. A kill -9 after the outcome's record and before the job's DONE leaves the job
 * open. Every transaction found open at start is marked `recovered`: before anything is appended
 * for it, its outcome is looked for — a committed message (by msgId, carrying its half's offset)
 * or a state record (by key) — and a found outcome closes the job, never written again. A half
 * whose job was lost with the journal's tail is handed back by replay (transaction-dispatcher.ts)
 * unless replay met its outcome. Logs written before commits stopped writing a state record of
 * their own hold one for commits too; it is read the same way.
 *
 * Journal. Most transactions end within milliseconds, so a half's check job is not written to
 * the scheduler's journal when it is stored: it is written, with every other half still
 * unresolved, in one write when the store next checkpoints (`sync`, before the checkpoint moves
 * past the half), and a half that ended before then never touches the journal. Until then a
 * kill -9 loses nothing: the half lies past the checkpoint, so recovery replays it (and its
 * outcome, if any) and it is scheduled again. A half still unjournaled when its first check-back
 * falls due (a transactionTimeoutMs shorter than the checkpoint interval) is journaled then, by
 * one timer armed at the earliest such due time, and its check-back fires at once.
 *
 * Retention keeps the CommitLog from the earliest unresolved half on.
 */

import type { EventBus } from "../common/bus.ts";
import type { TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { decodeOffsetMsgId } from "../common/ids.ts";
import { transactionEndedRememberedMax, transactionExhaustedRenewMs, transactionStateRecordBodyBytesMax } from "../common/limits.ts";
import { sysFlag, type StoredMessage } from "../common/message-record.ts";
import { propertyNames } from "../common/message-properties.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import { systemTopics } from "../common/system-topics.ts";
import type { PreparedRecord, TransactionSink } from "../store/dispatch/transaction-dispatcher.ts";
import type { PutMessageInput, PutOk } from "../store/put-message.ts";
import type { BrokerContext } from "./broker-context.ts";
import type { TransactionEndedBy, TransactionEvents, TransactionResolution } from "./transaction-events.ts";
import { type TransactionInfo, type TransactionJob, transactionCheckJobKind, transactionExhaustedJobKind, transactionJobId } from "./transaction-job.ts";

export type TransactionState = "pending" | "exhausted";
type JobKind = typeof transactionCheckJobKind | typeof transactionExhaustedJobKind;

/** One unresolved transaction, pending or exhausted: the key of its open job and its payload. */
export interface TransactionEntry {
  job: TransactionInfo;
  kind: JobKind;
  dueMs: number;
  /** Open before this run: its outcome may be partly written (see the file header). */
  recovered: boolean;
  /** Its job is in the scheduler's journal (see "Journal" in the file header); false: in memory only, for now. */
  journaled: boolean;
  /** A check-back is waiting for a producer's answer. */
  checking: boolean;
}

export interface TransactionView {
  readonly transactionId: string;
  readonly msgId: string;
  readonly producerGroup: string;
  readonly topic: string;
  readonly state: TransactionState;
  readonly storedMs: number;
  readonly ageMs: number;
  readonly checks: number;
  /** When it is checked back next; absent once exhausted. */
  readonly nextCheckMs?: number;
}

export interface TransactionEndAnswer {
  readonly transactionId: string;
  readonly msgId: string;
  readonly state: "committed" | "rolled_back";
  /** true: it had ended so already, and nothing was written now. */
  readonly already: boolean;
  /** The committed message, when this call committed it. */
  readonly committed?: { readonly queueId: number; readonly queueOffset: QueueOffset; readonly offsetMsgId: string };
}

/** How one end came out: the outcome, and where this call stored the committed message. */
export interface TransactionEnded {
  readonly msgId: string;
  readonly resolution: TransactionResolution;
  /** true: it had ended so already, and nothing was written now. */
  readonly already: boolean;
  readonly committed: { readonly queueId: number; readonly queueOffset: QueueOffset; readonly physicalOffset: PhysicalOffset } | undefined;
}

interface EndedOutcome {
  readonly msgId: string;
  readonly resolution: TransactionResolution;
}

/** An outcome found in the store: the committed message, for a commit. */
interface WrittenOutcome {
  readonly resolution: TransactionResolution;
  readonly copy?: StoredMessage;
}

const services = new WeakMap<BrokerContext, Transactions>();
/** An offset as offsetMsgIds end: 16 hex digits, below 2^53. */
const hexOffsetPattern = /^[0-9A-Fa-f]{16}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Half properties that the committed message does not carry. */
const halfOnlyProperties: ReadonlySet<string> = new Set([propertyNames.realTopic, propertyNames.realQueueId]);
/** Copies of one msgId read to find a committed one. */
const copiesLookupMax = 8;

export class Transactions implements TransactionSink {
  readonly counters = { prepared: 0, committed: 0, rolledBack: 0, exhausted: 0 };
  /** Every unresolved transaction, by its half's CommitLog offset. */
  private readonly entries = new Map<number, TransactionEntry>();
  /** Outcomes written in this run (bounded: see `remember`): a repeated end is answered without a lookup. */
  private endedNewer = new Map<number, EndedOutcome>();
  private endedOlder = new Map<number, EndedOutcome>();
  /** Unresolved halves whose job is not journaled yet: written at the next checkpoint (see "Journal"). */
  private readonly unjournaled = new Set<TransactionEntry>();
  /** Fires when the earliest unjournaled half falls due, journaling it (and the rest) so its check-back fires. */
  private journalTimer: { readonly dueMs: number; readonly handle: TimerHandle } | undefined;
  private attached = false;
  /** This broker's offsetMsgId prefix (its address), as transaction ids start. */
  private idPrefix: string | undefined;
  private readonly bus: EventBus<TransactionEvents> | undefined;

  private constructor(readonly context: BrokerContext) {
    this.bus = context.store.options.bus as unknown as EventBus<TransactionEvents> | undefined;
  }

  /** Loads the open jobs and attaches to the store (before the scheduler starts); the check handler registers itself. */
  static start(context: BrokerContext): Transactions {
    const transactions = new Transactions(context);
    services.set(context, transactions);
    for (const kind of [transactionCheckJobKind, transactionExhaustedJobKind] as const) {
      for (const job of context.scheduler.openOf(kind)) {
        transactions.entries.set(job.payload.halfOffset, { job: transactions.infoOf(job.payload), kind, dueMs: job.dueMs, recovered: true, checking: false, journaled: true });
      }
    }
    const handed = context.store.attachTransactions(transactions);
    transactions.attached = true;
    if (transactions.entries.size > 0) context.logger.info(`Transactions: ${transactions.entries.size} unresolved (${handed} found again by recovery)`);
    return transactions;
  }

  static of(context: BrokerContext): Transactions {
    const service = services.get(context);
    if (service === undefined) throw new MqError("INTERNAL", { reason: "the broker has no transactions: Transactions.start runs at broker start" });
    return service;
  }

  /** A half message stored (live) or found again by replay: its first check-back is scheduled. */
  prepared(record: PreparedRecord): void {
    if (this.entries.has(record.physicalOffset)) return;
    const { config, scheduler } = this.context;
    const job: TransactionInfo = { halfOffset: record.physicalOffset, msgId: record.msgId, producerGroup: record.producerGroup, topic: record.realTopic, storedMs: record.storeTimestampMs, checks: 0 };
    const dueMs = record.storeTimestampMs + (record.checkImmunityMs ?? config.transactionTimeoutMs);
    const entry: TransactionEntry = { job, kind: transactionCheckJobKind, dueMs, recovered: !this.attached, checking: false, journaled: false };
    this.unjournaled.add(entry);
    // Due before a checkpoint journals it (a small transactionTimeoutMs): the timer journals it in time.
    if (this.journalTimer === undefined || dueMs < this.journalTimer.dueMs) {
      this.journalTimer?.handle.cancel();
      this.journalTimer = { dueMs, handle: this.context.clock.setTimeout(() => this.journalPending(), Math.max(0, dueMs - this.context.clock.nowMs())) };
    }
    this.entries.set(record.physicalOffset, entry);
    this.counters.prepared += 1;
  }

  private journal(entry: TransactionEntry): void {
    this.context.scheduler.schedule({ kind: transactionCheckJobKind, id: transactionJobId(entry.job.halfOffset), dueMs: entry.dueMs, payload: payloadOf(entry.job) });
    entry.journaled = true;
  }

  /** A journaled job with what its half message says (read once, at start); a half that cannot be read is shown as unknown. */
  private infoOf(job: TransactionJob): TransactionInfo {
    const half = this.context.store.getByPhysicalOffset(toPhysicalOffset(job.halfOffset));
    const properties = half?.properties ?? {};
    return {
      halfOffset: job.halfOffset,
      checks: job.checks,
      msgId: half?.msgId ?? "0".repeat(32),
      producerGroup: properties[propertyNames.producerGroup] ?? "unknown",
      topic: properties[propertyNames.realTopic] ?? "unknown",
      storedMs: half?.storeTimestampMs ?? 0,
    };
  }

  keepFrom(): number | undefined {
    let lowest: number | undefined;
    for (const offset of this.entries.keys()) if (lowest === undefined || offset < lowest) lowest = offset;
    return lowest;
  }

  /** Before a checkpoint: every half still unresolved gets its job journaled (one write), then the journal is synced. */
  sync(): void {
    this.journalPending();
    this.context.scheduler.sync();
  }

  /** At broker stop, before the scheduler closes: what is unjournaled is journaled, so a clean restart needs no replay for it. */
  stop(): void {
    this.journalPending();
  }

  /** Journals the job of every unresolved half not journaled yet, in one write. */
  private journalPending(): void {
    this.journalTimer?.handle.cancel();
    this.journalTimer = undefined;
    if (this.unjournaled.size === 0) return;
    const pending = [...this.unjournaled];
    this.unjournaled.clear();
    this.context.scheduler.batch(() => {
      for (const entry of pending) if (this.entries.get(entry.job.halfOffset) === entry) this.journal(entry);
    });
  }

  /** Unresolved transactions right now. */
  get unresolved(): number {
    return this.entries.size;
  }

  /** The entry of the half at `halfOffset`, if it is unresolved. */
  entry(halfOffset: number): TransactionEntry | undefined {
    return this.entries.get(halfOffset);
  }

  /**
   * The half offset of one of this broker's transaction ids (its offsetMsgId prefix, then 16 hex
   * digits of offset); TRANSACTION_NOT_FOUND for any other id: another broker's offset means nothing here.
   */
  private ownHalfOffset(transactionId: string): number {
    this.idPrefix ??= this.transactionId(0).slice(0, -16);
    const prefix = this.idPrefix;
    const offsetHex = transactionId.slice(prefix.length);
    if (transactionId.length !== prefix.length + 16 || transactionId.slice(0, prefix.length).toUpperCase() !== prefix || !hexOffsetPattern.test(offsetHex)) {
      halfOffsetOf(transactionId); // a malformed id says why
      throw new MqError("TRANSACTION_NOT_FOUND", { id: transactionId, reason: "it is not a transaction id of this broker" });
    }
    return Number.parseInt(offsetHex, 16);
  }

  /** The transaction id of the half at `halfOffset`: its offsetMsgId on this broker. */
  transactionId(halfOffset: number): string {
    return this.context.messages.offsetMsgId(toPhysicalOffset(halfOffset));
  }

  /**
   * Ends a transaction by id (END_TRANSACTION, REST, Admin). Throws TRANSACTION_NOT_FOUND,
   * TRANSACTION_ALREADY_ENDED (the other outcome was written), or the store's error.
   */
  end(transactionId: string, resolution: TransactionResolution, by: TransactionEndedBy): TransactionEndAnswer | Promise<TransactionEndAnswer> {
    const ended = this.endById(transactionId, resolution, by);
    return ended instanceof Promise ? ended.then((done) => this.answerOf(transactionId, done)) : this.answerOf(transactionId, ended);
  }

  /** As `end`, answering with offsets rather than ids: END_TRANSACTION_BATCH's compact answer is made of them. */
  endById(transactionId: string, resolution: TransactionResolution, by: TransactionEndedBy): TransactionEnded | Promise<TransactionEnded> {
    this.context.assertWritable();
    const halfOffset = this.ownHalfOffset(transactionId);
    const entry = this.entries.get(halfOffset);
    if (entry === undefined) return this.endedBefore(halfOffset, transactionId, resolution);
    // Open before this run: an outcome may be written already, and is completed rather than contradicted.
    if (entry.recovered && this.settleRecovered(entry) !== undefined) return this.endedBefore(halfOffset, transactionId, resolution);
    return this.finish(entry, resolution, by);
  }

  private answerOf(transactionId: string, ended: TransactionEnded): TransactionEndAnswer {
    const { committed } = ended;
    const state = ended.resolution === "commit" ? "committed" : "rolled_back";
    if (committed === undefined) return { transactionId, msgId: ended.msgId, state, already: ended.already };
    const where = { queueId: committed.queueId, queueOffset: committed.queueOffset, offsetMsgId: this.context.messages.offsetMsgId(committed.physicalOffset) };
    return { transactionId, msgId: ended.msgId, state, already: ended.already, committed: where };
  }

  /** The pending or exhausted transactions, oldest first, one page after `afterTransactionId`. */
  list(query: { readonly state: TransactionState; readonly limit: number; readonly afterTransactionId?: string }): { transactions: TransactionView[]; total: number; next?: string } {
    const kind = query.state === "pending" ? transactionCheckJobKind : transactionExhaustedJobKind;
    const matching = [...this.entries.values()].filter((entry) => entry.kind === kind).sort((a, b) => a.job.storedMs - b.job.storedMs || a.job.halfOffset - b.job.halfOffset);
    let start = 0;
    if (query.afterTransactionId !== undefined) {
      const after = halfOffsetOf(query.afterTransactionId);
      const afterEntry = this.entries.get(after);
      start = afterEntry === undefined ? matching.findIndex((entry) => entry.job.halfOffset > after) : matching.indexOf(afterEntry) + 1;
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + query.limit).map((entry) => this.view(entry));
    const more = start + query.limit < matching.length;
    return { transactions: page, total: matching.length, ...(more && page.length > 0 ? { next: page[page.length - 1]!.transactionId } : {}) };
  }

  /** What listings show of one transaction. */
  view(entry: TransactionEntry): TransactionView {
    const { job } = entry;
    const exhausted = entry.kind === transactionExhaustedJobKind;
    return {
      transactionId: this.transactionId(job.halfOffset),
      msgId: job.msgId,
      producerGroup: job.producerGroup,
      topic: job.topic,
      state: exhausted ? "exhausted" : "pending",
      storedMs: job.storedMs,
      ageMs: Math.max(0, this.context.clock.nowMs() - job.storedMs),
      checks: job.checks,
      ...(exhausted ? {} : { nextCheckMs: entry.dueMs }),
    };
  }

  /** Closes the open job and opens the next check-back of `entry` (one journal write). */
  reschedule(entry: TransactionEntry, dueMs: number, checks: number): void {
    this.replaceJob(entry, transactionCheckJobKind, dueMs, checks);
  }

  /** Moves `entry` to the exhausted list after its last check-back (one journal write). */
  exhaust(entry: TransactionEntry, checks: number): void {
    this.replaceJob(entry, transactionExhaustedJobKind, this.context.clock.nowMs() + transactionExhaustedRenewMs, checks);
    this.counters.exhausted += 1;
    const { job } = entry;
    this.context.logger.warn(`Transaction "${this.transactionId(job.halfOffset)}" of group "${job.producerGroup}" (topic "${job.topic}") is exhausted after ${checks} check-backs; commit or roll it back by id`);
  }

  /** An exhausted transaction's job fell due: it is renewed, still exhausted (one journal write). */
  renewExhausted(entry: TransactionEntry): void {
    this.replaceJob(entry, transactionExhaustedJobKind, this.context.clock.nowMs() + transactionExhaustedRenewMs, entry.job.checks);
  }

  private replaceJob(entry: TransactionEntry, kind: JobKind, dueMs: number, checks: number): void {
    const job = { ...entry.job, checks };
    const id = transactionJobId(job.halfOffset);
    const next = { kind, id, dueMs, payload: payloadOf(job) };
    if (entry.journaled) this.context.scheduler.reschedule({ kind: entry.kind, id, dueMs: entry.dueMs }, next);
    else {
      this.unjournaled.delete(entry);
      this.context.scheduler.schedule(next);
      entry.journaled = true;
    }
    entry.job = job;
    entry.kind = kind;
    entry.dueMs = dueMs;
  }

  /**
   * For a transaction open before this run: the outcome already written for it, if any (its
   * committed message or its rollback's state record). Ends the entry when one is found, writing
   * nothing.
   */
  settleRecovered(entry: TransactionEntry): TransactionResolution | undefined {
    const written = this.writtenOutcome(entry.job.halfOffset, entry.job.msgId);
    if (written === undefined) return undefined;
    this.finish(entry, written.resolution, "check", written);
    return written.resolution;
  }

  /**
   * Ends `entry` with `resolution` in one synchronous step (see the file header): one append (the
   * committed message, or the rollback's state record), then the job is closed. An append that
   * fails leaves it unresolved, nothing written. `written`: the outcome is in the store already
   * (a recovered transaction's), and only the job is closed.
   */
  finish(entry: TransactionEntry, resolution: TransactionResolution, by: TransactionEndedBy, written?: WrittenOutcome): TransactionEnded | Promise<TransactionEnded> {
    const { messages } = this.context;
    const { halfOffset, msgId } = entry.job;
    let appended: PutOk | Promise<PutOk> | undefined;
    let copyQueueId = 0;
    if (written === undefined && resolution === "commit") {
      const input = this.committedInput(entry);
      copyQueueId = input.queueId;
      appended = messages.appendAndAwait(input);
    } else if (written === undefined) appended = messages.appendAndAwait(stateRecord(halfOffset, resolution));
    this.entries.delete(halfOffset);
    if (entry.journaled) this.context.scheduler.complete({ kind: entry.kind, id: transactionJobId(halfOffset), dueMs: entry.dueMs });
    else this.unjournaled.delete(entry);
    this.remember(halfOffset, msgId, resolution);
    if (resolution === "commit") this.counters.committed += 1;
    else this.counters.rolledBack += 1;
    const committedNow = resolution === "commit" && written === undefined;
    this.announce(entry, resolution, by, committedNow ? { queueId: copyQueueId, stored: appended! } : written?.copy);
    // Under async flush the append is done: answered here, with no closure per end.
    if (!(appended instanceof Promise)) return endedNow(msgId, resolution, committedNow ? copyQueueId : undefined, appended);
    return appended.then((stored) => endedNow(msgId, resolution, committedNow ? copyQueueId : undefined, stored));
  }

  private announce(entry: TransactionEntry, resolution: TransactionResolution, by: TransactionEndedBy, committed: StoredMessage | { queueId: number; stored: PutOk | Promise<PutOk> } | undefined): void {
    const bus = this.bus;
    if (bus === undefined || bus.listenerCount("transaction.ended") === 0) return;
    const { job } = entry;
    const emit = (queueId: number | undefined, physicalOffset: number | undefined) =>
      bus.emit("transaction.ended", {
        transactionId: this.transactionId(job.halfOffset),
        msgId: job.msgId,
        producerGroup: job.producerGroup,
        topic: job.topic,
        resolution,
        by,
        checks: job.checks,
        ...(queueId === undefined || physicalOffset === undefined ? {} : { committed: { queueId, offsetMsgId: this.context.messages.offsetMsgId(toPhysicalOffset(physicalOffset)) } }),
        endedMs: this.context.clock.nowMs(),
      });
    if (committed === undefined) emit(undefined, undefined);
    else if (!("stored" in committed)) emit(committed.queueId, committed.physicalOffset);
    else if (committed.stored instanceof Promise) void committed.stored.then((stored) => emit(committed.queueId, stored.physicalOffset), () => undefined);
    else emit(committed.queueId, committed.stored.physicalOffset);
  }

  /**
   * The committed message's store input: the half's message in its real topic and queue. The half
   * is read in place (the append copies it at once) and its properties, checked when it was
   * stored, are encoded here without the half's own; the store takes those bytes as they are.
   */
  private committedInput(entry: TransactionEntry): PutMessageInput {
    const { halfOffset, topic, msgId } = entry.job;
    const half = this.context.store.getOwnAt(toPhysicalOffset(halfOffset));
    if (half === undefined || half.msgId?.toUpperCase() !== msgId.toUpperCase()) {
      throw new MqError("TRANSACTION_NOT_FOUND", { id: this.transactionId(halfOffset), reason: `its half message is not at CommitLog offset ${halfOffset}` });
    }
    const config = this.context.topics.get(topic);
    if (config === undefined) throw new MqError("TOPIC_NOT_FOUND", { topic });
    // The properties and their text in one pass, in the half's order, which put TAGS, KEYS and
    // UNIQ_KEY last: the bytes a store encoding of these fields gives (encodePropertiesText's format).
    const properties: Record<string, string> = {};
    let text = "";
    for (const name in half.properties) {
      if (halfOnlyProperties.has(name)) continue;
      const value = half.properties[name]!;
      properties[name] = value;
      text += name + "\u0001" + value + "\u0002";
    }
    const propertiesBytes = encoder.encode(text);
    return {
      topic,
      queueId: Number(half.properties[propertyNames.realQueueId] ?? 0) % config.writeQueues,
      body: half.body,
      tags: half.tags,
      keys: half.keys.length === 0 ? undefined : half.keys,
      msgId: half.msgId,
      properties,
      propertiesBytes,
      flag: half.flag,
      sysFlag: sysFlag.transactionCommit,
      bornTimestampMs: half.bornTimestampMs,
      bornHost: half.bornHost,
      reconsumeTimes: half.reconsumeTimes,
      preparedTransactionOffset: halfOffset,
    };
  }

  /** A transaction that is no longer unresolved: answered from its outcome, or not found. */
  private endedBefore(halfOffset: number, transactionId: string, resolution: TransactionResolution): TransactionEnded {
    const remembered = this.endedOutcome(halfOffset);
    const half = remembered === undefined ? this.context.store.getByPhysicalOffset(toPhysicalOffset(halfOffset)) : undefined;
    if (remembered === undefined && (half === undefined || half.topic !== systemTopics.transactionHalf || half.msgId === undefined)) {
      throw new MqError("TRANSACTION_NOT_FOUND", { id: transactionId, reason: "no half message of this broker has that id" });
    }
    const msgId = remembered?.msgId ?? half!.msgId!;
    const outcome = remembered?.resolution ?? this.writtenOutcome(halfOffset, msgId)?.resolution;
    if (outcome === undefined) throw new MqError("TRANSACTION_NOT_FOUND", { id: transactionId, reason: "its half message has no pending state and no outcome (its state was lost)" });
    if (outcome !== resolution) throw new MqError("TRANSACTION_ALREADY_ENDED", { id: transactionId, action: resolution === "commit" ? "commit" : "roll back", state: outcome === "commit" ? "committed" : "rolled back" });
    return { msgId, resolution: outcome, already: true, committed: undefined };
  }

  /** The outcome written for a half, found in the store: its committed message, else a state record. */
  private writtenOutcome(halfOffset: number, msgId: string): WrittenOutcome | undefined {
    const remembered = this.endedOutcome(halfOffset);
    if (remembered !== undefined) return { resolution: remembered.resolution };
    const copy = this.committedCopy(halfOffset, msgId);
    if (copy !== undefined) return { resolution: "commit", copy };
    for (const record of this.context.store.queryByKey(systemTopics.transactionOperations, transactionJobId(halfOffset), 4)) {
      const outcome = stateOfRecord(record.body);
      if (outcome !== undefined) return { resolution: outcome };
    }
    return undefined;
  }

  private committedCopy(halfOffset: number, msgId: string): StoredMessage | undefined {
    for (const copy of this.context.store.queryAllByMsgId(msgId, copiesLookupMax)) {
      if (copy.preparedTransactionOffset === halfOffset && (copy.sysFlag & sysFlag.transactionMask) === sysFlag.transactionCommit) return copy;
    }
    return undefined;
  }

  /**
   * Two generations, each at most half the bound: when the newer fills, the older is dropped
   * whole. No per-end eviction (deleting a Map's oldest key each time was measured at 7 % of a
   * broker committing 40,000 transactions a second).
   */
  private remember(halfOffset: number, msgId: string, resolution: TransactionResolution): void {
    this.endedNewer.set(halfOffset, { msgId, resolution });
    if (this.endedNewer.size < transactionEndedRememberedMax / 2) return;
    this.endedOlder = this.endedNewer;
    this.endedNewer = new Map();
  }

  private endedOutcome(halfOffset: number): EndedOutcome | undefined {
    return this.endedNewer.get(halfOffset) ?? this.endedOlder.get(halfOffset);
  }
}

function payloadOf(job: TransactionInfo): TransactionJob {
  return { halfOffset: job.halfOffset, checks: job.checks };
}

/** A transaction this run ended: `committedQueueId` when its commit was appended now. */
function endedNow(msgId: string, resolution: TransactionResolution, committedQueueId: number | undefined, stored: PutOk | undefined): TransactionEnded {
  const committed = committedQueueId !== undefined && stored !== undefined ? { queueId: committedQueueId, queueOffset: stored.queueOffset, physicalOffset: stored.physicalOffset } : undefined;
  return { msgId, resolution, already: false, committed };
}

/** The half offset a transaction id names (its offsetMsgId's offset part); TRANSACTION_NOT_FOUND when it is no such id. */
export function halfOffsetOf(transactionId: string): PhysicalOffset {
  try {
    return decodeOffsetMsgId(transactionId).physicalOffset;
  } catch (error) {
    throw new MqError("TRANSACTION_NOT_FOUND", { id: transactionId, reason: (error as Error).message });
  }
}

/** The state record of an outcome: "commit <offset>" or "rollback <offset>", keyed by the offset in hex. */
function stateRecord(halfOffset: number, resolution: TransactionResolution): PutMessageInput {
  const body = encoder.encode(`${resolution} ${halfOffset}`);
  if (body.byteLength > transactionStateRecordBodyBytesMax) throw new MqError("INTERNAL", { reason: `a transaction state record is ${body.byteLength} bytes, limit is ${transactionStateRecordBodyBytesMax}` });
  return { topic: systemTopics.transactionOperations, queueId: 0, body, tags: resolution, keys: [transactionJobId(halfOffset)] };
}

function stateOfRecord(body: Uint8Array): TransactionResolution | undefined {
  const text = decoder.decode(body);
  if (text.startsWith("commit ")) return "commit";
  if (text.startsWith("rollback ")) return "rollback";
  return undefined;
}
