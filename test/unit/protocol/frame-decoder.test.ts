import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { type DecodeStep, FrameDecoder } from "../../../src/protocol/frame-decoder.ts";
import { type FrameInput, FrameFlag, encodeFrame } from "../../../src/protocol/frame.ts";
import { frameBytesMax, frameHeaderBytesMax } from "../../../src/protocol/limits.ts";
import { withSeed } from "../../helpers/seeded-random.ts";

const packr = new Packr({ useRecords: false });

/** A frame built by hand: any header bytes, any lengths. */
function rawFrame(options: { header: Uint8Array; body?: Uint8Array; totalLength?: number; headerLength?: number }): Uint8Array {
  const body = options.body ?? new Uint8Array(0);
  const out = new Uint8Array(8 + options.header.byteLength + body.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, options.totalLength ?? out.byteLength - 4);
  view.setUint32(4, options.headerLength ?? options.header.byteLength);
  out.set(options.header, 8);
  out.set(body, 8 + options.header.byteLength);
  return out;
}

function steps(decoder: FrameDecoder): DecodeStep[] {
  const out: DecodeStep[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const step = decoder.next();
    if (step.status === "need_more") return out;
    out.push(step);
    if (step.status === "fatal") return out;
  }
  throw new Error("decoder did not settle");
}

function decodeAll(bytes: Uint8Array, limits?: { frameBytesMax?: number; headerBytesMax?: number }): DecodeStep[] {
  const decoder = new FrameDecoder(limits);
  decoder.push(bytes);
  return steps(decoder);
}

const sample: FrameInput[] = [
  { code: 10, opaque: 1, fields: { topic: "orders", queueId: 0 }, body: new TextEncoder().encode("payload") },
  { code: 0, opaque: 1, flags: FrameFlag.response, fields: { queueOffset: 41 } },
  { code: 12, opaque: 2, flags: FrameFlag.oneway, body: new Uint8Array(300).fill(7) },
  // Compact headers (compact-header.ts): a hot request and its answer, split and mutated like the rest.
  { code: 10, opaque: 3, fields: { producerGroup: "shop", topic: "orders", queueId: 0, msgId: "0A00000512349ABCDEF0209D9C000000", bornTimestampMs: 1_765_094_400_000, keys: ["k"] }, body: new TextEncoder().encode("x"), compact: true },
  { code: 0, opaque: 3, flags: FrameFlag.response, fields: { status: "found", nextOffset: 8, minOffset: 0, maxOffset: 8 }, compact: true, requestCode: 12 },
];
const sampleBytes = sample.map((input) => encodeFrame(input));
const stream = Uint8Array.from(sampleBytes.flatMap((bytes) => [...bytes]));

function expectSample(found: DecodeStep[]): void {
  expect(found.map((step) => step.status)).toEqual(["frame", "frame", "frame", "frame", "frame"]);
  const frames = found.map((step) => (step.status === "frame" ? step.frame : undefined));
  expect(frames.map((frame) => frame?.code)).toEqual([10, 0, 12, 10, 0]);
  expect(frames.map((frame) => frame?.opaque)).toEqual([1, 1, 2, 3, 3]);
  expect(frames.map((frame) => frame?.flags)).toEqual([0, 1, 2, 0, 1]);
  expect(frames.map((frame) => frame?.compact === true)).toEqual([false, false, false, true, true]);
  expect(frames[0]?.header.topic).toBe("orders");
  expect([frames[3]?.header.topic, frames[3]?.header.keys, frames[4]?.header.status]).toEqual(["orders", ["k"], "found"]);
  expect(new TextDecoder().decode(frames[0]?.body)).toBe("payload");
  expect(frames[2]?.body).toEqual(new Uint8Array(300).fill(7));
}

