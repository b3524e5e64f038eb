/**
 * A streaming frame decoder: bytes go in as they arrive (split anywhere, many frames a chunk),
 * frames come out one `next()` at a time. Layout and header rules are in `frame.ts`.
 *
 * A bad frame is reported as a value, not thrown, and says whether the stream survives it:
 * - `malformed`: both length fields were sane, so the frame's bytes were skipped and the next
 *   frame starts where expected. The receiver answers with an error and carries on.
 * - `fatal`: a length field is impossible or over the limit, so frame boundaries are lost. The
 *   decoder refuses everything after it; the receiver closes the connection.
 *
 * Memory: unconsumed input is kept as a list of chunks (no quadratic regrowth). A frame wholly
 * inside one chunk is returned as a view of that chunk (zero copy); one spanning chunks is
 * assembled by one copy. Nothing is buffered past `frameBytesMax` for the frame in progress.
 */

import { Unpackr } from "msgpackr";
import { MqError } from "../common/errors.ts";
import {
  type Frame,
  type FrameLimits,
  type HeaderFields,
  defaultFrameLimits,
  frameCodeMax,
  frameFlagsKnown,
  frameOpaqueMax,
} from "./frame.ts";
import { namedHeader } from "./compact-header.ts";
import { framePrefixBytes } from "./limits.ts";

/** A frame the decoder rejected. `opaque`/`flags` are set when the header got that far. */
export class FrameError extends MqError {
  override name = "FrameError";
  /** True when later frames can still be decoded; false when the connection must close. */
  readonly streamIntact: boolean;
  readonly opaque: number | undefined;
  readonly flags: number | undefined;

  constructor(options: { tooLarge?: { bytes: number; limit: number }; reason?: string; streamIntact: boolean; opaque?: number; flags?: number }) {
    if (options.tooLarge !== undefined) super("FRAME_TOO_LARGE", options.tooLarge);
    else super("MALFORMED_FRAME", { reason: options.reason ?? "unknown" });
    this.streamIntact = options.streamIntact;
    this.opaque = options.opaque;
    this.flags = options.flags;
  }
}

export type DecodeStep =
  | { readonly status: "frame"; readonly frame: Frame }
  | { readonly status: "need_more" }
  | { readonly status: "malformed"; readonly error: FrameError }
  | { readonly status: "fatal"; readonly error: FrameError };

const needMore: DecodeStep = { status: "need_more" };

// Integers beyond 2^53 become inexact numbers, which schemas then reject as unsafe; never BigInt.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

export class FrameDecoder {
  private readonly limits: FrameLimits;
  private chunks: Uint8Array[] = [];
  /** Read position inside chunks[0]. */
  private headOffset = 0;
  private available = 0;
  private fatal: FrameError | undefined;

  constructor(limits: Partial<FrameLimits> = {}) {
    this.limits = { ...defaultFrameLimits, ...limits };
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.available;
  }

