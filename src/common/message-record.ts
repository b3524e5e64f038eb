/**
 * The CommitLog record: one stored message. Pulled messages travel to clients as these exact
 * bytes, so clients decode them too (src/protocol/README.md §7.2 documents it for them). Big-endian;
 * RocketMQ's fields, but its own layout (CRC first, magic "MQ1R", 1-byte topic length):
 *
 *   off size field
 *     0   4  crc32 of bytes [4, totalSize)       -- covers everything after itself
 *     4   4  totalSize
 *     8   4  magic (recordMagic; endOfFileMagic for the roll marker)
 *    12   4  queueId
 *    16   4  flag
 *    20   8  queueOffset                        -- index of the entry in its consume queue
 *    28   8  physicalOffset                     -- this record's position in the CommitLog
 *    36   4  sysFlag                            -- transaction type, batch
 *    40   8  bornTimestamp (ms)
 *    48   8  bornHost (ipv4, port)
 *    56   8  storeTimestamp (ms)
 *    64   8  storeHost (ipv4, port)
 *    72   4  reconsumeTimes
 *    76   8  preparedTransactionOffset
 *    84   4  bodyLength, then body
 *         1  topicLength, then topic (UTF-8)
 *         2  propertiesLength, then properties (UTF-8, see message-properties.ts)
 *
 * The end-of-file marker that pads a rolled file is `crc | totalSize = bytes left | endOfFileMagic`.
 */

import { assert } from "./assert.ts";
import { ipv4ToBytes } from "./ids.ts";
import { decodePropertiesText, propertyNames, splitKeys, type Properties } from "./message-properties.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "./offsets.ts";

export const recordMagic = 0x4d513152; // "MQ1R"
export const endOfFileMagic = 0x4d51454f; // "MQEO"
export const endOfFileMarkerBytes = 12;
export const recordFixedBytes = 91;
const bodyOffset = 88;

export const sysFlag = {
  transactionNone: 0,
  transactionPrepared: 1 << 2,
  transactionCommit: 2 << 2,
  transactionRollback: 3 << 2,
  transactionMask: 3 << 2,
  batch: 1 << 4,
} as const;

export interface HostAddress {
  ip: number; // ipv4 as a u32
  port: number;
}

/** What a writer supplies; the store assigns offsets and the store timestamp. */
export interface RecordInput {
  topicBytes: Uint8Array;
  queueId: number;
  flag: number;
  sysFlag: number;
  bornTimestampMs: number;
  bornHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Uint8Array;
  propertiesBytes: Uint8Array;
}

export interface RecordPlacement {
  queueOffset: number;
  physicalOffset: number;
  storeTimestampMs: number;
  storeHost: HostAddress;
}

export function recordBytes(input: Pick<RecordInput, "topicBytes" | "body" | "propertiesBytes">): number {
  return recordFixedBytes + input.body.length + input.topicBytes.length + input.propertiesBytes.length;
}

export function setUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 4294967296));
  view.setUint32(offset + 4, value >>> 0);
}

export function getUint64(view: DataView, offset: number): number {
  return view.getUint32(offset) * 4294967296 + view.getUint32(offset + 4);
}

