/**
 * Message ids, as the seed describes them (upper-case hex):
 * - msgId, made by the producer: ip (4 bytes) + pid (2) + instance hash (4) + time (4) + counter (2),
 *   32 hex characters;
 * - offsetMsgId, made by the broker: its advertised address + port (4) + CommitLog physical
 *   offset (8), so the broker finds the record directly from it. An IPv4 broker's is 16 bytes
 *   (32 hex: ip 4 + port 4 + offset 8), an IPv6 broker's 28 (56 hex: ip 16 + port 4 + offset 8),
 *   as RocketMQ does. The address and port make ids of two brokers differ, so a broker reads
 *   only ids that start with its own address and port.
 */

import { MqError } from "./errors.ts";
import { formatIpv6, parseIpAddress } from "./ip-address.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "./offsets.ts";

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
  physicalOffset: PhysicalOffset;
}

/**
 * The leading hex of every offsetMsgId a broker at `host:port` makes: 16 characters for an IPv4
 * host, 40 for an IPv6 one. `host` must be an IP literal (the advertised address, resolved at start).
 */
export function offsetMsgIdPrefix(host: string, port: number): string {
  const ip = parseIpAddress(host);
  if (ip === undefined) throw new MqError("INVALID_FIELD", { field: "host", reason: `must be an IPv4 or IPv6 address to make an offsetMsgId, got "${host}"` });
  const bytes = new Uint8Array(ip.bytes.length + 4);
  bytes.set(ip.bytes, 0);
  new DataView(bytes.buffer).setUint32(ip.bytes.length, port);
  return bytesToHex(bytes);
}

export function encodeOffsetMsgId(parts: OffsetMsgIdParts): string {
  return offsetMsgIdPrefix(parts.host, parts.port) + offsetHex(parts.physicalOffset);
}

/** 16 hex digits of a CommitLog offset (< 2^53): two 32-bit halves, a table lookup per byte. */
export function offsetHex(physicalOffset: PhysicalOffset): string {
  const high = Math.floor(physicalOffset / 2 ** 32);
  const low = physicalOffset >>> 0;
  return hex[high >>> 24]! + hex[(high >>> 16) & 0xff] + hex[(high >>> 8) & 0xff] + hex[high & 0xff] + hex[low >>> 24] + hex[(low >>> 16) & 0xff] + hex[(low >>> 8) & 0xff] + hex[low & 0xff];
}

const idPattern = /^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/;

/** An offsetMsgId's shape: 32 hex characters (IPv4 broker) or 56 (IPv6 broker). */
export const offsetMsgIdPattern = idPattern;

/** 32 hex characters (a msgId, or an IPv4 broker's offsetMsgId) or 56 (an IPv6 broker's offsetMsgId). */
export function isMessageIdShape(id: string): boolean {
  return idPattern.test(id);
}

export function decodeOffsetMsgId(id: string): OffsetMsgIdParts {
  if (!idPattern.test(id)) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "expected 32 hex characters (an IPv4 broker's) or 56 (an IPv6 broker's)" });
  const bytes = Uint8Array.from(id.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
  const view = new DataView(bytes.buffer);
  const hostBytes = bytes.length === 16 ? 4 : 16;
  const high = view.getUint32(hostBytes + 4);
  if (high >= 2 ** 21) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "physical offset is beyond 2^53" });
  return {
    host: hostBytes === 4 ? bytes.subarray(0, 4).join(".") : formatIpv6(bytes.subarray(0, 16)),
    port: view.getUint32(hostBytes),
    physicalOffset: toPhysicalOffset(high * 2 ** 32 + view.getUint32(hostBytes + 8)),
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
