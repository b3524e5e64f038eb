/**
 * Limits of the REST API, each a named constant with its unit last. They live here rather than
 * in `src/common/limits.ts` only because another engineer owns that file (as protocol/limits.ts
 * does); relations with the message limits are asserted when this module loads.
 */

import { KiB, MiB, batchBytesMax, messageBodyBytesMax } from "../common/limits.ts";

/**
 * Largest request body. A largest message sent as base64 (4/3 of its bytes) plus its JSON must
 * fit; anything bigger is refused before it is read (413 REQUEST_TOO_LARGE).
 */
export const httpBodyBytesMax = 8 * MiB;
/** Messages one browse, query or receive may return (JSON costs far more per message than a pull). */
export const httpMessagesMax = 256;
export const httpBrowseDefault = 32;
/** Messages one browse of a queue may return: the console's page of 1,000 rows in one request. */
export const httpBrowseMessagesMax = 1_000;
/** Audit entries kept in memory (the oldest leave first). */
export const auditEntriesMax = 10_000;
/** Characters of a request body kept in its audit entry. */
export const auditBodyCharsMax = 2_048;
/** Audit entries one GET /audit returns. */
export const auditPageMax = 1_000;
/** The time series behind the console's charts: one sample a second, the last hour kept. */
export const metricsSampleIntervalMs = 1_000;
export const metricsSamplesMax = 3_600;
/** Per-topic rates are taken over this window (a snapshot of per-topic totals every tenth of it). */
export const topicRateWindowMs = 60_000;
export const httpReceiveDefault = 16;
/** Receipt handles one ack or nack may carry. */
export const receiptHandlesMax = 1_024;
export const receiptHandleLengthMax = 512;
/** RocketMQ 5's default invisible time for a popped message. */
export const invisibleMsDefault = 30_000;
export const invisibleMsMax = 12 * 60 * 60 * 1000;
export const receiveWaitMsMax = 30_000;
export const shardingKeyLengthMax = 255;

function assertRelation(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`Limits are inconsistent: expected ${relation}`);
}

assertRelation(httpBodyBytesMax >= Math.ceil((messageBodyBytesMax * 4) / 3) + 64 * KiB, "a request to hold one largest message as base64");
assertRelation(httpBodyBytesMax >= batchBytesMax, "a request to hold one largest batch");
