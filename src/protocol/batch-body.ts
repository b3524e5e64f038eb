/**
 * The body of SEND_BATCH: the messages of one topic, each as
 *   u32 entryLength | u32 headerLength | msgpack header | message body
 * (big-endian; entryLength counts everything after itself). The header is a plain map:
 * `msgId` (32 hex, required), `tags`, `keys` (array), `properties` (map), `flag`, `deliverAtMs`,
 * `delayMs`, `delayLevel`, `dedupKey`. Bodies are carried raw, never re-encoded. One request of at most batchBytesMax bytes.
 */

import { Packr, Unpackr } from "msgpackr";
import { MqError } from "../common/errors.ts";
import { batchBytesMax, batchMessagesMax } from "../common/limits.ts";

export interface BatchEntry {
  msgId: string;
  tags?: string;
  keys?: string[];
  properties?: Record<string, string>;
  flag?: number;
  /** A delivery time, a broker-side delay or a delay level, as SEND_MESSAGE's fields. */
  deliverAtMs?: number;
  delayMs?: number;
  delayLevel?: number;
  /** What the dedup window knows the message by instead of its msgId (SEND_MESSAGE's dedupKey). */
  dedupKey?: string;
  body: Uint8Array;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encodeBatchBody(entries: readonly BatchEntry[]): Uint8Array {
  return encodeEntries(entries, false) ?? encodeEntries(entries, true)!;
}

/**
 * A plain message's header (only its msgId) is written straight into the output: no buffer of
 * its own per message. Others are packed here, and copied (pack() reuses its buffer). Without
 * `checkAscii`, a msgId of 32 characters is taken to be ASCII (what every generated one is) and
 * checked while it is copied: undefined when one was not, and the caller encodes again with it.
 */
function encodeEntries(entries: readonly BatchEntry[], checkAscii: boolean): Uint8Array | undefined {
  const headers = new Array<Uint8Array | undefined>(entries.length);
  let total = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const inline = isPlain(entry) && (checkAscii ? isAsciiMsgId(entry.msgId) : entry.msgId.length === msgIdBytes);
    const header = inline ? undefined : timedHeader(entry) ?? packr.pack(headerMap(entry)).slice();
    headers[index] = header;
    total += 8 + (header?.length ?? msgIdOnlyHeaderBytes) + entry.body.length;
  }
  if (total > batchBytesMax) throw new MqError("BATCH_TOO_LARGE", { bytes: total, messages: entries.length, limit: batchBytesMax });
  const out = new Uint8Array(total);
  let position = 0;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const header = headers[index];
    const headerLength = header?.length ?? msgIdOnlyHeaderBytes;
    // Byte by byte: a DataView needs `out.buffer`, whose first access costs more than the copy.
    writeUint32(out, position, 4 + headerLength + entry.body.length);
    writeUint32(out, position + 4, headerLength);
    if (header === undefined) {
      if (!writeMsgIdOnlyHeader(out, position + 8, entry.msgId)) return undefined;
    } else out.set(header, position + 8);
    out.set(entry.body, position + 8 + headerLength);
    position += 8 + headerLength + entry.body.length;
  }
  return out;
}

function isPlain(entry: BatchEntry): boolean {
  return entry.tags === undefined && (entry.keys === undefined || entry.keys.length === 0) && entry.properties === undefined && !entry.flag && entry.deliverAtMs === undefined && entry.delayMs === undefined && !entry.delayLevel && entry.dedupKey === undefined;
}

function headerMap(entry: BatchEntry): Record<string, unknown> {
  const header: Record<string, unknown> = { msgId: entry.msgId };
  if (entry.tags !== undefined) header.tags = entry.tags;
  if (entry.keys !== undefined && entry.keys.length > 0) header.keys = entry.keys;
  if (entry.properties !== undefined) header.properties = entry.properties;
  if (entry.flag !== undefined && entry.flag !== 0) header.flag = entry.flag;
  if (entry.deliverAtMs !== undefined) header.deliverAtMs = entry.deliverAtMs;
  if (entry.delayMs !== undefined) header.delayMs = entry.delayMs;
  if (entry.delayLevel !== undefined && entry.delayLevel !== 0) header.delayLevel = entry.delayLevel;
  if (entry.dedupKey !== undefined) header.dedupKey = entry.dedupKey;
  return header;
}

function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/**
 * Splits a batch body without trusting it: every length is bounded before use. Headers come
 * back unvalidated (the caller validates their fields); bodies are views into `body`.
 */
