/**
 * The binary body of a trace message (issue 13): many hops, each a few bytes of kind and flags,
 * its ids as bytes (a hex id in half its length), its times as small differences from the
 * message's first time, its counts as varints, and the strings hops share (topic, host, group,
 * client id, tags) written once in a table at the end. Every traced message costs a publish and
 * a consume hop, so the encoder runs for every send and every consumption: it writes straight
 * into one reused buffer (no JSON, no per-hop copies) and keeps a hop near 40 bytes, so the trace
 * costs a small fraction of the messages it follows to send and store. Decoding runs only for
 * trace queries.
 *
 * Layout (big-endian; varint: unsigned LEB128; zigzag: a signed varint):
 *   u8 format (traceBinaryFormat) · u16 hop count · u32 offset of the string table · f64 base time
 *   per hop: u8 hop (index in traceHopNames) · u8 flags · u16 optional-field bits · id msgId
 *            · varint topic · varint host (table indexes) · time timeMs · the optional fields
 *            present, in bit order (`bit` below)
 *   string table: varint count, then each as text
 * where flags are 1 failed, 2 msgId in hex, 4 offsetMsgId in hex, 8 costMs an f64 (else a
 * varint), 16 msgId shares its first 20 hex digits with the hop before (format 3); an id is a u8
 * byte length and its bytes (hex digits as bytes when flagged, else UTF-8); a time is a zigzag
 * of its difference from the base time (ms); text is a varint byte length and UTF-8.
 *
 * A producer msgId is 32 hex digits whose first 20 (ip, pid, instance) are the same for every
 * message of one client: hops in a row are mostly one client's (a producer's sends, a pulled
 * batch), so a msgId that starts as the one before it writes only its last 12 digits (6 bytes,
 * not 16), which also spares reading 20 digits. Format 2 bodies (written before that) read the
 * same, never flagged.
 */

import { traceTextCharsMax } from "../common/limits.ts";
// A cycle (trace-record.ts packs with this codec): traceHopNames is read only inside functions, never at load.
import { type RecordedHop, traceHopNames } from "./trace-record.ts";

/** The first byte of a binary trace body (a JSON body starts with `{`). */
export const traceBinaryFormat = 3;
/** The format before msgId prefixes were shared (flag 16): still read. */
export const traceBinaryFormatUnshared = 2;

/** Optional fields, one bit each, written in this order. */
const bit = { costMs: 1, keys: 2, tags: 4, group: 8, clientId: 16, offsetMsgId: 32, queueId: 64, queueOffset: 128, storeTimeMs: 256, reconsumeTimes: 512, deliverAtMs: 1024, traceparent: 2048, detail: 4096, beforeMs: 8192 } as const;
/** The fields naming a table string, each with its own last-text cache (TraceEncoder.ref). */
const refSlot = { topic: 0, host: 1, tags: 2, group: 3, clientId: 4 } as const;
const flag = { failed: 1, msgIdHex: 2, offsetMsgIdHex: 4, costFloat: 8, msgIdShared: 16 } as const;
/** Hex digits of a producer msgId and of its client's prefix (ip, pid, instance): see the layout. */
const msgIdChars = 32;
const msgIdPrefixChars = 20;
const headerBytes = 15;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
/** A character code's hex digit value (uppercase digits only, so an id reads back exactly), else -1. */
const hexValue = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) hexValue["0123456789ABCDEF".charCodeAt(digit)] = digit;
const hexDigits = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, "0"));

/** Encodes hops into one reused buffer; `encode` copies out one body. Not reentrant (no await inside). */
class TraceEncoder {
  private bytes = new Uint8Array(64 * 1024);
  private view = new DataView(this.bytes.buffer);
  private at = 0;
  private baseMs = 0;
  private strings = new Map<string, number>();
  private table: string[] = [];
  /** Per field that names a table string (refSlot), the last text and its index. */
  private readonly lastTexts: Array<string | undefined> = [undefined, undefined, undefined, undefined, undefined];
  private readonly lastIndexes = [0, 0, 0, 0, 0];
  /** The msgId of the hop before, when it was 32 hex digits (else ""): what the next may share its prefix with. */
  private lastMsgId = "";

