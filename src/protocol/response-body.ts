/**
 * Where a response's result lives. responses.ts results travel as header fields — except when
 * they outgrow the 64 KiB header (a SEND_BATCH of thousands, a broker with thousands of topics
 * or queues). Then the sender moves the whole result into the body as one msgpack map and sets
 * the header field `resultInBody: true`; the body is otherwise empty for these responses.
 * `readResult` gives the result either way, so a receiver never cares which it got.
 */

import { Packr, Unpackr } from "msgpackr";
import { MqError } from "../common/errors.ts";
import type { Frame, HeaderFields } from "./frame.ts";
import { frameHeaderBytesMax } from "./limits.ts";

export const resultInBodyField = "resultInBody";

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
/** Room left in the header for code, opaque, flags and the marker. */
const headerReserveBytes = 256;

/**
 * An upper bound of `value`'s msgpack size, found without encoding it (strings count 3 bytes a
 * UTF-16 unit, numbers 9): most results are far below the limit and are then packed only once,
 * by the frame encoder. Stops counting once past `limit`.
 */
export function msgpackBytesUpperBound(value: unknown, limit: number): number {
  if (typeof value === "string") return 5 + 3 * value.length;
  if (typeof value === "number" || typeof value === "bigint") return 9;
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (value instanceof Uint8Array) return 5 + value.byteLength;
  let total = 5;
  if (Array.isArray(value)) {
    for (const item of value) {
      total += msgpackBytesUpperBound(item, limit);
      if (total > limit) return total;
    }
    return total;
  }
  if (typeof value === "object") {
    for (const key in value as Record<string, unknown>) {
      total += 5 + 3 * key.length + msgpackBytesUpperBound((value as Record<string, unknown>)[key], limit);
      if (total > limit) return total;
    }
    return total;
  }
  return limit + 1; // unknown kinds: measure for real
}

/** A reply carrying `result` in the header, or in the body when the header cannot hold it. */
export function resultReply(result: HeaderFields): { fields: HeaderFields; body?: Uint8Array } {
  const room = frameHeaderBytesMax - headerReserveBytes;
  if (msgpackBytesUpperBound(result, room) <= room) return { fields: result };
  const packed = packr.pack(result);
  if (packed.byteLength + headerReserveBytes <= frameHeaderBytesMax) return { fields: result };
  return { fields: { [resultInBodyField]: true }, body: packed.slice() };
}

/** The result of a response whose data lives in fields: from the header or, if moved, the body. */
export function readResult(frame: Pick<Frame, "header" | "body">): Record<string, unknown> {
  if (frame.header[resultInBodyField] !== true) return frame.header as Record<string, unknown>;
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(frame.body);
  } catch (error) {
    throw new MqError("MALFORMED_FRAME", { reason: `response result in body is not msgpack: ${(error as Error).message}` });
  }
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) throw new MqError("MALFORMED_FRAME", { reason: "response result in body is not a map" });
  return decoded as Record<string, unknown>;
}
