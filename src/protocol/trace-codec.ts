/**
 * The binary body of a trace message (issue 13): many hops, each a few fixed-width fields and a
 * bitmask of the optional ones, with the strings hops share (topic, host, group, client id, tags)
 * written once in a table at the end. Encoding writes straight into one reused buffer — no JSON,
 * no per-hop copies — because every traced message costs a publish and a consume hop: the
 * encoder is on the path of every send and every consumption, and must stay a small fraction of
 * it. Decoding runs only for trace queries.
 *
 * Layout (big-endian):
 *   u8 format (traceBinaryFormat) · u16 hop count · u32 offset of the string table
 *   per hop: u8 hop (index in traceHopNames) · u8 status (0 ok, 1 failed) · u16 optional-field bits
 *            · str8 msgId · u16 topic (table index) · u16 host (table index) · f64 timeMs
 *            · the optional fields present, in bit order (below)
 *   string table: u16 count, then each as str16
 * where str8 / str16 is a u8 / u16 byte length and UTF-8 bytes.
 */

import { traceTextCharsMax } from "../common/limits.ts";
// A cycle (trace-record.ts packs with this codec): traceHopNames is read only inside functions, never at load.
import { type RecordedHop, traceHopNames } from "./trace-record.ts";

/** The first byte of a binary trace body (a JSON body starts with `{`). */
export const traceBinaryFormat = 2;


/** Optional fields, one bit each, written in this order. */
const bit = { costMs: 1, keys: 2, tags: 4, group: 8, clientId: 16, offsetMsgId: 32, queueId: 64, queueOffset: 128, storeTimeMs: 256, reconsumeTimes: 512, deliverAtMs: 1024, traceparent: 2048, detail: 4096, beforeMs: 8192 } as const;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Encodes hops into one reused buffer; `take` copies out one body. Not reentrant (no await inside). */
class TraceEncoder {
  private bytes = new Uint8Array(64 * 1024);
  private view = new DataView(this.bytes.buffer);
  private at = 0;
  private strings = new Map<string, number>();
  private table: string[] = [];

  encode(hops: readonly RecordedHop[], start: number, end: number): Uint8Array {
    this.at = 7;
    this.strings.clear();
    this.table.length = 0;
    for (let index = start; index < end; index++) this.hop(hops[index]!);
    const tableAt = this.at;
    this.ensure(2);
    this.view.setUint16(this.at, this.table.length);
    this.at += 2;
    for (const text of this.table) this.text(text, 2);
    this.bytes[0] = traceBinaryFormat;
    this.view.setUint16(1, end - start);
    this.view.setUint32(3, tableAt);
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
    this.ensure(12);
    const view = this.view;
    this.bytes[this.at] = traceHopNames.indexOf(hop.hop);
    this.bytes[this.at + 1] = hop.status === "ok" ? 0 : 1;
    view.setUint16(this.at + 2, bits);
    this.at += 4;
    this.text(hop.msgId, 1);
    this.ensure(12);
    view.setUint16(this.at, this.ref(hop.topic));
    view.setUint16(this.at + 2, this.ref(hop.host));
    view.setFloat64(this.at + 4, hop.timeMs);
    this.at += 12;
    if ((bits & bit.costMs) !== 0) this.number(hop.costMs!);
    if ((bits & bit.keys) !== 0) {
      const keys = hop.keys!;
      this.ensure(1);
      this.bytes[this.at++] = Math.min(keys.length, 255);
      for (let index = 0; index < keys.length && index < 255; index++) this.text(keys[index]!, 2);
    }
    if ((bits & bit.tags) !== 0) this.refOf(hop.tags!);
    if ((bits & bit.group) !== 0) this.refOf(hop.group!);
    if ((bits & bit.clientId) !== 0) this.refOf(hop.clientId!);
    if ((bits & bit.offsetMsgId) !== 0) this.text(hop.offsetMsgId!, 1);
    if ((bits & bit.queueId) !== 0) this.uint32(hop.queueId!);
    if ((bits & bit.queueOffset) !== 0) this.number(hop.queueOffset!);
    if ((bits & bit.storeTimeMs) !== 0) this.number(hop.storeTimeMs!);
    if ((bits & bit.reconsumeTimes) !== 0) this.uint32(hop.reconsumeTimes!);
    if ((bits & bit.deliverAtMs) !== 0) this.number(hop.deliverAtMs!);
    if ((bits & bit.traceparent) !== 0) this.text(hop.traceparent!, 2);
    if ((bits & bit.detail) !== 0) this.text(hop.detail!, 2);
    if ((bits & bit.beforeMs) !== 0) this.number(hop.beforeMs!);
  }

