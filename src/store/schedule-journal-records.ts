/**
 * The records of the scheduler's journal (schedule-journal.ts), encoded and decoded. A job is
 * open from its ADD until a DONE with the same (id, dueMs). Little-endian:
 *
 *     0   4  length of the whole record
 *     4   4  crc32 of bytes [8, length)
 *     8   1  type: 1 ADD, 2 DONE
 *     9   1  flags (ADD only): bit 0, a floor follows the header; bit 1, a group follows it
 *    10   2  kind bytes (0 for DONE)
 *    12   2  id bytes
 *    14   8  dueMs (f64: an integer number of ms since the epoch)
 *    22   …  the floor (f64), if flagged: a number its owner wants the lowest of over the open
 *            jobs (scheduled delivery: its timer record's CommitLog offset); then the group, if
 *            flagged: u16 length and UTF-8 bytes, a label open jobs are counted by
 *            (scheduled delivery: the real topic); then kind, id and (ADD only) the payload,
 *            JSON in UTF-8
 *
 * Besides whole records, a scan can decode a record's key only (`decodeRecordKey`): its type,
 * kind, group, floor, due time, place, and two 32-bit hashes of its id bytes instead of the id —
 * what the opening scan folds a million records with, without a string or an object per record.
 */

import { MqError } from "../common/errors.ts";
import { scheduledJobIdBytesMax, scheduledJobPayloadBytesMax } from "../common/limits.ts";
import type { ScheduledJob } from "./scheduled-job.ts";

export const recordHeaderBytes = 22;
export const recordBytesMax = recordHeaderBytes + 2 * scheduledJobIdBytesMax + scheduledJobPayloadBytesMax;

const typeAdd = 1;
const typeDone = 2;
const flagFloor = 1;
const flagGroup = 2;