export function decodeBatchBody(body: Uint8Array, expectedCount: number): { header: unknown; body: Uint8Array }[] {
  if (body.length > batchBytesMax) throw new MqError("BATCH_TOO_LARGE", { bytes: body.length, messages: expectedCount, limit: batchBytesMax });
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const entries: { header: unknown; body: Uint8Array }[] = [];
  let position = 0;
  while (position < body.length) {
    if (entries.length >= Math.min(expectedCount, batchMessagesMax)) throw invalid(`holds more than the ${expectedCount} messages announced`);
    if (position + 8 > body.length) throw invalid(`entry ${entries.length} is cut short`);
    const entryLength = view.getUint32(position);
    const headerLength = view.getUint32(position + 4);
    if (entryLength < 4 || position + 4 + entryLength > body.length) throw invalid(`entry ${entries.length} claims ${entryLength} bytes`);
    if (headerLength > entryLength - 4) throw invalid(`entry ${entries.length} header claims ${headerLength} bytes`);
    let header: unknown = msgIdOnlyHeader(body, position + 8, headerLength) ?? readTimedHeader(body, position + 8, headerLength);
    if (header === undefined) {
      try {
        header = unpackr.unpack(body.subarray(position + 8, position + 8 + headerLength));
      } catch (error) {
        throw invalid(`entry ${entries.length} header is not msgpack: ${(error as Error).message}`);
      }
    }
    entries.push({ header, body: body.subarray(position + 8 + headerLength, position + 4 + entryLength) });
    position += 4 + entryLength;
  }
  if (entries.length !== expectedCount) throw invalid(`holds ${entries.length} messages, ${expectedCount} announced`);
  return entries;
}

/** `msgId`, then a str8 of 32 bytes, after a map header of one entry (fixmap, or map16 as msgpackr writes it). */
const msgIdKeyAndLength = Uint8Array.of(0xa5, 0x6d, 0x73, 0x67, 0x49, 0x64, 0xd9, 0x20);
const msgIdBytes = 32;
/** ASCII bytes only (checked first), so latin1 gives the same text as UTF-8, in one call. */
const asciiDecoder = new TextDecoder("latin1");

/** `{ msgId }` as a fixmap: map header, key and str8 length, then the 32 ASCII characters. */
const msgIdOnlyHeaderBytes = 1 + msgIdKeyAndLength.length + msgIdBytes;

function isAsciiMsgId(msgId: string): boolean {
  if (msgId.length !== msgIdBytes) return false;
  for (let index = 0; index < msgIdBytes; index++) if (msgId.charCodeAt(index) >= 0x80) return false;
  return true;
}

/** Writes `{ msgId }` (standard msgpack, a fixmap) at `start` for a msgId of 32 characters; false if one was not ASCII. */
function writeMsgIdOnlyHeader(out: Uint8Array, start: number, msgId: string): boolean {
  out[start] = 0x81;
  out.set(msgIdKeyAndLength, start + 1);
  const idStart = start + 1 + msgIdKeyAndLength.length;
  let codes = 0;
  for (let index = 0; index < msgIdBytes; index++) {
    const code = msgId.charCodeAt(index);
    codes |= code;
    out[idStart + index] = code;
  }
  return codes < 0x80;
}

/**
 * The header of a plain message in a producer's automatic batch holds only its msgId: read
 * without msgpack (a tenth of the cost), the same map msgpack would give. Any other header
 * returns undefined and is unpacked.
 */
function msgIdOnlyHeader(body: Uint8Array, start: number, length: number): { msgId: string } | undefined {
  const mapHeaderBytes = length - msgIdKeyAndLength.length - msgIdBytes;
  if (mapHeaderBytes === 1) {
    if (body[start] !== 0x81) return undefined;
  } else if (mapHeaderBytes === 3) {
    if (body[start] !== 0xde || body[start + 1] !== 0 || body[start + 2] !== 1) return undefined;
  } else return undefined;
  const keyStart = start + mapHeaderBytes;
  for (let index = 0; index < msgIdKeyAndLength.length; index++) {
    if (body[keyStart + index] !== msgIdKeyAndLength[index]) return undefined;
  }
  const idStart = keyStart + msgIdKeyAndLength.length;
  for (let index = idStart; index < idStart + msgIdBytes; index++) {
    if (body[index]! >= 0x80) return undefined; // not ASCII: let msgpack decode the UTF-8
  }
  return { msgId: asciiDecoder.decode(body.subarray(idStart, idStart + msgIdBytes)) };
}

/**
 * A scheduled message in a producer's automatic batch: its msgId and one delivery field
 * (deliverAtMs, delayMs or delayLevel), a non-negative integer. Written and read without msgpack
 * as the same map msgpack makes (fixmap of two; the number as msgpackr writes it: a positive
 * fixint, uint 8/16/32, or a float64 past 32 bits), so either side may be msgpackr.
 */