  encode(hops: readonly RecordedHop[], start: number, end: number): Uint8Array {
    this.at = headerBytes;
    this.baseMs = Math.round(hops[start]?.timeMs ?? 0);
    this.strings.clear();
    this.table.length = 0;
    this.lastTexts.fill(undefined);
    this.lastMsgId = "";
    for (let index = start; index < end; index++) this.hop(hops[index]!);
    const tableAt = this.at;
    this.varint(this.table.length);
    for (const text of this.table) this.text(text);
    this.bytes[0] = traceBinaryFormat;
    this.view.setUint16(1, end - start);
    this.view.setUint32(3, tableAt);
    this.view.setFloat64(7, this.baseMs);
    return this.bytes.slice(0, this.at);
  }

  private hop(hop: RecordedHop): void {
    let bits = 0;
    if (hop.costMs !== undefined) bits |= bit.costMs;
    if (hop.keys !== undefined && hop.keys.length > 0) bits |= bit.keys;
    if (hop.tags !== undefined) bits |= bit.tags;
    if (hop.group !== undefined) bits |= bit.group;
    if (hop.clientId !== undefined) bits |= bit.clientId;
    if (hop.offsetMsgId !== undefined) bits |= bit.offsetMsgId;
    if (hop.queueId !== undefined) bits |= bit.queueId;
    if (hop.queueOffset !== undefined) bits |= bit.queueOffset;
    if (hop.storeTimeMs !== undefined) bits |= bit.storeTimeMs;
    if (hop.reconsumeTimes !== undefined) bits |= bit.reconsumeTimes;
    if (hop.deliverAtMs !== undefined) bits |= bit.deliverAtMs;
    if (hop.traceparent !== undefined) bits |= bit.traceparent;
    if (hop.detail !== undefined) bits |= bit.detail;
    if (hop.beforeMs !== undefined) bits |= bit.beforeMs;
    this.ensure(4);
    const flagsAt = this.at + 1;
    this.bytes[this.at] = traceHopNames.indexOf(hop.hop);
    this.view.setUint16(this.at + 2, bits);
    this.at += 4;
    let flags = hop.status === "ok" ? 0 : flag.failed;
    flags |= this.msgId(hop.msgId);
    this.varint(this.ref(hop.topic, refSlot.topic));
    this.varint(this.ref(hop.host, refSlot.host));
    this.time(hop.timeMs);
    if ((bits & bit.costMs) !== 0) {
      const cost = hop.costMs!;
      if (Number.isSafeInteger(cost) && cost >= 0) this.varint(cost);
      else {
        flags |= flag.costFloat;
        this.float(cost);
      }
    }
    if ((bits & bit.keys) !== 0) {
      const keys = hop.keys!;
      this.varint(keys.length);
      for (const key of keys) this.text(key);
    }
    if ((bits & bit.tags) !== 0) this.varint(this.ref(hop.tags!, refSlot.tags));
    if ((bits & bit.group) !== 0) this.varint(this.ref(hop.group!, refSlot.group));
    if ((bits & bit.clientId) !== 0) this.varint(this.ref(hop.clientId!, refSlot.clientId));
    if ((bits & bit.offsetMsgId) !== 0 && this.id(hop.offsetMsgId!)) flags |= flag.offsetMsgIdHex;
    if ((bits & bit.queueId) !== 0) this.varint(hop.queueId!);
    if ((bits & bit.queueOffset) !== 0) this.varint(hop.queueOffset!);
    if ((bits & bit.storeTimeMs) !== 0) this.time(hop.storeTimeMs!);
    if ((bits & bit.reconsumeTimes) !== 0) this.varint(hop.reconsumeTimes!);
    if ((bits & bit.deliverAtMs) !== 0) this.time(hop.deliverAtMs!);
    if ((bits & bit.traceparent) !== 0) this.text(hop.traceparent!);
    if ((bits & bit.detail) !== 0) this.text(hop.detail!);
    if ((bits & bit.beforeMs) !== 0) this.time(hop.beforeMs!);
    this.bytes[flagsAt] = flags;
  }

  /**
   * A hop's msgId, and the flags saying how: its last 12 hex digits when its first 20 are the hop
   * before's, else as an id. The 20 digits are compared as characters with the msgId before
   * (equal strings share them); only the rest is read as hex.
   */
  private msgId(text: string): number {
    const last = this.lastMsgId;
    if (text.length === msgIdChars && last.length === msgIdChars) {
      let same = true;
      for (let index = msgIdPrefixChars - 1; index >= 0; index--) {
        if (text.charCodeAt(index) !== last.charCodeAt(index)) {
          same = false;
          break;
        }
      }
      if (same && this.hexRange(text, msgIdPrefixChars, msgIdChars)) {
        this.lastMsgId = text;
        return flag.msgIdHex | flag.msgIdShared;
      }
    }
    const hex = this.id(text);
    this.lastMsgId = hex && text.length === msgIdChars ? text : "";
    return hex ? flag.msgIdHex : 0;
  }

