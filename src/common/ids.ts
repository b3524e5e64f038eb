/**
 * Message ids, as the seed describes them (32 hex characters each):
 * - msgId, made by the producer: ip (4 bytes) + pid (2) + instance hash (4) + time (4) + counter (2);
 * - offsetMsgId, made by the broker: ip (4) + port (4) + CommitLog physical offset (8), so the
 *   broker finds the record directly from it.
 */

import { MqError } from "./errors.ts";

const hex = Array.from({ length: 256 }, (_, index) => index.toString(16).toUpperCase().padStart(2, "0"));

function bytesToHex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += hex[byte];
  return text;
}

export function ipv4ToBytes(ip: string): [number, number, number, number] {
  const parts = ip.split(".").map((part) => Number(part));
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    return [127, 0, 0, 1];
  }
  return parts as [number, number, number, number];
}

export interface OffsetMsgIdParts {
  host: string;
  port: number;
  physicalOffset: number;
}

export function encodeOffsetMsgId(parts: OffsetMsgIdParts): string {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  bytes.set(ipv4ToBytes(parts.host), 0);
  view.setUint32(4, parts.port);
  view.setUint32(8, Math.floor(parts.physicalOffset / 2 ** 32));
  view.setUint32(12, parts.physicalOffset >>> 0);
  return bytesToHex(bytes);
}

const idPattern = /^[0-9A-Fa-f]{32}$/;

export function isMessageIdShape(id: string): boolean {
  return idPattern.test(id);
}

export function decodeOffsetMsgId(id: string): OffsetMsgIdParts {
  if (!idPattern.test(id)) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "expected 32 hex characters" });
  const bytes = Uint8Array.from(id.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  const view = new DataView(bytes.buffer);
  const high = view.getUint32(8);
  if (high >= 2 ** 21) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "physical offset is beyond 2^53" });
  return {
    host: `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`,
    port: view.getUint32(4),
    physicalOffset: high * 2 ** 32 + view.getUint32(12),
  };
}

export interface MsgIdSource {
  ip: string;
  pid: number;
  instanceHash: number;
}

/** Makes producer msgIds: unique per process through the counter, across hosts through ip + pid. */
export class MsgIdGenerator {
  private readonly prefix: string;
  private counter = 0;
  private readonly epochMs: number;

  constructor(source: MsgIdSource, private readonly nowMs: () => number = Date.now) {
    const bytes = new Uint8Array(10);
    const view = new DataView(bytes.buffer);
    bytes.set(ipv4ToBytes(source.ip), 0);
    view.setUint16(4, source.pid & 0xffff);
    view.setUint32(6, source.instanceHash >>> 0);
    this.prefix = bytesToHex(bytes);
    const now = new Date(this.nowMs());
    this.epochMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  }

  next(): string {
    // Hex of the u32 time and u16 counter directly: no per-id buffer (REST batches make 100s at once).
    const time = (this.nowMs() - this.epochMs) >>> 0;
    const id = this.prefix + hex[time >>> 24]! + hex[(time >>> 16) & 255]! + hex[(time >>> 8) & 255]! + hex[time & 255]! + hex[this.counter >>> 8]! + hex[this.counter & 255]!;
    this.counter = (this.counter + 1) & 0xffff;
    return id;
  }
}