const timedFields = ["deliverAtMs", "delayMs", "delayLevel"] as const;
type TimedField = (typeof timedFields)[number];
/** Each field's key as a msgpack fixstr. */
const timedKeys = timedFields.map((name) => Uint8Array.of(0xa0 | name.length, ...Array.from(name, (char) => char.charCodeAt(0))));
const timedNumberBytesMax = 9;

function timedHeader(entry: BatchEntry): Uint8Array | undefined {
  if (entry.tags !== undefined || (entry.keys !== undefined && entry.keys.length > 0) || entry.properties !== undefined || entry.flag || entry.dedupKey !== undefined || !isAsciiMsgId(entry.msgId)) return undefined;
  const level = entry.delayLevel === 0 ? undefined : entry.delayLevel;
  const given = (entry.deliverAtMs === undefined ? 0 : 1) + (entry.delayMs === undefined ? 0 : 1) + (level === undefined ? 0 : 1);
  if (given !== 1) return undefined;
  const field = entry.deliverAtMs !== undefined ? 0 : entry.delayMs !== undefined ? 1 : 2;
  const value = entry.deliverAtMs ?? entry.delayMs ?? level!;
  if (!Number.isSafeInteger(value) || value < 0) return undefined;
  const key = timedKeys[field]!;
  const out = new Uint8Array(msgIdOnlyHeaderBytes + key.length + timedNumberBytesMax);
  writeMsgIdOnlyHeader(out, 0, entry.msgId);
  out[0] = 0x82;
  out.set(key, msgIdOnlyHeaderBytes);
  const length = msgIdOnlyHeaderBytes + key.length + writeUnsigned(out, msgIdOnlyHeaderBytes + key.length, value);
  return out.subarray(0, length);
}

/** A non-negative safe integer as msgpackr writes it; the bytes written. */
function writeUnsigned(out: Uint8Array, at: number, value: number): number {
  if (value <= 0x7f) {
    out[at] = value;
    return 1;
  }
  if (value <= 0xff) {
    out[at] = 0xcc;
    out[at + 1] = value;
    return 2;
  }
  if (value <= 0xffff) {
    out[at] = 0xcd;
    out[at + 1] = value >>> 8;
    out[at + 2] = value & 0xff;
    return 3;
  }
  if (value <= 0xffffffff) {
    out[at] = 0xce;
    writeUint32(out, at + 1, value);
    return 5;
  }
  out[at] = 0xcb;
  float64View.setFloat64(0, value);
  out.set(float64Bytes, at + 1);
  return 9;
}

/** Eight bytes to turn a float64 into big-endian bytes and back (no DataView per header). */
const float64Bytes = new Uint8Array(8);
const float64View = new DataView(float64Bytes.buffer);

/** The header `timedHeader` writes, read back; anything else (or a number in another form) is undefined and left to msgpack. */
function readTimedHeader(body: Uint8Array, start: number, length: number): Partial<Record<TimedField, number>> & { msgId: string } | undefined {
  if (body[start] !== 0x82 || length < msgIdOnlyHeaderBytes + 2) return undefined;
  const idStart = start + 1 + msgIdKeyAndLength.length;
  for (let index = 0; index < msgIdKeyAndLength.length; index++) if (body[start + 1 + index] !== msgIdKeyAndLength[index]) return undefined;
  for (let index = idStart; index < idStart + msgIdBytes; index++) if (body[index]! >= 0x80) return undefined;
  let at = start + msgIdOnlyHeaderBytes;
  let field = -1;
  for (let candidate = 0; candidate < timedKeys.length && field < 0; candidate++) {
    const key = timedKeys[candidate]!;
    if (at + key.length > start + length) continue;
    let same = true;
    for (let index = 0; index < key.length && same; index++) same = body[at + index] === key[index];
    if (same) field = candidate;
  }
  if (field < 0) return undefined;
  at += timedKeys[field]!.length;
  const lead = body[at]!;
  const size = lead <= 0x7f ? 1 : lead === 0xcc ? 2 : lead === 0xcd ? 3 : lead === 0xce ? 5 : lead === 0xcb ? 9 : 0;
  if (size === 0 || at + size !== start + length) return undefined;
  let value: number;
  if (size === 1) value = lead;
  else if (size === 9) {
    float64Bytes.set(body.subarray(at + 1, at + 9));
    value = float64View.getFloat64(0);
  } else {
    value = 0;
    for (let index = at + 1; index < at + size; index++) value = value * 256 + body[index]!;
  }
  if (!Number.isSafeInteger(value) || value < 0) return undefined;
  const msgId = asciiDecoder.decode(body.subarray(idStart, idStart + msgIdBytes));
  if (field === 0) return { msgId, deliverAtMs: value };
  if (field === 1) return { msgId, delayMs: value };
  return { msgId, delayLevel: value };
}

function invalid(reason: string): MqError {
  return new MqError("INVALID_FIELD", { field: "body", reason: `batch ${reason}` });
}
