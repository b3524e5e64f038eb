/**
 * The records of the scheduler's journal (schedule-journal.ts), encoded and decoded. A job is
 * open from its ADD until a DONE with the same (id, dueMs). Little-endian:
 *
 *     0   4  length of the whole record
 *     4   4  crc32 of bytes [8, length)
 *     8   1  type: 1 ADD, 2 DONE
 *     9   1  flags: bit 0 set, an ADD carries a floor (below)
 *    10   2  kind bytes (0 for DONE)
 *    12   2  id bytes
 *    14   8  dueMs (f64: an integer number of ms since the epoch)
 *    22   8  (ADD with the floor flag only) the floor, f64: a number its owner wants the lowest
 *            of over the open jobs (scheduled delivery: its timer record's CommitLog offset)
 *     …      kind, id, then (ADD only) the payload, JSON in UTF-8
 *
 * Besides whole records, a scan can decode a record's key only (`decodeRecordKey`): its type,
 * kind, due time, place, and two 32-bit hashes of its id bytes instead of the id — what the
 * opening scan folds a million records with, without a string or an object per record.
 */

import { MqError } from "../common/errors.ts";
import { scheduledJobIdBytesMax, scheduledJobPayloadBytesMax } from "../common/limits.ts";

export const recordHeaderBytes = 22;
export const recordBytesMax = recordHeaderBytes + 2 * scheduledJobIdBytesMax + scheduledJobPayloadBytesMax;

const typeAdd = 1;
const typeDone = 2;
const flagFloor = 1;