  /** Hands the decoder more bytes. The chunk is kept by reference: the caller must not reuse it. */
  push(chunk: Uint8Array): void {
    if (this.fatal !== undefined || chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.byteLength;
  }

  /** Returns the next frame, a rejected frame, or `need_more`. After `fatal` it stays fatal. */
  next(): DecodeStep {
    if (this.fatal !== undefined) return { status: "fatal", error: this.fatal };
    if (this.available < 4) return needMore;
    const totalLength = this.peekUint32(0);
    const frameBytes = totalLength + 4;
    if (frameBytes > this.limits.frameBytesMax) {
      return this.fail(new FrameError({ tooLarge: { bytes: frameBytes, limit: this.limits.frameBytesMax }, streamIntact: false }));
    }
    if (totalLength < 4) {
      return this.fail(new FrameError({ reason: `total length is ${totalLength}, minimum is 4`, streamIntact: false }));
    }
    if (this.available < framePrefixBytes) return needMore;
    const headerLength = this.peekUint32(4);
    if (headerLength > totalLength - 4) {
      return this.fail(new FrameError({ reason: `header length ${headerLength} passes total length ${totalLength}`, streamIntact: false }));
    }
    if (this.available < frameBytes) return needMore;
    const frame = this.take(frameBytes);
    if (headerLength > this.limits.headerBytesMax) {
      const error = new FrameError({ reason: `header is ${headerLength} bytes, limit is ${this.limits.headerBytesMax}`, streamIntact: true });
      return { status: "malformed", error };
    }
    const headerBytes = frame.subarray(framePrefixBytes, framePrefixBytes + headerLength);
    const body = frame.subarray(framePrefixBytes + headerLength);
    return decodeHeader(headerBytes, body);
  }

  private fail(error: FrameError): DecodeStep {
    this.fatal = error;
    this.chunks = [];
    this.headOffset = 0;
    this.available = 0;
    return { status: "fatal", error };
  }

  /** Reads a big-endian u32 at `offset` past the read position, across chunk boundaries. */
  private peekUint32(offset: number): number {
    const first = this.chunks[0]!;
    const start = this.headOffset + offset;
    if (start + 4 <= first.byteLength) {
      return ((first[start]! << 24) | (first[start + 1]! << 16) | (first[start + 2]! << 8) | first[start + 3]!) >>> 0;
    }
    let value = 0;
    for (let index = 0; index < 4; index++) value = value * 256 + this.byteAt(offset + index);
    return value;
  }

  private byteAt(offset: number): number {
    let position = this.headOffset + offset;
    for (const chunk of this.chunks) {
      if (position < chunk.byteLength) return chunk[position]!;
      position -= chunk.byteLength;
    }
    throw new Error(`FrameDecoder read past its input at offset ${offset}`);
  }

  /** Removes `length` bytes from the front: a view when they lie in one chunk, else a copy. */
  private take(length: number): Uint8Array {
    this.available -= length;
    const first = this.chunks[0]!;
    const start = this.headOffset;
    if (start + length <= first.byteLength) {
      this.headOffset += length;
      if (this.headOffset === first.byteLength) {
        this.chunks.shift();
        this.headOffset = 0;
      }
      return first.subarray(start, start + length);
    }
    const out = new Uint8Array(length);
    let written = 0;
    while (written < length) {
      const chunk = this.chunks[0]!;
      const from = this.headOffset;
      const count = Math.min(chunk.byteLength - from, length - written);
      out.set(chunk.subarray(from, from + count), written);
      written += count;
      if (from + count === chunk.byteLength) {
        this.chunks.shift();
        this.headOffset = 0;
      } else {
        this.headOffset = from + count;
      }
    }
    return out;
  }
}

function malformed(reason: string, opaque?: number, flags?: number): DecodeStep {
  return { status: "malformed", error: new FrameError({ reason, streamIntact: true, opaque, flags }) };
}

function isUint(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Decodes and checks the header (a map, or a hot code's compact array); the frame's bytes are already consumed either way. */
export function decodeHeader(headerBytes: Uint8Array, body: Uint8Array): DecodeStep {
  if (headerBytes.byteLength === 0) return malformed("header is empty");
  let header: unknown;
  try {
    header = unpackr.unpack(headerBytes);
  } catch (error) {
    // Bad msgpack, trailing bytes, unknown extensions and nesting deep enough to exhaust the stack.
    return malformed(`header is not msgpack (${error instanceof Error ? error.message : String(error)})`);
  }
  const compact = Array.isArray(header);
  if (compact) {
    const array = header as unknown[];
    const named = namedHeader(array);
    if (typeof named === "string") return malformed(named, isUint(array[1], frameOpaqueMax) ? array[1] : undefined, isUint(array[2], frameFlagsKnown) ? array[2] : undefined);
    header = named;
  } else if (typeof header !== "object" || header === null || Object.getPrototypeOf(header) !== Object.prototype) {
    return malformed("header is not a map");
  }
  const fields = header as Record<string, unknown>;
  const opaque = isUint(fields.opaque, frameOpaqueMax) ? fields.opaque : undefined;
  const flagsValue = fields.flags ?? 0;
  const flags = isUint(flagsValue, frameFlagsKnown) ? flagsValue : undefined;
  if (opaque === undefined) return malformed(`header field "opaque" must be a u32, got ${describe(fields.opaque)}`, undefined, flags);
  if (flags === undefined) return malformed(`header field "flags" must be an integer 0..${frameFlagsKnown}, got ${describe(fields.flags)}`, opaque);
  if (!isUint(fields.code, frameCodeMax)) return malformed(`header field "code" must be a u16, got ${describe(fields.code)}`, opaque, flags);
  if (fields.remark !== undefined && typeof fields.remark !== "string") return malformed(`header field "remark" must be a string, got ${describe(fields.remark)}`, opaque, flags);
  if (fields.errorName !== undefined && typeof fields.errorName !== "string") return malformed(`header field "errorName" must be a string, got ${describe(fields.errorName)}`, opaque, flags);
  return { status: "frame", frame: compact ? { code: fields.code, opaque, flags, header: fields as HeaderFields, body, compact } : { code: fields.code, opaque, flags, header: fields as HeaderFields, body } };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return Array.isArray(value) ? "an array" : typeof value === "object" && value !== null ? "a map" : typeof value;
}