  /** text[from, to) as an id of hex bytes, when it is uppercase hex digits (true); else writes nothing (false). */
  private hexRange(text: string, from: number, to: number): boolean {
    this.ensure(1 + ((to - from) >> 1));
    const bytes = this.bytes;
    let at = this.at + 1;
    for (let index = from; index < to; index += 2, at++) {
      const high = text.charCodeAt(index);
      const low = text.charCodeAt(index + 1);
      const value = (high | low) < 128 ? (hexValue[high]! << 4) | hexValue[low]! : -1;
      if (value < 0) return false;
      bytes[at] = value;
    }
    bytes[this.at] = (to - from) >> 1;
    this.at = at;
    return true;
  }

  /** An id: as bytes when it is uppercase hex digits (true), else as UTF-8 text of at most 255 bytes. */
  private id(text: string): boolean {
    const length = text.length;
    this.ensure(1 + length * 3);
    const bytes = this.bytes;
    const start = this.at + 1;
    // Integer arithmetic only (`>> 1`, not `/ 2`): this runs for every id of every hop.
    let hex = (length & 1) === 0 && length <= 510;
    for (let index = 0, to = start; hex && index < length; index += 2, to++) {
      const high = text.charCodeAt(index);
      const low = text.charCodeAt(index + 1);
      const value = (high | low) < 128 ? (hexValue[high]! << 4) | hexValue[low]! : -1;
      if (value < 0) hex = false;
      else bytes[to] = value;
    }
    if (hex) {
      bytes[this.at] = length >> 1;
      this.at = start + (length >> 1);
      return true;
    }
    const written = Math.min(textEncoder.encodeInto(text, bytes.subarray(start)).written, 255);
    bytes[this.at] = written;
    this.at = start + written;
    return false;
  }

  /** A time as a zigzag of its difference from the base time (whole milliseconds: hop times are integers). */
  private time(valueMs: number): void {
    const delta = Math.round(valueMs) - this.baseMs;
    this.varint(delta >= 0 ? delta * 2 : -delta * 2 - 1);
  }

