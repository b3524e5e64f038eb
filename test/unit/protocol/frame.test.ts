import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.ts";
import { type Frame, type FrameInput, FrameFlag, encodeFrame, encodeFrameHead, isOneway, isResponse } from "../../../src/protocol/frame.ts";

function decodeOne(bytes: Uint8Array): Frame {
  const decoder = new FrameDecoder();
  decoder.push(bytes);
  const step = decoder.next();
  if (step.status !== "frame") throw new Error(`expected a frame, got ${step.status}: ${"error" in step ? step.error.message : ""}`);
  expect(decoder.next().status).toBe("need_more");
  return step.frame;
}

describe("Frame codec", () => {
  test("round trips code, opaque, flags, fields and body", () => {
    const body = new TextEncoder().encode("hello");
    const input: FrameInput = {
      code: 10,
      opaque: 4_294_967_295,
      flags: FrameFlag.oneway,
      fields: { topic: "orders", queueId: 3, offset: 2 ** 40, tags: "a", properties: { k: "v" }, ok: true, raw: new Uint8Array([1, 2]) },
      body,
    };
    const frame = decodeOne(encodeFrame(input));
    expect(frame.code).toBe(10);
    expect(frame.opaque).toBe(4_294_967_295);
    expect(isOneway(frame)).toBe(true);
    expect(isResponse(frame)).toBe(false);
    expect(frame.header.topic).toBe("orders");
    expect(frame.header.offset).toBe(2 ** 40);
    expect(frame.header.properties).toEqual({ k: "v" });
    expect(new Uint8Array(frame.header.raw as Uint8Array)).toEqual(new Uint8Array([1, 2]));
    expect(new TextDecoder().decode(frame.body)).toBe("hello");
  });

  test("round trips an error response with remark and errorName", () => {
    const frame = decodeOne(encodeFrame({ code: 2001, opaque: 7, flags: FrameFlag.response, remark: 'Cannot find topic "x"', errorName: "TOPIC_NOT_FOUND" }));
    expect(isResponse(frame)).toBe(true);
    expect(frame.header.remark).toBe('Cannot find topic "x"');
    expect(frame.header.errorName).toBe("TOPIC_NOT_FOUND");
    expect(frame.body.byteLength).toBe(0);
  });

  test("writes big-endian lengths: total counts everything after itself", () => {
    const body = new Uint8Array([9, 9, 9]);
    const bytes = encodeFrame({ code: 1, opaque: 1, body });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getUint32(0)).toBe(bytes.byteLength - 4);
    const headerLength = view.getUint32(4);
    expect(8 + headerLength + body.byteLength).toBe(bytes.byteLength);
    // A msgpack map (msgpackr writes map16 for objects) whose first key is "code".
    expect([0xde, 0xdf].includes(bytes[8]!) || (bytes[8]! & 0xf0) === 0x80).toBe(true);
    expect(bytes[11]).toBe(0xa4); // fixstr of 4
    expect(new TextDecoder().decode(bytes.subarray(12, 16))).toBe("code");
  });

  test("copies the packed header, so encoding the next frame does not change it", () => {
    const first = encodeFrameHead({ code: 1, opaque: 1, fields: { topic: "first" } });
    const snapshot = first.slice();
    encodeFrameHead({ code: 2, opaque: 2, fields: { topic: "second-and-longer" } });
    expect(first).toEqual(snapshot);
  });

  test("leaves out fields whose value is undefined", () => {
    const frame = decodeOne(encodeFrame({ code: 1, opaque: 1, fields: { topic: "t", tags: undefined } }));
    expect(Object.hasOwn(frame.header, "tags")).toBe(false);
  });

  test("refuses a field named like a reserved header key", () => {
    expect(() => encodeFrame({ code: 1, opaque: 1, fields: { opaque: 5 } })).toThrow(/reserved header key/);
  });

  test("refuses a code that is not a u16 and an opaque that is not a u32", () => {
    expect(() => encodeFrame({ code: 65_536, opaque: 1 })).toThrow(/not a u16/);
    expect(() => encodeFrame({ code: 1, opaque: -1 })).toThrow(/not a u32/);
  });

  test("refuses to encode a header or frame past its limit with FRAME_TOO_LARGE", () => {
    const limits = { frameBytesMax: 1024, headerBytesMax: 100 };
    const bigHeader = () => encodeFrame({ code: 1, opaque: 1, fields: { text: "x".repeat(200) } }, limits);
    expect(bigHeader).toThrow(/header is \d+ bytes, limit is 100/);
    try {
      encodeFrame({ code: 1, opaque: 1, body: new Uint8Array(1024) }, limits);
      throw new Error("expected FRAME_TOO_LARGE");
    } catch (error) {
      expect(isMqError(error, "FRAME_TOO_LARGE")).toBe(true);
    }
  });
});