/** Writes one record at `position`; the caller guarantees room. Returns its size. */
export function writeRecord(
  bytes: Uint8Array,
  view: DataView,
  position: number,
  input: RecordInput,
  placement: RecordPlacement,
): number {
  const totalSize = recordBytes(input);
  assert(input.topicBytes.length <= 255 && input.propertiesBytes.length <= 65_535, "record topic or properties exceed their length fields");
  view.setUint32(position + 4, totalSize);
  view.setUint32(position + 8, recordMagic);
  view.setUint32(position + 12, input.queueId);
  view.setUint32(position + 16, input.flag);
  setUint64(view, position + 20, placement.queueOffset);
  setUint64(view, position + 28, placement.physicalOffset);
  view.setUint32(position + 36, input.sysFlag);
  setUint64(view, position + 40, input.bornTimestampMs);
  view.setUint32(position + 48, input.bornHost.ip);
  view.setUint32(position + 52, input.bornHost.port);
  setUint64(view, position + 56, placement.storeTimestampMs);
  view.setUint32(position + 64, placement.storeHost.ip);
  view.setUint32(position + 68, placement.storeHost.port);
  view.setUint32(position + 72, input.reconsumeTimes);
  setUint64(view, position + 76, input.preparedTransactionOffset);
  view.setUint32(position + 84, input.body.length);
  let cursor = position + bodyOffset;
  bytes.set(input.body, cursor);
  cursor += input.body.length;
  view.setUint8(cursor, input.topicBytes.length);
  bytes.set(input.topicBytes, cursor + 1);
  cursor += 1 + input.topicBytes.length;
  view.setUint16(cursor, input.propertiesBytes.length);
  bytes.set(input.propertiesBytes, cursor + 2);
  view.setUint32(position, Bun.hash.crc32(bytes.subarray(position + 4, position + totalSize)));
  return totalSize;
}

export function writeEndOfFileMarker(bytes: Uint8Array, view: DataView, position: number, fileBytes: number): void {
  view.setUint32(position + 4, fileBytes - position);
  view.setUint32(position + 8, endOfFileMagic);
  view.setUint32(position, Bun.hash.crc32(bytes.subarray(position + 4, position + endOfFileMarkerBytes)));
}

export type RecordCheck =
  | { kind: "record"; totalSize: number }
  | { kind: "end_of_file" }
  | { kind: "empty" }
  | { kind: "corrupt"; reason: string };

/**
 * Checks the record at `position` of a file of `limit` bytes without trusting any field:
 * lengths are bounded before use, the CRC is verified, and the stored physical offset must
 * match where the record was found (a stale record left behind a cut cannot pass).
 */
export function checkRecord(bytes: Uint8Array, view: DataView, position: number, limit: number, expectedPhysicalOffset: number, verifyCrc = true): RecordCheck {
  if (position + endOfFileMarkerBytes > limit) return { kind: "corrupt", reason: "no room for a record header" };
  const crc = view.getUint32(position);
  const totalSize = view.getUint32(position + 4);
  const magic = view.getUint32(position + 8);
  if (crc === 0 && totalSize === 0 && magic === 0) return { kind: "empty" };
  if (magic === endOfFileMagic) {
    if (totalSize !== limit - position) return { kind: "corrupt", reason: `end-of-file marker claims ${totalSize} bytes, ${limit - position} remain` };
    if (Bun.hash.crc32(bytes.subarray(position + 4, position + endOfFileMarkerBytes)) !== crc) return { kind: "corrupt", reason: "end-of-file marker CRC mismatch" };
    return { kind: "end_of_file" };
  }
  if (magic !== recordMagic) return { kind: "corrupt", reason: `bad magic 0x${magic.toString(16)}` };
  if (totalSize < recordFixedBytes || position + totalSize > limit) return { kind: "corrupt", reason: `bad size ${totalSize}` };
  const bodyLength = view.getUint32(position + 84);
  if (bodyLength > totalSize - recordFixedBytes) return { kind: "corrupt", reason: `bad body length ${bodyLength}` };
  const topicLength = view.getUint8(position + bodyOffset + bodyLength);
  const propertiesAt = position + bodyOffset + bodyLength + 1 + topicLength;
  if (propertiesAt + 2 > position + totalSize) return { kind: "corrupt", reason: `bad topic length ${topicLength}` };
  if (propertiesAt + 2 + view.getUint16(propertiesAt) !== position + totalSize) return { kind: "corrupt", reason: "field lengths do not add up" };
  if (verifyCrc && Bun.hash.crc32(bytes.subarray(position + 4, position + totalSize)) !== crc) return { kind: "corrupt", reason: "CRC mismatch" };
  if (getUint64(view, position + 28) !== expectedPhysicalOffset) return { kind: "corrupt", reason: "physical offset does not match position" };
  return { kind: "record", totalSize };
}

/**
 * The allocation-free form of `checkRecord` for reads whose position comes from a consume queue:
 * returns the record's size, or -1 when anything does not hold.
 */
