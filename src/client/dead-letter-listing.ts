/**
 * Dead letters as the SDK's Admin sees them: the options of a listing and a redrive, and the
 * cursor of a listing across brokers. Brokers are read one after the other in name order, so a
 * cursor names the broker it stopped on and that broker's queue position
 * (`[broker@]queueId.queueOffset`, an opaque string to callers).
 */

import { MqError } from "../common/errors.ts";

export type { DeadLetterView, RedriveResult } from "../protocol/responses.ts";

export interface DeadLetterListOptions {
  /** Entries that entered the DLQ at or after (ms since the epoch). */
  readonly fromMs?: number;
  /** ...and at or before (ms since the epoch). */
  readonly toMs?: number;
  /** Only the entry with this id (offsetMsgId), msgId or origin msgId. */
  readonly msgId?: string;
  /** The `next` of the previous page. */
  readonly after?: string;
  /** Entries per page (default 100, at most 1,000). */
  readonly limit?: number;
}

export interface RedriveOptions {
  /** Entries by id (offsetMsgId), msgId or origin msgId. */
  readonly ids?: readonly string[];
  /** Entries that entered the DLQ within [fromMs, toMs]. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Every entry (needed when neither ids nor a time range is given). */
  readonly all?: boolean;
  /** Resend to this topic instead of each entry's origin topic. */
  readonly toTopic?: string;
  /** Messages per second at most (default: as fast as the broker stores them). */
  readonly ratePerSecond?: number;
  /** Resend entries a redrive already resent. */
  readonly force?: boolean;
}

export interface DeadLetterCursor {
  readonly brokerName?: string;
  readonly queueId: number;
  readonly queueOffset: number;
}

export function formatDeadLetterCursor(cursor: DeadLetterCursor): string {
  return `${cursor.brokerName === undefined ? "" : `${cursor.brokerName}@`}${cursor.queueId}.${cursor.queueOffset}`;
}

export function parseDeadLetterCursor(text: string): DeadLetterCursor {
  const at = text.lastIndexOf("@");
  const position = /^(\d+)\.(\d+)$/.exec(text.slice(at + 1));
  if (position === null) throw new MqError("INVALID_FIELD", { field: "after", reason: `must be the "next" of a previous page, got "${text}"` });
  return { ...(at < 0 ? {} : { brokerName: text.slice(0, at) }), queueId: Number(position[1]), queueOffset: Number(position[2]) };
}