export interface JournalRecord {
  readonly type: "add" | "done";
  readonly kind: string;
  readonly id: string;
  readonly dueMs: number;
  /** ADD only: its floor, when it has one. */
  readonly floor: number | undefined;
  /** ADD only (and not in a scan without payloads): the payload's bytes (JSON), a view into the read buffer, valid while the record is visited. */
  readonly payload: Uint8Array | undefined;
  /** Where the record starts in the file, and its length: compaction copies it from there. */
  readonly position: number;
  readonly length: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let scratch = new Uint8Array(new ArrayBuffer(4 * 1024));
let scratchView = new DataView(scratch.buffer);

export function encodeAdd(kind: string, id: string, dueMs: number, payload: Uint8Array, floor?: number): Uint8Array {
  return encodeRecord(typeAdd, encoder.encode(kind), encoder.encode(id), dueMs, payload, floor);
}

export function encodeDone(id: string, dueMs: number): Uint8Array {
  return encodeRecord(typeDone, new Uint8Array(0), encoder.encode(id), dueMs, new Uint8Array(0));
}

function encodeRecord(type: number, kind: Uint8Array, id: Uint8Array, dueMs: number, payload: Uint8Array, floor?: number): Uint8Array {
  if (id.length === 0 || id.length > scheduledJobIdBytesMax || kind.length > scheduledJobIdBytesMax) {
    throw new MqError("INVALID_FIELD", { field: "job.id", reason: `must be 1..${scheduledJobIdBytesMax} bytes, got ${id.length} (kind ${kind.length})` });
  }
  if (payload.length > scheduledJobPayloadBytesMax) throw new MqError("INVALID_FIELD", { field: "job.payload", reason: `must be at most ${scheduledJobPayloadBytesMax} bytes, got ${payload.length}` });
  if (!Number.isSafeInteger(dueMs) || dueMs < 0) throw new MqError("INVALID_FIELD", { field: "job.dueMs", reason: `must be a non-negative integer, got ${dueMs}` });
  if (floor !== undefined && !Number.isFinite(floor)) throw new MqError("INVALID_FIELD", { field: "job.floor", reason: `must be a finite number, got ${floor}` });
  const floorBytes = floor === undefined ? 0 : 8;
  const length = recordHeaderBytes + floorBytes + kind.length + id.length + payload.length;
  // Encoded in a scratch buffer and copied out: a fresh ArrayBuffer per record (to view it with a
  // DataView) costs more than the record, and counts against the heap valve as memory outside the heap.
  if (scratch.length < length) {
    const buffer = new ArrayBuffer(Math.max(length, 2 * scratch.length));
    scratch = new Uint8Array(buffer);
    scratchView = new DataView(buffer);
  }
  const bytes = scratch;
  const view = scratchView;
  view.setUint32(0, length, true);
  view.setUint8(8, type);
  view.setUint8(9, floor === undefined ? 0 : flagFloor);
  view.setUint16(10, kind.length, true);
  view.setUint16(12, id.length, true);
  view.setFloat64(14, dueMs, true);
  if (floor !== undefined) view.setFloat64(recordHeaderBytes, floor, true);
  const kindStart = recordHeaderBytes + floorBytes;
  bytes.set(kind, kindStart);
  bytes.set(id, kindStart + kind.length);
  bytes.set(payload, kindStart + kind.length + id.length);
  view.setUint32(4, Bun.hash.crc32(bytes.subarray(8, length)) >>> 0, true);
  return bytes.slice(0, length);
}

/** The bytes a scan reads through, with one DataView over them (not one per record). */
export interface Chunk {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The same bytes as a Buffer: its toString decodes a range without a view per record (a scan decodes a million ids). */
  readonly text: Buffer;
}

export function chunkOf(bytes: Uint8Array): Chunk {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Kind names repeat on every record: the last one decoded is reused when its bytes match. */
let lastKindBytes = new Uint8Array(0);
let lastKind = "";

function decodeKind(bytes: Uint8Array, start: number, end: number): string {
  const length = end - start;
  if (length === lastKindBytes.length) {
    let same = true;
    for (let index = 0; index < length && same; index++) same = bytes[start + index] === lastKindBytes[index];
    if (same) return lastKind;
  }
  lastKindBytes = bytes.slice(start, end);
  lastKind = decoder.decode(lastKindBytes);
  return lastKind;
}

/** Decodes the record at `offset` of `chunk`; undefined when it is torn, damaged or not a record. */
export function decodeRecord(chunk: Chunk, offset: number, position: number, withPayload = true): JournalRecord | undefined {
  const { bytes, view } = chunk;
  const available = bytes.length - offset;
  if (available < recordHeaderBytes) return undefined;
  const length = view.getUint32(offset, true);
  if (length < recordHeaderBytes || length > available) return undefined;
  if ((Bun.hash.crc32(bytes.subarray(offset + 8, offset + length)) >>> 0) !== view.getUint32(offset + 4, true)) return undefined;
  const type = view.getUint8(offset + 8);
  const floorBytes = type === typeAdd && (view.getUint8(offset + 9) & flagFloor) !== 0 ? 8 : 0;
  const kindBytes = view.getUint16(offset + 10, true);
  const idBytes = view.getUint16(offset + 12, true);
  const dueMs = view.getFloat64(offset + 14, true);
  if ((type !== typeAdd && type !== typeDone) || recordHeaderBytes + floorBytes + kindBytes + idBytes > length) return undefined;
  const kindStart = offset + recordHeaderBytes + floorBytes;
  const idStart = kindStart + kindBytes;
  return {
    type: type === typeAdd ? "add" : "done",
    kind: kindBytes === 0 ? "" : decodeKind(bytes, kindStart, idStart),
    id: chunk.text.toString("utf8", idStart, idStart + idBytes),
    dueMs,
    floor: floorBytes === 0 ? undefined : view.getFloat64(offset + recordHeaderBytes, true),
    // A view, not a copy: a scan visits a million records; whoever keeps a payload copies it.
    payload: type === typeAdd && withPayload ? bytes.subarray(idStart + idBytes, offset + length) : undefined,
    position,
    length,
  };
}

/** A record's key as the opening scan folds it: one object reused for every record of a scan. */
export interface RecordKey {
  type: "add" | "done";
  kind: string;
  dueMs: number;
  /** Two 32-bit hashes of the id's UTF-8 bytes (idHashes): equal ids have equal hashes. */
  idHashA: number;
  idHashB: number;
  /** The ADD's floor; NaN without one. */
  floor: number;
  position: number;
  length: number;
}

export function newRecordKey(): RecordKey {
  return { type: "add", kind: "", dueMs: 0, idHashA: 0, idHashB: 0, floor: Number.NaN, position: 0, length: 0 };
}

/** Decodes the key of the record at `offset` of `chunk` into `key`; false when it is torn, damaged or not a record. */
export function decodeRecordKey(chunk: Chunk, offset: number, position: number, key: RecordKey): boolean {
  const { bytes, view } = chunk;
  const available = bytes.length - offset;
  if (available < recordHeaderBytes) return false;
  const length = view.getUint32(offset, true);
  if (length < recordHeaderBytes || length > available) return false;
  if ((Bun.hash.crc32(bytes.subarray(offset + 8, offset + length)) >>> 0) !== view.getUint32(offset + 4, true)) return false;
  const type = view.getUint8(offset + 8);
  const floorBytes = type === typeAdd && (view.getUint8(offset + 9) & flagFloor) !== 0 ? 8 : 0;
  const kindBytes = view.getUint16(offset + 10, true);
  const idBytes = view.getUint16(offset + 12, true);
  if ((type !== typeAdd && type !== typeDone) || recordHeaderBytes + floorBytes + kindBytes + idBytes > length) return false;
  const kindStart = offset + recordHeaderBytes + floorBytes;
  const idStart = kindStart + kindBytes;
  key.type = type === typeAdd ? "add" : "done";
  key.kind = kindBytes === 0 ? "" : decodeKind(bytes, kindStart, idStart);
  key.dueMs = view.getFloat64(offset + 14, true);
  key.floor = floorBytes === 0 ? Number.NaN : view.getFloat64(offset + recordHeaderBytes, true);
  hashIdBytes(bytes, idStart, idStart + idBytes, key);
  key.position = position;
  key.length = length;
  return true;
}

/** The two hashes of an id (of its UTF-8 bytes, as the journal holds them). */
export function idHashes(id: string): { idHashA: number; idHashB: number } {
  const bytes = encoder.encode(id);
  const hashes = { idHashA: 0, idHashB: 0 };
  hashIdBytes(bytes, 0, bytes.length, hashes);
  return hashes;
}

/** FNV-1a and a multiply-rotate hash, 32 bits each, of bytes [start, end). */
function hashIdBytes(bytes: Uint8Array, start: number, end: number, into: { idHashA: number; idHashB: number }): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let index = start; index < end; index++) {
    const byte = bytes[index]!;
    a = Math.imul(a ^ byte, 0x01000193);
    b = Math.imul(b ^ byte, 0x5bd1e995);
    b = (b << 13) | (b >>> 19);
  }
  into.idHashA = a >>> 0;
  into.idHashB = b >>> 0;
}