export function checkedRecordSize(bytes: Uint8Array, view: DataView, position: number, limit: number, expectedPhysicalOffset: number, verifyCrc: boolean): number {
  if (position + recordFixedBytes > limit) return -1;
  const totalSize = view.getUint32(position + 4);
  if (view.getUint32(position + 8) !== recordMagic || totalSize < recordFixedBytes || position + totalSize > limit) return -1;
  if (view.getUint32(position + 28) * 4294967296 + view.getUint32(position + 32) !== expectedPhysicalOffset) return -1;
  const bodyLength = view.getUint32(position + 84);
  if (bodyLength > totalSize - recordFixedBytes) return -1;
  const propertiesAt = position + bodyOffset + bodyLength + 1 + view.getUint8(position + bodyOffset + bodyLength);
  if (propertiesAt + 2 > position + totalSize || propertiesAt + 2 + view.getUint16(propertiesAt) !== position + totalSize) return -1;
  if (verifyCrc && Bun.hash.crc32(bytes.subarray(position + 4, position + totalSize)) !== view.getUint32(position)) return -1;
  return totalSize;
}

/** A decoded record. `body` is a view into the bytes it was decoded from. */
export interface StoredMessage {
  topic: string;
  queueId: number;
  flag: number;
  queueOffset: QueueOffset;
  physicalOffset: PhysicalOffset;
  sysFlag: number;
  bornTimestampMs: number;
  bornHost: HostAddress;
  storeTimestampMs: number;
  storeHost: HostAddress;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Uint8Array;
  properties: Properties;
  tags: string | undefined;
  keys: string[];
  msgId: string | undefined;
  storeSize: number;
}

const textDecoder = new TextDecoder();

/** Decodes a record already checked (checkRecord) or received whole from a trusted peer. */
export function decodeRecord(bytes: Uint8Array, position = 0, view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)): StoredMessage {
  const totalSize = view.getUint32(position + 4);
  const bodyLength = view.getUint32(position + 84);
  const bodyStart = position + bodyOffset;
  const topicLength = view.getUint8(bodyStart + bodyLength);
  const topicStart = bodyStart + bodyLength + 1;
  const propertiesLength = view.getUint16(topicStart + topicLength);
  const propertiesStart = topicStart + topicLength + 2;
  // A record read from inside a larger buffer (a pull's body) must not reach into the next one.
  if (propertiesStart + propertiesLength > position + totalSize) throw new RangeError(`Record at ${position} claims more than its ${totalSize} bytes`);
  const properties = decodePropertiesText(textDecoder.decode(bytes.subarray(propertiesStart, propertiesStart + propertiesLength)));
  return {
    topic: textDecoder.decode(bytes.subarray(topicStart, topicStart + topicLength)),
    queueId: view.getUint32(position + 12),
    flag: view.getUint32(position + 16),
    queueOffset: toQueueOffset(getUint64(view, position + 20)),
    physicalOffset: toPhysicalOffset(getUint64(view, position + 28)),
    sysFlag: view.getUint32(position + 36),
    bornTimestampMs: getUint64(view, position + 40),
    bornHost: { ip: view.getUint32(position + 48), port: view.getUint32(position + 52) },
    storeTimestampMs: getUint64(view, position + 56),
    storeHost: { ip: view.getUint32(position + 64), port: view.getUint32(position + 68) },
    reconsumeTimes: view.getUint32(position + 72),
    preparedTransactionOffset: getUint64(view, position + 76),
    body: bytes.subarray(bodyStart, bodyStart + bodyLength),
    properties,
    tags: properties[propertyNames.tags],
    keys: splitKeys(properties[propertyNames.keys]),
    msgId: properties[propertyNames.msgId],
    storeSize: totalSize,
  };
}

export function readStoreTimestamp(view: DataView, position: number): number {
  return getUint64(view, position + 56);
}

/** An IPv4 address as the record's u32 (anything else is 127.0.0.1, as ipv4ToBytes decides). */
export function ipv4ToNumber(ip: string): number {
  const [a, b, c, d] = ipv4ToBytes(ip);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function numberToIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