  private number(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.at, value);
    this.at += 8;
  }

  private uint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.at, value);
    this.at += 4;
  }

  private refOf(text: string): void {
    this.ensure(2);
    this.view.setUint16(this.at, this.ref(text));
    this.at += 2;
  }

  /** The string table index of `text`, added on first use. */
  private ref(text: string): number {
    let index = this.strings.get(text);
    if (index === undefined) {
      index = this.table.length;
      this.table.push(text);
      this.strings.set(text, index);
    }
    return index;
  }

  /** A length-prefixed string: ASCII byte by byte (msgIds, hosts), else through the UTF-8 encoder. */
  private text(value: string, lengthBytes: 1 | 2): void {
    const lengthMax = lengthBytes === 1 ? 255 : 65_535;
    const text = value.length > traceTextCharsMax ? value.slice(0, traceTextCharsMax) : value;
    this.ensure(lengthBytes + text.length * 3);
    const start = this.at + lengthBytes;
    const bytes = this.bytes;
    let index = 0;
    for (; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) break;
      bytes[start + index] = code;
    }
    let length = index;
    if (index < text.length) length = index + textEncoder.encodeInto(text.slice(index), bytes.subarray(start + index)).written;
    length = Math.min(length, lengthMax);
    if (lengthBytes === 1) bytes[this.at] = length;
    else this.view.setUint16(this.at, length);
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

/** The hops of a binary trace body, a consumption's record as its two hops; throws RangeError on a body cut short. */
export function decodeTraceHops(body: Uint8Array): RecordedHop[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = view.getUint32(3);
  const table: string[] = [];
  const count = view.getUint16(at);
  at += 2;
  for (let index = 0; index < count; index++) {
    const length = view.getUint16(at);
    table.push(textDecoder.decode(slice(body, at + 2, length)));
    at += 2 + length;
  }
  const entry = (index: number): string => {
    const text = table[index];
    if (text === undefined) throw new RangeError(`string ${index} is not in the table`);
    return text;
  };
  const hops: RecordedHop[] = [];
  at = 7;
  const readText = (lengthBytes: 1 | 2): string => {
    const length = lengthBytes === 1 ? view.getUint8(at) : view.getUint16(at);
    const text = textDecoder.decode(slice(body, at + lengthBytes, length));
    at += lengthBytes + length;
    return text;
  };
  const readNumber = (): number => {
    const value = view.getFloat64(at);
    at += 8;
    return value;
  };
  const readUint32 = (): number => {
    const value = view.getUint32(at);
    at += 4;
    return value;
  };
  const readRef = (): string => {
    const value = entry(view.getUint16(at));
    at += 2;
    return value;
  };
  for (let remaining = view.getUint16(1); remaining > 0; remaining--) {
    const name = traceHopNames[view.getUint8(at)];
    if (name === undefined) throw new RangeError(`hop ${view.getUint8(at)} is not a hop name`);
    const status = view.getUint8(at + 1) === 0 ? "ok" : "failed";
    const bits = view.getUint16(at + 2);
    at += 4;
    const msgId = readText(1);
    const hop: RecordedHop = { hop: name, msgId, topic: readRef(), host: readRef(), timeMs: readNumber(), status };
    if ((bits & bit.costMs) !== 0) hop.costMs = readNumber();
    if ((bits & bit.keys) !== 0) {
      const keys: string[] = [];
      const keyCount = view.getUint8(at++);
      for (let index = 0; index < keyCount; index++) keys.push(readText(2));
      hop.keys = keys;
    }
    if ((bits & bit.tags) !== 0) hop.tags = readRef();
    if ((bits & bit.group) !== 0) hop.group = readRef();
    if ((bits & bit.clientId) !== 0) hop.clientId = readRef();
    if ((bits & bit.offsetMsgId) !== 0) hop.offsetMsgId = readText(1);
    if ((bits & bit.queueId) !== 0) hop.queueId = readUint32();
    if ((bits & bit.queueOffset) !== 0) hop.queueOffset = readNumber();
    if ((bits & bit.storeTimeMs) !== 0) hop.storeTimeMs = readNumber();
    if ((bits & bit.reconsumeTimes) !== 0) hop.reconsumeTimes = readUint32();
    if ((bits & bit.deliverAtMs) !== 0) hop.deliverAtMs = readNumber();
    if ((bits & bit.traceparent) !== 0) hop.traceparent = readText(2);
    if ((bits & bit.detail) !== 0) hop.detail = readText(2);
    if ((bits & bit.beforeMs) !== 0) hop.beforeMs = readNumber();
    hops.push(hop);
  }
  return hops;
}

function slice(body: Uint8Array, start: number, length: number): Uint8Array {
  if (start + length > body.length) throw new RangeError("the trace body is cut short");
  return body.subarray(start, start + length);
}