export interface JournalRecord {
  readonly type: "add" | "done";
  readonly kind: string;
  readonly id: string;
  readonly dueMs: number;
  /** ADD only: its floor and its group, when it has them. */
  readonly floor: number | undefined;
  readonly group: string | undefined;
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

/** What an ADD may carry besides its key and payload (see the layout above). */
export interface AddExtras {
  readonly floor?: number;
  readonly group?: string;
}

/** An ADD; the payload is its JSON, as text or as UTF-8 bytes. */
export function encodeAdd(kind: string, id: string, dueMs: number, payload: Uint8Array | string, extras: AddExtras = {}): Uint8Array {
  return encodeRecord(typeAdd, nameBytes(kind), id, dueMs, payload, extras);
}

/** Encoded kinds and groups, which repeat on every record (cleared past `nameBytesCached` names). */
const encodedNames = new Map<string, Uint8Array>();
const nameBytesCached = 1_024;

function nameBytes(name: string): Uint8Array {
  let bytes = encodedNames.get(name);
  if (bytes === undefined) {
    if (encodedNames.size >= nameBytesCached) encodedNames.clear();
    bytes = encoder.encode(name);
    encodedNames.set(name, bytes);
  }
  return bytes;
}

export function encodeDone(id: string, dueMs: number): Uint8Array {
  return encodeRecord(typeDone, new Uint8Array(0), id, dueMs, "", {});
}

function encodeRecord(type: number, kind: Uint8Array, id: string, dueMs: number, payload: Uint8Array | string, extras: AddExtras): Uint8Array {
  if (!Number.isSafeInteger(dueMs) || dueMs < 0) throw new MqError("INVALID_FIELD", { field: "job.dueMs", reason: `must be a non-negative integer, got ${dueMs}` });
  const { floor } = extras;
  if (floor !== undefined && !Number.isFinite(floor)) throw new MqError("INVALID_FIELD", { field: "job.floor", reason: `must be a finite number, got ${floor}` });
  const group = extras.group === undefined ? undefined : nameBytes(extras.group);
  if (group !== undefined && group.length > scheduledJobIdBytesMax) throw new MqError("INVALID_FIELD", { field: "job.group", reason: `must be at most ${scheduledJobIdBytesMax} bytes, got ${group.length}` });
  const extraBytes = (floor === undefined ? 0 : 8) + (group === undefined ? 0 : 2 + group.length);
  // Past the limits in UTF-16 units is past them in bytes: refused before the scratch grows for them.
  if (id.length > scheduledJobIdBytesMax) throw new MqError("INVALID_FIELD", { field: "job.id", reason: `must be 1..${scheduledJobIdBytesMax} bytes, got at least ${id.length}` });
  if (payload.length > scheduledJobPayloadBytesMax) throw new MqError("INVALID_FIELD", { field: "job.payload", reason: `must be at most ${scheduledJobPayloadBytesMax} bytes, got at least ${payload.length}` });
  // The id and a payload given as text are UTF-8 encoded straight into the scratch buffer (at
  // most 3 bytes per UTF-16 unit), not into arrays of their own: one record per scheduled send.
  const lengthMax = recordHeaderBytes + extraBytes + kind.length + 3 * id.length + (typeof payload === "string" ? 3 * payload.length : payload.length);
  // Encoded in a scratch buffer and copied out: a fresh ArrayBuffer per record (to view it with a
  // DataView) costs more than the record, and counts against the heap valve as memory outside the heap.
  if (scratch.length < lengthMax) {
    const buffer = new ArrayBuffer(Math.max(lengthMax, 2 * scratch.length));
    scratch = new Uint8Array(buffer);
    scratchView = new DataView(buffer);
  }
  const bytes = scratch;
  const view = scratchView;
  let at = recordHeaderBytes;
  if (floor !== undefined) {
    view.setFloat64(at, floor, true);
    at += 8;
  }
  if (group !== undefined) {
    view.setUint16(at, group.length, true);
    bytes.set(group, at + 2);
    at += 2 + group.length;
  }
  bytes.set(kind, at);
  at += kind.length;
  const idBytes = encoder.encodeInto(id, bytes.subarray(at)).written;
  if (idBytes === 0 || idBytes > scheduledJobIdBytesMax || kind.length > scheduledJobIdBytesMax) {
    throw new MqError("INVALID_FIELD", { field: "job.id", reason: `must be 1..${scheduledJobIdBytesMax} bytes, got ${idBytes} (kind ${kind.length})` });
  }
  at += idBytes;
  let payloadBytes: number;
  if (typeof payload === "string") payloadBytes = payload.length === 0 ? 0 : encoder.encodeInto(payload, bytes.subarray(at)).written;
  else {
    bytes.set(payload, at);
    payloadBytes = payload.length;
  }
  if (payloadBytes > scheduledJobPayloadBytesMax) throw new MqError("INVALID_FIELD", { field: "job.payload", reason: `must be at most ${scheduledJobPayloadBytesMax} bytes, got ${payloadBytes}` });
  const length = at + payloadBytes;
  view.setUint32(0, length, true);
  view.setUint8(8, type);
  view.setUint8(9, (floor === undefined ? 0 : flagFloor) | (group === undefined ? 0 : flagGroup));
  view.setUint16(10, kind.length, true);
  view.setUint16(12, idBytes, true);
  view.setFloat64(14, dueMs, true);
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

/** Names that repeat on every record (kinds, groups): the last one decoded is reused when its bytes match. */
class NameCache {
  private lastBytes = new Uint8Array(0);
  private last = "";

  decode(bytes: Uint8Array, start: number, end: number): string {
    const length = end - start;
    if (length === this.lastBytes.length) {
      let same = true;
      for (let index = 0; index < length && same; index++) same = bytes[start + index] === this.lastBytes[index];
      if (same) return this.last;
    }
    this.lastBytes = bytes.slice(start, end);
    this.last = decoder.decode(this.lastBytes);
    return this.last;
  }
}

const kinds = new NameCache();
const groups = new NameCache();

/** Where the parts of the record last parsed are (one object for every record: nothing allocated per record). */
const layout = { type: 0, length: 0, dueMs: 0, floor: Number.NaN, group: undefined as string | undefined, kind: "", idStart: 0, idEnd: 0 };

/** Parses the record at `offset` of `chunk` into `layout`; false when it is torn, damaged or not a record. */
function parse(chunk: Chunk, offset: number): boolean {
  const { bytes, view } = chunk;
  const available = bytes.length - offset;
  if (available < recordHeaderBytes) return false;
  const length = view.getUint32(offset, true);
  if (length < recordHeaderBytes || length > available) return false;
  if ((Bun.hash.crc32(bytes.subarray(offset + 8, offset + length)) >>> 0) !== view.getUint32(offset + 4, true)) return false;
  const type = view.getUint8(offset + 8);
  if (type !== typeAdd && type !== typeDone) return false;
  const flags = type === typeAdd ? view.getUint8(offset + 9) : 0;
  const end = offset + length;
  let at = offset + recordHeaderBytes;
  layout.floor = Number.NaN;
  if ((flags & flagFloor) !== 0) {
    if (at + 8 > end) return false;
    layout.floor = view.getFloat64(at, true);
    at += 8;
  }
  layout.group = undefined;
  if ((flags & flagGroup) !== 0) {
    if (at + 2 > end) return false;
    const groupBytes = view.getUint16(at, true);
    if (at + 2 + groupBytes > end) return false;
    layout.group = groups.decode(bytes, at + 2, at + 2 + groupBytes);
    at += 2 + groupBytes;
  }
  const kindBytes = view.getUint16(offset + 10, true);
  const idBytes = view.getUint16(offset + 12, true);
  if (at + kindBytes + idBytes > end) return false;
  layout.type = type;
  layout.length = length;
  layout.dueMs = view.getFloat64(offset + 14, true);
  layout.kind = kindBytes === 0 ? "" : kinds.decode(bytes, at, at + kindBytes);
  layout.idStart = at + kindBytes;
  layout.idEnd = layout.idStart + idBytes;
  return true;
}

/** Decodes the record at `offset` of `chunk`; undefined when it is torn, damaged or not a record. */
export function decodeRecord(chunk: Chunk, offset: number, position: number, withPayload = true): JournalRecord | undefined {
  if (!parse(chunk, offset)) return undefined;
  const add = layout.type === typeAdd;
  return {
    type: add ? "add" : "done",
    kind: layout.kind,
    id: chunk.text.toString("utf8", layout.idStart, layout.idEnd),
    dueMs: layout.dueMs,
    floor: Number.isNaN(layout.floor) ? undefined : layout.floor,
    group: layout.group,
    // A view, not a copy: a scan visits a million records; whoever keeps a payload copies it.
    payload: add && withPayload ? chunk.bytes.subarray(layout.idEnd, offset + layout.length) : undefined,
    position,
    length: layout.length,
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
  /** The ADD's floor (NaN without one) and group. */
  floor: number;
  group: string | undefined;
  position: number;
  length: number;
}

export function newRecordKey(): RecordKey {
  return { type: "add", kind: "", dueMs: 0, idHashA: 0, idHashB: 0, floor: Number.NaN, group: undefined, position: 0, length: 0 };
}

/** Decodes the key of the record at `offset` of `chunk` into `key`; false when it is torn, damaged or not a record. */
export function decodeRecordKey(chunk: Chunk, offset: number, position: number, key: RecordKey): boolean {
  if (!parse(chunk, offset)) return false;
  key.type = layout.type === typeAdd ? "add" : "done";
  key.kind = layout.kind;
  key.group = layout.group;
  key.dueMs = layout.dueMs;
  key.floor = layout.floor;
  hashIdBytes(chunk.bytes, layout.idStart, layout.idEnd, key);
  key.position = position;
  key.length = layout.length;
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

/** The job a record holds (an ADD read with its payload). */
export function jobOfRecord(record: JournalRecord): ScheduledJob {
  const payload = JSON.parse(decoder.decode(record.payload)) as unknown;
  const { kind, id, dueMs, floor, group } = record;
  if (floor === undefined) return group === undefined ? { kind, id, dueMs, payload } : { kind, id, dueMs, payload, group };
  return group === undefined ? { kind, id, dueMs, payload, floor } : { kind, id, dueMs, payload, floor, group };
}
