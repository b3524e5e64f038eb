/**
 * Transactions as Admin shows them (issue 12): the pending or exhausted half messages of every
 * broker merged into one page, oldest first, and the answer of ending one by id. An operator
 * uses it to resolve what a dead producer left: `Admin.listTransactions`, then
 * `commitTransaction` / `rollbackTransaction`.
 */

import { transactionListPageDefault } from "../common/limits.ts";
import type { EndTransactionResult, TransactionListing, TransactionView } from "../protocol/responses.ts";

export type { EndTransactionResult, TransactionListing, TransactionView } from "../protocol/responses.ts";

export type TransactionListState = "pending" | "exhausted";

export interface TransactionListOptions {
  /** "pending" (default): waiting for their outcome or next check-back; "exhausted": checked transactionCheckMax times. */
  readonly state?: TransactionListState;
  /** At most this many (default 100, at most 1,000). */
  readonly limit?: number;
  /** The page after this transaction id (a listing's `next`). */
  readonly after?: string;
}

export const transactionPageDefault = transactionListPageDefault;

/** Several brokers' pages as one: oldest first, `limit` long, `next` when any broker had more. */
export function mergeTransactionListings(listings: readonly TransactionListing[], limit: number): TransactionListing {
  if (listings.length === 1) return listings[0]!;
  const all: TransactionView[] = listings.flatMap((listing) => listing.transactions).sort((a, b) => a.storedMs - b.storedMs || a.transactionId.localeCompare(b.transactionId));
  const page = all.slice(0, limit);
  const more = all.length > limit || listings.some((listing) => listing.next !== undefined);
  const total = listings.reduce((sum, listing) => sum + listing.total, 0);
  return { transactions: page, total, ...(more && page.length > 0 ? { next: page[page.length - 1]!.transactionId } : {}) };
}

/** What ending a transaction by id came to, as the CLI prints it. */
export function describeEnd(result: EndTransactionResult): string {
  const state = result.state === "committed" ? "committed" : result.state === "rolled_back" ? "rolled back" : "pending";
  if (result.already) return `Transaction ${result.transactionId} was already ${state}`;
  const where = result.committed === undefined ? "" : ` (queue ${result.committed.queueId}, offset ${result.committed.queueOffset}, offsetMsgId ${result.committed.offsetMsgId})`;
  return `Transaction ${result.transactionId} ${state}${where}`;
}
