/**
 * The scheduler jobs of transactions (issue 12): the contract between the code that schedules
 * check-backs (transactions.ts, transaction-check.ts) and the code that lists and ends them.
 *
 *   kind     "transaction.check": a half message waiting for its outcome, due at its next check-back;
 *            "transaction.exhausted": one checked transactionCheckMax times without an answer,
 *            kept until an operator commits or rolls it back; due every
 *            transactionExhaustedRenewMs only to be renewed (a timer must stay within what
 *            setTimeout can wait: a later one fires at once)
 *   id       the half's CommitLog offset, 16 hex digits: stable whatever address the broker has
 *   payload  TransactionJob below: the half's offset and the check count, never the body (group,
 *            topic and msgId are read from the half message when the broker starts)
 *
 * Recording a check is one journal write (the old job closed, the next opened with checks + 1),
 * compacted away with the rest of the journal: the half message itself is never written again.
 */

import { offsetHex } from "../common/ids.ts";
import type { PhysicalOffset } from "../common/offsets.ts";

export const transactionCheckJobKind = "transaction.check";
export const transactionExhaustedJobKind = "transaction.exhausted";

/** The journal's payload: the half's offset and its check count; nothing else is written per check. */
export interface TransactionJob {
  /** Where the half message is in the CommitLog. */
  readonly halfOffset: PhysicalOffset;
  /** Check-backs a live producer received so far. */
  readonly checks: number;
}

/** What the broker keeps in memory of a transaction: the job, and what it read from the half message. */
export interface TransactionInfo extends TransactionJob {
  readonly msgId: string;
  readonly producerGroup: string;
  /** The topic it is committed into. */
  readonly topic: string;
  /** When the half was stored, ms since the epoch (its age). */
  readonly storedMs: number;
}

/** A job's id: the half's offset in 16 hex digits. */
export function transactionJobId(halfOffset: number): string {
  return offsetHex(halfOffset as PhysicalOffset);
}