  private float(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.at, value);
    this.at += 8;
  }

  /** An unsigned LEB128 of a safe integer: 7 bits a byte, low first. */
  private varint(value: number): void {
    this.ensure(8);
    const bytes = this.bytes;
    let rest = value;
    while (rest >= 0x80) {
      bytes[this.at++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    bytes[this.at++] = rest;
  }

  /**
   * The string table index of `text`, added on first use. Hops in a row name the same topic, host
   * and group, mostly as the very same string objects: the last text of the same field (`slot`)
   * answers without a map lookup (which hashes the text: most of a hop's encoding cost before
   * this check).
   */
  private ref(text: string, slot: number): number {
    if (text === this.lastTexts[slot]) return this.lastIndexes[slot]!;
    let index = this.strings.get(text);
    if (index === undefined) {
      index = this.table.length;
      this.table.push(text);
      this.strings.set(text, index);
    }
    this.lastTexts[slot] = text;
    this.lastIndexes[slot] = index;
    return index;
  }

  /**
   * A varint byte length and UTF-8: ASCII byte by byte (hosts, groups), else through the encoder.
   * The length's bytes are reserved for the longest the text can encode to and written padded
   * (LEB128 allows 0x85 0x00 for 5), so the text is never moved.
   */
  private text(value: string): void {
    const text = value.length > traceTextCharsMax ? value.slice(0, traceTextCharsMax) : value;
    const bound = text.length * 3;
    const lengthBytes = bound < 0x80 ? 1 : bound < 0x4000 ? 2 : 3;
    this.ensure(lengthBytes + bound);
    const lengthAt = this.at;
    const start = lengthAt + lengthBytes;
    const bytes = this.bytes;
    let index = 0;
    for (; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) break;
      bytes[start + index] = code;
    }
    let length = index;
    if (index < text.length) length = index + textEncoder.encodeInto(text.slice(index), bytes.subarray(start + index)).written;
    for (let byte = 0; byte < lengthBytes; byte++) {
      bytes[lengthAt + byte] = ((length >>> (7 * byte)) & 0x7f) | (byte < lengthBytes - 1 ? 0x80 : 0);
    }
    this.at = start + length;
  }

  private ensure(more: number): void {
    if (this.at + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + more));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

const encoder = new TraceEncoder();

/** The binary body of hops[start, end). */
export function encodeTraceHops(hops: readonly RecordedHop[], start = 0, end = hops.length): Uint8Array {
  return encoder.encode(hops, start, end);
}

/** Reads one binary trace body; every read past its end throws RangeError. */
class TraceReader {
  private readonly view: DataView;
  at = headerBytes;
  private readonly baseMs: number;
  private readonly table: string[] = [];

  constructor(private readonly body: Uint8Array) {
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.baseMs = this.view.getFloat64(7);
    this.at = this.view.getUint32(3);
    for (let count = this.varint(); count > 0; count--) this.table.push(this.text());
    this.at = headerBytes;
  }

  get hopCount(): number {
    return this.view.getUint16(1);
  }

  byte(): number {
    return this.view.getUint8(this.at++);
  }

  uint16(): number {
    const value = this.view.getUint16(this.at);
    this.at += 2;
    return value;
  }

  float(): number {
    const value = this.view.getFloat64(this.at);
    this.at += 8;
    return value;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let shift = 0; shift < 8; shift++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new RangeError("a varint runs past 8 bytes");
  }

  time(): number {
    const zigzag = this.varint();
    return this.baseMs + (zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2);
  }

  ref(): string {
    const index = this.varint();
    const text = this.table[index];
    if (text === undefined) throw new RangeError(`string ${index} is not in the table`);
    return text;
  }

  text(): string {
    const length = this.varint();
    return textDecoder.decode(this.take(length));
  }

  id(hex: boolean): string {
    const bytes = this.take(this.byte());
    if (!hex) return textDecoder.decode(bytes);
    let text = "";
    for (const byte of bytes) text += hexDigits[byte];
    return text;
  }

  private take(length: number): Uint8Array {
    if (this.at + length > this.body.length) throw new RangeError("the trace body is cut short");
    const bytes = this.body.subarray(this.at, this.at + length);
    this.at += length;
    return bytes;
  }
}

/** The hops of a binary trace body (a consumption's record with its `beforeMs`); throws RangeError on a body cut short. */
export function decodeTraceHops(body: Uint8Array): RecordedHop[] {
  const read = new TraceReader(body);
  const hops: RecordedHop[] = [];
  let lastMsgId = "";
  for (let remaining = read.hopCount; remaining > 0; remaining--) {
    const kind = read.byte();
    const name = traceHopNames[kind];
    if (name === undefined) throw new RangeError(`hop ${kind} is not a hop name`);
    const flags = read.byte();
    const bits = read.uint16();
    let msgId = read.id((flags & flag.msgIdHex) !== 0);
    if ((flags & flag.msgIdShared) !== 0) {
      if (lastMsgId === "") throw new RangeError("a msgId shares the prefix of none");
      msgId = lastMsgId.slice(0, msgIdPrefixChars) + msgId;
    }
    lastMsgId = (flags & flag.msgIdHex) !== 0 && msgId.length === msgIdChars ? msgId : "";
    const hop: RecordedHop = { hop: name, msgId, topic: read.ref(), host: read.ref(), timeMs: read.time(), status: (flags & flag.failed) === 0 ? "ok" : "failed" };
    if ((bits & bit.costMs) !== 0) hop.costMs = (flags & flag.costFloat) === 0 ? read.varint() : read.float();
    if ((bits & bit.keys) !== 0) {
      const keys: string[] = [];
      for (let count = read.varint(); count > 0; count--) keys.push(read.text());
      hop.keys = keys;
    }
    if ((bits & bit.tags) !== 0) hop.tags = read.ref();
    if ((bits & bit.group) !== 0) hop.group = read.ref();
    if ((bits & bit.clientId) !== 0) hop.clientId = read.ref();
    if ((bits & bit.offsetMsgId) !== 0) hop.offsetMsgId = read.id((flags & flag.offsetMsgIdHex) !== 0);
    if ((bits & bit.queueId) !== 0) hop.queueId = read.varint();
    if ((bits & bit.queueOffset) !== 0) hop.queueOffset = read.varint();
    if ((bits & bit.storeTimeMs) !== 0) hop.storeTimeMs = read.time();
    if ((bits & bit.reconsumeTimes) !== 0) hop.reconsumeTimes = read.varint();
    if ((bits & bit.deliverAtMs) !== 0) hop.deliverAtMs = read.time();
    if ((bits & bit.traceparent) !== 0) hop.traceparent = read.text();
    if ((bits & bit.detail) !== 0) hop.detail = read.text();
    if ((bits & bit.beforeMs) !== 0) hop.beforeMs = read.time();
    hops.push(hop);
  }
  return hops;
}
