/**
 * Limits of the wire layer, each a named constant with its unit last. They live here rather
 * than in `src/common/limits.ts` only because another engineer owns that file; they are meant
 * to move there. Relations with the message limits are asserted when this module loads.
 */

import { KiB, MiB, batchBytesMax, consumeErrorTextBytesMax, messageBodyBytesMax, messagePropertiesBytesMax } from "../common/limits.ts";

/** Largest frame on the wire, counting every byte including the leading u32 length. */
export const frameBytesMax = 16 * MiB;
/** Largest msgpack header. Structured payloads that grow with the cluster travel in the body. */
export const frameHeaderBytesMax = 64 * KiB;
/** The fixed prefix: u32 total length + u32 header length. */
export const framePrefixBytes = 8;
/** Largest body a frame can carry once its prefix and a largest header are accounted for. */
export const frameBodyBytesMax = frameBytesMax - framePrefixBytes - frameHeaderBytesMax;

/** Requests a connection may have in flight (awaiting a response) at once, in each direction. */
export const pendingRequestsPerConnectionMax = 4096;
export const connectionsMaxDefault = 10_000;
export const requestTimeoutMsDefault = 3_000;
export const connectTimeoutMsDefault = 3_000;
/** A server connection with no traffic and nothing in flight for this long is closed. */
export const idleTimeoutMsDefault = 120_000;
/**
 * Output a connection may hold unsent before it stops reading from its peer: a peer that never
 * reads its responses then stops being served instead of growing our memory without bound.
 */
export const outputBytesHighWater = 8 * MiB;
/** Reading resumes once pending output falls to this level (hysteresis avoids flapping). */
export const outputBytesLowWater = 1 * MiB;
/** Frames smaller than this are copied into one coalesced write; larger bodies go as is. */
export const coalesceChunkBytesMax = 64 * KiB;
/** How long a connection that must close still tries to deliver its last error frame. */
export const closeGraceMs = 1_000;

function assertRelation(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`Limits are inconsistent: expected ${relation}`);
}

assertRelation(frameHeaderBytesMax >= messagePropertiesBytesMax + 4 * KiB, "a header to hold the largest properties");
assertRelation(frameBodyBytesMax >= messageBodyBytesMax, "a frame body to hold the largest message");
assertRelation(frameBodyBytesMax >= batchBytesMax, "a frame body to hold the largest batch");
assertRelation(frameBytesMax <= 2 ** 31 - 1, "frame length to fit a positive i32 (portable clients)");
assertRelation(outputBytesLowWater < outputBytesHighWater, "the low water mark below the high one");
assertRelation(outputBytesHighWater >= frameBytesMax / 2, "pending output to hold a large response");

// Request fields (bounds checked by the zod schemas in `schemas.ts`)
export const longPollMsMax = 30_000;
export const longPollMsDefault = 15_000;
export const messageKeysMax = 32;
export const messageKeyLengthMax = 255;
export const propertyNameLengthMax = 255;
export const clientIdLengthMax = 255;
export const addressLengthMax = 255;
export const delayLevelMax = 64;
export const reconsumeTimesMax = 64;
export const invisibleTimeMsMax = 12 * 60 * 60 * 1000;
export const filterExpressionLengthMax = 4 * KiB;
/** Queues one LOCK/UNLOCK_BATCH_MQ may name; a client holding more sends several requests. */
export const lockBatchQueuesMax = 256;
export const heartbeatGroupsMax = 64;
export const subscriptionsPerGroupMax = 64;
export const queryResultsMax = 64;
/** Failed messages one CONSUMER_SEND_BACK_BATCH may hand back; a client with more sends several requests. */
export const sendBackBatchMax = 32;

assertRelation(
  sendBackBatchMax * (consumeErrorTextBytesMax + 512) + 1 * KiB <= frameHeaderBytesMax,
  "a largest send-back batch (each entry with a largest error text) to fit the header",
);
assertRelation(
  lockBatchQueuesMax * (127 + 16) + 1 * KiB <= frameHeaderBytesMax,
  "a largest lock batch to fit the header",
);
