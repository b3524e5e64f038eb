/**
 * What a writer hands the store, and what the store answers. The hot path returns statuses,
 * not exceptions; `putStatusError` turns a failed status into the catalogue's error.
 */

import { unreachable } from "../common/assert.ts";
import { MqError } from "../common/errors.ts";
import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";

export interface PutMessageInput {
  topic: string;
  queueId: number;
  body: Uint8Array;
  tags?: string;
  keys?: readonly string[];
  /** The producer's msgId (UNIQ_KEY property), indexed for lookup. */
  msgId?: string;
  /**
   * User and system properties. With `propertiesBytes` they are not encoded again, but must
   * still be given: dispatch reads the system properties (TIMER_DELIVER_MS, DELIVER_AT) here.
   */
  properties?: Record<string, string>;
  /** Properties already encoded (as message-properties.ts), consistent with properties/tags/keys/msgId. */
  propertiesBytes?: Uint8Array;
  flag?: number;
  sysFlag?: number;
  bornTimestampMs?: number;
  bornHost?: { ip: number; port: number };
  reconsumeTimes?: number;
  preparedTransactionOffset?: number;
}

export type PutResult =
  | { status: "ok"; physicalOffset: PhysicalOffset; queueOffset: QueueOffset; size: number; storeTimestampMs: number }
  | { status: "topic_invalid"; topic: string; reason: string }
  | { status: "message_too_large"; bytes: number; limit: number }
  | { status: "properties_too_large"; bytes: number; limit: number }
  | { status: "property_invalid"; name: string }
  | { status: "disk_full"; usedRatio: number; limitRatio: number }
  | { status: "store_closed" }
  | { status: "io_error"; error: MqError };

export type PutOk = Extract<PutResult, { status: "ok" }>;
export type PutFailure = Exclude<PutResult, PutOk>;

/** A batch is stored whole or not at all: one result per entry, or one failure for all. */
export type PutBatchResult = { status: "ok"; results: PutOk[] } | PutFailure;

export function putStatusError(result: PutFailure): MqError {
  switch (result.status) {
    case "topic_invalid":
      return new MqError("TOPIC_INVALID", { topic: result.topic, reason: result.reason });
    case "message_too_large":
      return new MqError("MESSAGE_TOO_LARGE", { bytes: result.bytes, limit: result.limit });
    case "properties_too_large":
      return new MqError("PROPERTIES_TOO_LARGE", { bytes: result.bytes, limit: result.limit });
    case "property_invalid":
      return new MqError("PROPERTY_INVALID", { name: result.name, reason: "names and values must not contain \\u0001 or \\u0002, and names must not be empty" });
    case "disk_full":
      return new MqError("STORE_DISK_FULL", { usedPercent: Math.round(result.usedRatio * 100), limitPercent: Math.round(result.limitRatio * 100) });
    case "store_closed":
      return new MqError("STORE_CLOSED", { state: "closed" });
    case "io_error":
      return result.error;
    default:
      return unreachable(result);
  }
}