describe("FrameDecoder", () => {
  test("decodes many frames from one chunk", () => {
    expectSample(decodeAll(stream));
  });

  test("decodes a stream split at every byte boundary", () => {
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const decoder = new FrameDecoder();
      decoder.push(stream.subarray(0, cut));
      const found = steps(decoder);
      decoder.push(stream.subarray(cut));
      found.push(...steps(decoder));
      expectSample(found);
      expect(decoder.bufferedBytes).toBe(0);
    }
  });

  test("decodes a stream split at every pair of byte boundaries", () => {
    const bytes = sampleBytes[0]!;
    for (let first = 0; first <= bytes.byteLength; first++) {
      for (let second = first; second <= bytes.byteLength; second++) {
        const decoder = new FrameDecoder();
        const found: DecodeStep[] = [];
        for (const piece of [bytes.subarray(0, first), bytes.subarray(first, second), bytes.subarray(second)]) {
          decoder.push(piece);
          found.push(...steps(decoder));
        }
        expect(found.map((step) => step.status)).toEqual(["frame"]);
      }
    }
  });

  test("decodes a stream delivered one byte at a time", () => {
    const decoder = new FrameDecoder();
    const found: DecodeStep[] = [];
    for (const byte of stream) {
      decoder.push(new Uint8Array([byte]));
      found.push(...steps(decoder));
    }
    expectSample(found);
  });

  test("decodes random frames in random chunks (seeded)", () => {
    withSeed((random) => {
      for (let round = 0; round < 50; round++) {
        const inputs: FrameInput[] = Array.from({ length: 1 + random.int(8) }, (_, index) => ({
          code: random.int(65_536),
          opaque: random.int(2 ** 32),
          flags: random.int(4),
          fields: { text: "x".repeat(random.int(100)), n: random.int(1_000_000) },
          body: random.bytes(random.int(2_000)),
        }));
        const all = Uint8Array.from(inputs.flatMap((input) => [...encodeFrame(input)]));
        const decoder = new FrameDecoder();
        const found: DecodeStep[] = [];
        for (let offset = 0; offset < all.byteLength; ) {
          const size = 1 + random.int(700);
          decoder.push(all.slice(offset, offset + size));
          found.push(...steps(decoder));
          offset += size;
        }
        expect(found.length).toBe(inputs.length);
        found.forEach((step, index) => {
          if (step.status !== "frame") throw new Error(`frame ${index} did not decode: ${step.status}`);
          expect(step.frame.code).toBe(inputs[index]!.code);
          expect(step.frame.opaque).toBe(inputs[index]!.opaque);
          expect(step.frame.header.n).toBe(inputs[index]!.fields!.n);
          expect(step.frame.body).toEqual(inputs[index]!.body!);
        });
      }
    });
  });

  test("turns random bytes into codec errors only, never a crash or an over-read (seeded)", () => {
    withSeed((random) => {
      const limits = { frameBytesMax: 4096, headerBytesMax: 1024 };
      for (let round = 0; round < 2_000; round++) {
        const decoder = new FrameDecoder(limits);
        // Half the rounds start with plausible lengths so the header decoder sees garbage too.
        const garbage = random.bytes(random.int(600));
        const bytes = round % 2 === 0 ? garbage : rawFrame({ header: garbage.subarray(0, random.int(garbage.byteLength + 1)), body: random.bytes(random.int(50)) });
        for (let offset = 0; offset < bytes.byteLength; ) {
          const size = 1 + random.int(64);
          decoder.push(bytes.subarray(offset, offset + size));
          for (const step of steps(decoder)) {
            if (step.status === "frame" || step.status === "need_more") continue; // random bytes can be a valid frame
            expect(["MALFORMED_FRAME", "FRAME_TOO_LARGE"]).toContain(step.error.errorName);
          }
          offset += size;
        }
        expect(decoder.bufferedBytes).toBeLessThanOrEqual(limits.frameBytesMax);
      }
    });
  });

  test("turns mutated valid frames into codec errors only (seeded)", () => {
    withSeed((random) => {
      for (let round = 0; round < 2_000; round++) {
        const bytes = sampleBytes[random.int(sampleBytes.length)]!.slice();
        for (let flips = 1 + random.int(3); flips > 0; flips--) bytes[random.int(bytes.byteLength)] = random.int(256);
        for (const step of decodeAll(bytes)) {
          if (step.status === "malformed" || step.status === "fatal") expect(["MALFORMED_FRAME", "FRAME_TOO_LARGE"]).toContain(step.error.errorName);
        }
      }
    });
  });

  describe("frame size limit", () => {
    const frameOfSize = (frameBytes: number) => {
      const head = encodeFrame({ code: 1, opaque: 1 });
      return encodeFrame({ code: 1, opaque: 1, body: new Uint8Array(frameBytes - head.byteLength) }, { frameBytesMax: frameBytes, headerBytesMax: 1024 });
    };
    const limit = 2048;

    for (const size of [limit - 1, limit]) {
      test(`accepts a frame of ${size === limit ? "max" : "max-1"} bytes`, () => {
        const bytes = frameOfSize(size);
        expect(bytes.byteLength).toBe(size);
        expect(decodeAll(bytes, { frameBytesMax: limit }).map((step) => step.status)).toEqual(["frame"]);
      });
    }

    test("rejects a frame of max+1 bytes as fatal FRAME_TOO_LARGE before it arrives", () => {
      const bytes = frameOfSize(limit + 1);
      const found = decodeAll(bytes.subarray(0, 4), { frameBytesMax: limit });
      expect(found.length).toBe(1);
      const step = found[0]!;
      if (step.status !== "fatal") throw new Error(`expected fatal, got ${step.status}`);
      expect(step.error.errorName).toBe("FRAME_TOO_LARGE");
      expect(step.error.streamIntact).toBe(false);
      expect(step.error.message).toBe(`Cannot accept frame: ${limit + 1} bytes, limit is ${limit}`);
    });

    test("rejects a length of 2^31 with the default limits", () => {
      const bytes = new Uint8Array([0x80, 0, 0, 0]);
      const found = decodeAll(bytes);
      expect(found[0]?.status).toBe("fatal");
      expect(frameBytesMax).toBe(16 * 1024 * 1024);
    });

    test("stays fatal after a fatal error and buffers nothing more", () => {
      const decoder = new FrameDecoder();
      decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
      expect(decoder.next().status).toBe("fatal");
      decoder.push(sampleBytes[0]!);
      expect(decoder.next().status).toBe("fatal");
      expect(decoder.bufferedBytes).toBe(0);
    });

    test("rejects a total length of 0..3 as fatal (no room for the header length)", () => {
      for (const total of [0, 1, 2, 3]) {
        const bytes = new Uint8Array([0, 0, 0, total]);
        const step = decodeAll(bytes)[0]!;
        expect(step.status).toBe("fatal");
      }
    });

    test("rejects a header length past the total length as fatal", () => {
      const bytes = rawFrame({ header: packr.pack({ code: 1, opaque: 1 }), headerLength: 1000 });
      const step = decodeAll(bytes)[0]!;
      if (step.status !== "fatal") throw new Error(`expected fatal, got ${step.status}`);
      expect(step.error.message).toContain("header length 1000 passes total length");
    });
  });

  describe("header size limit", () => {
    const headerOfSize = (headerBytes: number) => {
      const base = packr.pack({ code: 1, opaque: 1, pad: "" }).byteLength;
      // str8 padding up to 255 then str16: find a pad whose packed header is exactly the size.
      for (let pad = Math.max(0, headerBytes - base - 3); pad <= headerBytes; pad++) {
        const header = new Uint8Array(packr.pack({ code: 1, opaque: 1, pad: "p".repeat(pad) }));
        if (header.byteLength === headerBytes) return header;
      }
      throw new Error(`cannot build a header of ${headerBytes} bytes`);
    };
    const limit = 1000;

    for (const size of [limit - 1, limit]) {
      test(`accepts a header of ${size === limit ? "max" : "max-1"} bytes`, () => {
        const found = decodeAll(rawFrame({ header: headerOfSize(size) }), { headerBytesMax: limit });
        expect(found.map((step) => step.status)).toEqual(["frame"]);
      });
    }

    test("skips a header of max+1 bytes as malformed and decodes the next frame", () => {
      const bytes = Uint8Array.from([...rawFrame({ header: headerOfSize(limit + 1) }), ...sampleBytes[0]!]);
      const found = decodeAll(bytes, { headerBytesMax: limit });
      expect(found.map((step) => step.status)).toEqual(["malformed", "frame"]);
      const first = found[0]!;
      if (first.status === "malformed") expect(first.error.streamIntact).toBe(true);
    });

    test("uses a 64 KiB header limit by default", () => {
      expect(frameHeaderBytesMax).toBe(64 * 1024);
    });
  });

  describe("malformed headers keep the stream intact", () => {
    const cases: Array<[string, Uint8Array, string, number | undefined]> = [
      ["an empty header (length 0)", new Uint8Array(0), "header is empty", undefined],
      ["a header that is not msgpack", new Uint8Array([0xc1, 0xc1, 0xc1]), "header is not msgpack", undefined],
      ["a header with trailing bytes", Uint8Array.from([...packr.pack({ code: 1, opaque: 1 }), 0xc0]), "header is not msgpack", undefined],
      ["a truncated header", packr.pack({ code: 1, opaque: 1, topic: "abc" }).subarray(0, 10), "header is not msgpack", undefined],
      ["an array header of a code that has no compact form", packr.pack([1, 2, 0]), "code 1 has no compact header", 2],
      ["an array header too short for its fixed elements", packr.pack([10, 2]), "compact header has 2 elements, at least 3 needed", 2],
      ["an array response header that names no request code", packr.pack([0, 2, 1]), "compact header has 3 elements, at least 4 needed", 2],
      ["a header that is a number", packr.pack(5), "header is not a map", undefined],
      ["a header with no opaque", packr.pack({ code: 1 }), 'header field "opaque" must be a u32, got nothing', undefined],
      ["an opaque past u32", packr.pack({ code: 1, opaque: 2 ** 32 }), 'header field "opaque" must be a u32', undefined],
      ["a negative opaque", packr.pack({ code: 1, opaque: -1 }), 'header field "opaque" must be a u32, got -1', undefined],
      ["a header with no code", packr.pack({ opaque: 9 }), 'header field "code" must be a u16, got nothing', 9],
      ["a code that is a string", packr.pack({ code: "10", opaque: 9 }), 'header field "code" must be a u16, got "10"', 9],
      ["a fractional code", packr.pack({ code: 1.5, opaque: 9 }), 'header field "code" must be a u16, got 1.5', 9],
      ["unknown flag bits", packr.pack({ code: 1, opaque: 9, flags: 8 }), 'header field "flags" must be an integer 0..3, got 8', 9],
      ["a remark that is not a string", packr.pack({ code: 1, opaque: 9, flags: 1, remark: 5 }), 'header field "remark" must be a string', 9],
      ["deeply nested values", Uint8Array.from([0x82, 0xa4, ...new TextEncoder().encode("code"), 0x01, 0xa1, 0x78, ...new Uint8Array(60_000).fill(0x91), 0xc0]), "header is not msgpack", undefined],
    ];
    for (const [name, header, reason, opaque] of cases) {
      test(`reports ${name} as MALFORMED_FRAME and decodes the next frame`, () => {
        const bytes = Uint8Array.from([...rawFrame({ header }), ...sampleBytes[0]!]);
        const found = decodeAll(bytes);
        expect(found.map((step) => step.status)).toEqual(["malformed", "frame"]);
        const first = found[0]!;
        if (first.status !== "malformed") return;
        expect(first.error.errorName).toBe("MALFORMED_FRAME");
        expect(first.error.message).toContain(reason);
        expect(first.error.streamIntact).toBe(true);
        expect(first.error.opaque).toBe(opaque);
      });
    }

    test("reads a header map's prototype-looking keys as plain data", () => {
      const header = Uint8Array.from([0x83, 0xa4, ...new TextEncoder().encode("code"), 0x01, 0xa6, ...new TextEncoder().encode("opaque"), 0x02, 0xa9, ...new TextEncoder().encode("__proto__"), 0x81, 0xa1, 0x70, 0xc3]);
      const step = decodeAll(rawFrame({ header }))[0]!;
      expect(step.status).toBe("frame");
      expect(({} as Record<string, unknown>).p).toBeUndefined();
    });

    test("accepts int64 integers from other msgpack writers as numbers", () => {
      // {"code": 1, "opaque": 2, "x": int64(2^32)}
      const header = Uint8Array.from([0x83, 0xa4, ...new TextEncoder().encode("code"), 0x01, 0xa6, ...new TextEncoder().encode("opaque"), 0x02, 0xa1, 0x78, 0xd3, 0, 0, 0, 1, 0, 0, 0, 0]);
      const step = decodeAll(rawFrame({ header }))[0]!;
      if (step.status !== "frame") throw new Error(step.status);
      expect(step.frame.header.x).toBe(2 ** 32);
    });
  });

  test("returns a view of the chunk for a frame inside one chunk, and a copy across chunks", () => {
    const bytes = sampleBytes[0]!;
    const whole = decodeAll(bytes)[0]!;
    if (whole.status === "frame") expect(whole.frame.body.buffer).toBe(bytes.buffer);
    const decoder = new FrameDecoder();
    decoder.push(bytes.subarray(0, 5));
    decoder.push(bytes.subarray(5));
    const split = decoder.next();
    if (split.status === "frame") expect(split.frame.body.buffer).not.toBe(bytes.buffer);
  });
});
