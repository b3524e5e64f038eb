/**
 * The frame: the unit of the wire protocol, and its encoder (the decoder is `frame-decoder.ts`).
 *
 *   offset 0   u32 BE  total length  (bytes after this field: 4 + header length + body length)
 *   offset 4   u32 BE  header length
 *   offset 8   header  a msgpack map: code, opaque, flags, [remark, errorName], request fields;
 *                      or, for the hot codes only, a msgpack array (compact-header.ts)
 *   offset 8+h body    raw bytes, never re-encoded (message payloads, CommitLog slices)
 *
 * Header keys `code`, `opaque`, `flags`, `remark` and `errorName` are reserved; every other key
 * is a field of the request or response. Flags: bit 0 = response, bit 1 = oneway; other bits
 * must be zero. A response carries its request's opaque; code 0 is success, any other code is
 * an error code from the catalogue (`src/common/errors.ts`) with the message in `remark`.
 */

import { Packr } from "msgpackr";
import { assert } from "../common/assert.ts";
import { MqError } from "../common/errors.ts";
import { compactHeader } from "./compact-header.ts";
import { frameBytesMax, frameHeaderBytesMax, framePrefixBytes } from "./limits.ts";

export const FrameFlag = {
  response: 1,
  oneway: 2,
} as const;
export const frameFlagsKnown = FrameFlag.response | FrameFlag.oneway;

/** Largest request or response code: codes are u16 so every language holds them plainly. */
export const frameCodeMax = 0xffff;
/** Largest opaque: a u32. Opaque 0 is reserved for errors that cannot name their request. */
export const frameOpaqueMax = 0xffff_ffff;

export const reservedHeaderKeys = ["code", "opaque", "flags", "remark", "errorName"] as const;

const reservedKeySet: ReadonlySet<string> = new Set(reservedHeaderKeys);

export type HeaderFields = Readonly<Record<string, unknown>>;

export interface Frame {
  readonly code: number;
  readonly opaque: number;
  readonly flags: number;
  /** The whole decoded header map, reserved keys included; validate fields before use. */
  readonly header: HeaderFields;
  readonly body: Uint8Array;
  /** The header came as a compact array (compact-header.ts): answer in kind. */
  readonly compact?: boolean;
}

export interface FrameInput {
  code: number;
  opaque: number;
  flags?: number;
  fields?: HeaderFields;
  /** Responses only: the error message (the catalogue's text). */
  remark?: string;
  /** Responses only: the catalogue name of the error, for readability; clients compare code. */
  errorName?: string;
  body?: Uint8Array;
  /**
   * Encode the header as a compact array when the code has one (compact-header.ts) and every
   * field is in its order; a map otherwise. A response gives `requestCode`, the code it answers.
   */
  compact?: boolean;
  requestCode?: number;
}

export const emptyBody = new Uint8Array(0);

export const isResponse = (frame: { flags: number }): boolean => (frame.flags & FrameFlag.response) !== 0;
export const isOneway = (frame: { flags: number }): boolean => (frame.flags & FrameFlag.oneway) !== 0;

// Plain maps (no msgpackr records) so any msgpack implementation reads the header.
const packr = new Packr({ useRecords: false });

/**
 * Encodes the prefix and header of a frame; the body is sent after it as is, so a large body
 * is never copied here. Throws FRAME_TOO_LARGE when the header or the frame passes its limit.
 */
export function encodeFrameHead(input: FrameInput, limits: FrameLimits = defaultFrameLimits): Uint8Array {
  assert(Number.isInteger(input.code) && input.code >= 0 && input.code <= frameCodeMax, `Cannot encode frame: code ${input.code} is not a u16`);
  assert(Number.isInteger(input.opaque) && input.opaque >= 0 && input.opaque <= frameOpaqueMax, `Cannot encode frame: opaque ${input.opaque} is not a u32`);
  const compact = input.compact === true && input.remark === undefined ? compactHeader(input.code, input.opaque, input.flags ?? 0, input.fields, input.requestCode) : undefined;
  return frameHead(compact ?? mapHeader(input), input.body?.byteLength ?? 0, limits);
}

function mapHeader(input: FrameInput): Record<string, unknown> {
  // Reserved keys first, so a reader in any language meets code and opaque before the fields.
  const header: Record<string, unknown> = { code: input.code, opaque: input.opaque, flags: input.flags ?? 0 };
  if (input.remark !== undefined) header.remark = input.remark;
  if (input.errorName !== undefined) header.errorName = input.errorName;
  const fields = input.fields;
  for (const key in fields) {
    const value = fields[key];
    // msgpackr writes undefined as an extension other languages cannot read: leave it out.
    if (value === undefined) continue;
    assert(!reservedKeySet.has(key), `Cannot encode frame: field "${key}" is a reserved header key`);
    header[key] = value;
  }
  return header;
}

function frameHead(header: unknown, bodyBytes: number, limits: FrameLimits): Uint8Array {
  // pack() returns a view of a buffer it reuses: it is copied into `head` below before the next pack.
  const packed = packr.pack(header);
  if (packed.byteLength > limits.headerBytesMax) {
    throw new MqError("FRAME_TOO_LARGE", { bytes: packed.byteLength, limit: limits.headerBytesMax }, {
      message: `Cannot encode frame: header is ${packed.byteLength} bytes, limit is ${limits.headerBytesMax}`,
    });
  }
  const frameBytes = framePrefixBytes + packed.byteLength + bodyBytes;
  if (frameBytes > limits.frameBytesMax) {
    throw new MqError("FRAME_TOO_LARGE", { bytes: frameBytes, limit: limits.frameBytesMax }, {
      message: `Cannot encode frame: frame is ${frameBytes} bytes, limit is ${limits.frameBytesMax}`,
    });
  }
  const head = new Uint8Array(framePrefixBytes + packed.byteLength);
  // Byte by byte: a DataView needs `head.buffer`, whose first access costs more than the frame.
  writeUint32(head, 0, frameBytes - 4);
  writeUint32(head, 4, packed.byteLength);
  head.set(packed, framePrefixBytes);
  return head;
}

function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** Encodes a whole frame into one new buffer (copies the body; use for small frames and tests). */
export function encodeFrame(input: FrameInput, limits: FrameLimits = defaultFrameLimits): Uint8Array {
  const head = encodeFrameHead(input, limits);
  const body = input.body ?? emptyBody;
  if (body.byteLength === 0) return head;
  const frame = new Uint8Array(head.byteLength + body.byteLength);
  frame.set(head, 0);
  frame.set(body, head.byteLength);
  return frame;
}

export interface FrameLimits {
  /** Largest whole frame, leading length field included. */
  readonly frameBytesMax: number;
  readonly headerBytesMax: number;
}

export const defaultFrameLimits: FrameLimits = { frameBytesMax, headerBytesMax: frameHeaderBytesMax };
