/**
 * Scheduled messages as the SDK's Admin sees them across brokers: several brokers' listings as
 * one (the same query with the same cursor went to each, so their first pages merge into the
 * cluster's first page), and several brokers' answers to one cancel as one.
 */

import { type CancelOutcome, type ScheduledListing } from "../protocol/responses.ts";

export type { CancelOutcome, ScheduledListing, ScheduledListOptions, ScheduledMessageView } from "../protocol/responses.ts";


export const scheduledPageDefault = 100;

export function mergeScheduledListings(listings: readonly ScheduledListing[], limit: number): ScheduledListing {
  if (listings.length === 1) return listings[0]!;
  const counts = new Map<number, number>();
  for (const listing of listings) for (const bucket of listing.buckets) counts.set(bucket.startMs, (counts.get(bucket.startMs) ?? 0) + bucket.count);
  const all = listings.flatMap((listing) => listing.messages).sort((a, b) => a.deliverAtMs - b.deliverAtMs || (a.msgId < b.msgId ? -1 : a.msgId > b.msgId ? 1 : 0));
  const messages = all.slice(0, limit);
  const last = messages.at(-1);
  const more = all.length > limit || listings.some((listing) => listing.next !== undefined);
  return {
    total: listings.reduce((sum, listing) => sum + listing.total, 0),
    bucketMs: listings[0]!.bucketMs,
    buckets: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count })),
    bucketsTruncated: listings.some((listing) => listing.bucketsTruncated),
    messages,
    ...(more && last !== undefined ? { next: { deliverAtMs: last.deliverAtMs, msgId: last.msgId } } : {}),
  };
}

/** One broker cancelled it: cancelled; else one had delivered it: already-delivered; else unknown. */
export function mergeCancelOutcomes(outcomes: readonly CancelOutcome[]): CancelOutcome {
  if (outcomes.includes("cancelled")) return "cancelled";
  if (outcomes.includes("already-delivered")) return "already-delivered";
  return "unknown";
}
