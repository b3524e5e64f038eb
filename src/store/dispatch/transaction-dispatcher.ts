/**
 * The transaction dispatcher: the "transaction" slot of the dispatch pipeline. Every half
 * message (a record whose sysFlag says prepared, in RMQ_SYS_TRANS_HALF_TOPIC) is handed, as a
 * `PreparedRecord`, to the sink the broker attaches — which makes it a check-back job. Live
 * appends and recovery replay both come through here.
 *
 * Before a sink is attached (the store recovers before the broker starts), half messages are
 * remembered by offset only, and forgotten again when replay meets their outcome:
 *   commit    the committed message itself: sysFlag commit, preparedTransactionOffset = the half's
 *             CommitLog offset (a commit writes nothing else);
 *   rollback  a state record in RMQ_SYS_TRANS_OP_HALF_TOPIC whose key is the half's CommitLog
 *             offset (16 hex digits); logs written before commits stopped writing one hold
 *             such records for commits too, and they count the same.
 * What is left was never ended, and `attach` hands it to the sink. So a half whose check job was
 * lost with a torn journal tail is checked again, and an ended one is not.
 *
 * Checkpoint. The store's checkpoint moves past a half only after `sync` has made its job
 * durable: a job lost with the journal's tail is always in the part of the log replay reads.
 *
 * Retention. A pending half needs its record until it is ended: `keepFrom` names the lowest
 * CommitLog offset to keep (the sink's earliest unresolved half).
 */

import { sysFlag } from "../../common/message-record.ts";
import { propertyNames } from "../../common/message-properties.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "../../common/offsets.ts";
import { systemTopics } from "../../common/system-topics.ts";
import type { DispatchRecord } from "./dispatch-record.ts";
import type { Dispatcher } from "./record-dispatch.ts";

/** A half message as its sink needs it. */
export interface PreparedRecord {
  readonly physicalOffset: PhysicalOffset;
  readonly msgId: string;
  readonly realTopic: string;
  readonly producerGroup: string;
  readonly storeTimestampMs: number;
  /** The message's own first check delay (CHECK_IMMUNITY_TIME_IN_SECONDS), ms; undefined: the broker's. */
  readonly checkImmunityMs: number | undefined;
}

export interface TransactionSink {
  /** Takes one half message; may throw a catalogue error, which undoes a live append. */
  prepared(record: PreparedRecord): void;
  /** The lowest CommitLog offset an unresolved half still needs; undefined: none. */
  keepFrom(): number | undefined;
  /** Makes the jobs it took durable: called before the store's checkpoint moves past their records. */
  sync(): void;
}

export class TransactionDispatcher implements Dispatcher {
  readonly accepts = "all";
  private sink: TransactionSink | undefined;
  /** Before attach: offsets of halves replay met and no state record ended. */
  private readonly replayed = new Set<number>();

  constructor(private readonly options: { readonly holdRetention: boolean }) {}

  dispatch(record: DispatchRecord): void {
    if (record.visibility === "prepared") {
      if (this.sink === undefined) this.replayed.add(record.physicalOffset);
      else {
        const prepared = preparedRecordOf(record);
        if (prepared !== undefined) this.sink.prepared(prepared);
      }
      return;
    }
    if (this.sink !== undefined || this.replayed.size === 0) return;
    const halfOffset = halfOffsetOfOutcome(record);
    if (halfOffset !== undefined) this.replayed.delete(halfOffset);
  }

  rollback(physicalOffset: PhysicalOffset): void {
    for (const offset of this.replayed) if (offset >= physicalOffset) this.replayed.delete(offset);
  }

  /** Attaches the sink, handing it first the halves replay left unended; returns how many. */
  attach(sink: TransactionSink, read: (physicalOffset: PhysicalOffset) => DispatchRecord | undefined): number {
    const offsets = [...this.replayed].sort((a, b) => a - b);
    this.replayed.clear();
    let handed = 0;
    for (const offset of offsets) {
      const record = read(toPhysicalOffset(offset));
      const prepared = record === undefined ? undefined : preparedRecordOf(record);
      if (prepared === undefined) continue;
      sink.prepared(prepared);
      handed += 1;
    }
    this.sink = sink;
    return handed;
  }

  sync(): void {
    this.sink?.sync();
  }

  keepFrom(): number | undefined {
    if (this.sink === undefined) return this.options.holdRetention ? 0 : undefined;
    return this.sink.keepFrom();
  }
}

/** The half fields of a prepared record; undefined for one that lacks them (not written by the broker). */
export function preparedRecordOf(record: DispatchRecord): PreparedRecord | undefined {
  const properties = record.properties;
  const msgId = record.msgId;
  if (properties === undefined || msgId === undefined) return undefined;
  const realTopic = properties[propertyNames.realTopic];
  const producerGroup = properties[propertyNames.producerGroup];
  if (realTopic === undefined || producerGroup === undefined) return undefined;
  const immunitySeconds = Number(properties[propertyNames.checkImmunitySeconds]);
  const checkImmunityMs = Number.isFinite(immunitySeconds) && immunitySeconds > 0 ? Math.round(immunitySeconds * 1_000) : undefined;
  return { physicalOffset: record.physicalOffset, msgId, realTopic, producerGroup, storeTimestampMs: record.storeTimestampMs, checkImmunityMs };
}

const stateKeyPattern = /^[0-9A-F]{16}$/;

/** The half whose outcome `record` is: a committed message names it, a state record keys it; undefined for any other record. */
export function halfOffsetOfOutcome(record: DispatchRecord): number | undefined {
  if ((record.sysFlag & sysFlag.transactionMask) === sysFlag.transactionCommit) return record.preparedTransactionOffset;
  return record.topic === systemTopics.transactionOperations ? halfOffsetOfStateRecord(record) : undefined;
}

/** The half a state record ends: its key is the half's CommitLog offset, 16 hex digits. */
export function halfOffsetOfStateRecord(record: DispatchRecord): number | undefined {
  const key = record.keys?.[0];
  if (key === undefined || !stateKeyPattern.test(key)) return undefined;
  return Number.parseInt(key, 16);
}
