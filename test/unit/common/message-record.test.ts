/**
 * The CommitLog record codec: writeRecord + checkRecord + decodeRecord round trip every field,
 * and checkRecord trusts nothing — random bytes, flipped bits, misplaced records and truncated
 * buffers are reported corrupt without throwing or reading past `limit`.
 *
 * Buffers in the fuzz tests end exactly at `limit`, so any over-read throws a RangeError.
 * Randomized tests print their seed on failure; replay with `SEED=<n> bun test <this file>`.
 */

import { describe, expect, test } from "bun:test";
import { messageBodyBytesMax, messagePropertiesBytesMax } from "../../../src/common/limits.ts";
import { encodePropertiesText } from "../../../src/common/message-properties.ts";
import {
  checkRecord,
  decodeRecord,
  endOfFileMagic,
  endOfFileMarkerBytes,
  ipv4ToNumber,
  numberToIpv4,
  recordBytes,
  recordFixedBytes,
  recordMagic,
  sysFlag,
  writeEndOfFileMarker,
  writeRecord,
  type RecordCheck,
  type RecordInput,
  type RecordPlacement,
} from "../../../src/common/message-record.ts";
import { seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";

const encoder = new TextEncoder();
const max64 = Number.MAX_SAFE_INTEGER; // 2^53 - 1, the largest offset a JS number holds exactly

function makeInput(overrides: Partial<RecordInput> = {}): RecordInput {
  return {
    topicBytes: encoder.encode("TopicTest"),
    queueId: 3,
    flag: 0,
    sysFlag: sysFlag.transactionNone,
    bornTimestampMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    bornHost: { ip: ipv4ToNumber("10.0.0.7"), port: 52_000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: encoder.encode("Hello mq"),
    propertiesBytes: encoder.encode(encodePropertiesText({ TAGS: "TagA", KEYS: "k1 k2", UNIQ_KEY: "0A0000071092DEADBEEF000000010000" })),
    ...overrides,
  };
}

function makePlacement(physicalOffset: number, overrides: Partial<RecordPlacement> = {}): RecordPlacement {
  return {
    queueOffset: 42,
    physicalOffset,
    storeTimestampMs: Date.UTC(2026, 0, 2, 3, 4, 6),
    storeHost: { ip: ipv4ToNumber("192.168.1.20"), port: 10_911 },
    ...overrides,
  };
}

interface Written {
  bytes: Uint8Array;
  view: DataView;
  position: number;
  totalSize: number;
}

/** Writes one record at `position` of a buffer of `bufferBytes` (default: exactly enough). */
function writeOne(input: RecordInput, options: { position?: number; fileBase?: number; bufferBytes?: number; placement?: Partial<RecordPlacement> } = {}): Written {
  const position = options.position ?? 0;
  const bytes = new Uint8Array(options.bufferBytes ?? position + recordBytes(input));
  const view = new DataView(bytes.buffer);
  const totalSize = writeRecord(bytes, view, position, input, makePlacement((options.fileBase ?? 0) + position, options.placement));
  return { bytes, view, position, totalSize };
}

function check(bytes: Uint8Array, position: number, limit: number, expectedPhysicalOffset: number): RecordCheck {
  return checkRecord(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), position, limit, expectedPhysicalOffset);
}

function withSeed(name: string, body: (random: SeededRandom) => void): void {
  const random = seededRandom();
  try {
    body(random);
  } catch (error) {
    console.error(`${name} failed with SEED=${random.seed}`);
    throw error;
  }
}

describe("message record: round trip", () => {
  test("recordBytes is the fixed part plus body, topic and properties", () => {
    const input = makeInput();
    expect(recordBytes(input)).toBe(recordFixedBytes + input.body.length + input.topicBytes.length + input.propertiesBytes.length);
    expect(recordFixedBytes).toBe(91);
  });

  test("writes, checks and decodes every field, including 64-bit values and u32 maxima", () => {
    const input = makeInput({
      topicBytes: encoder.encode("%RETRY%group_A"),
      queueId: 0xffff_ffff,
      flag: 0x8000_0001,
      sysFlag: sysFlag.transactionPrepared | sysFlag.batch,
      bornTimestampMs: max64,
      bornHost: { ip: ipv4ToNumber("255.254.253.252"), port: 65_535 },
      reconsumeTimes: 16,
      preparedTransactionOffset: 2 ** 32 + 17,
      body: Uint8Array.from({ length: 300 }, (_, index) => index & 0xff),
      propertiesBytes: encoder.encode(encodePropertiesText({ TAGS: "TagB", KEYS: "order-1 order-2", UNIQ_KEY: "ABCDEF", color: "红" })),
    });
    const fileBase = 5 * 2 ** 32; // a CommitLog position above 2^32
    const placement = { queueOffset: max64, storeTimestampMs: 2 ** 41 + 3, storeHost: { ip: 0xffff_ffff, port: 0 } };
    const written = writeOne(input, { position: 64, fileBase, bufferBytes: 64 + recordBytes(input) + 100, placement });
    expect(written.totalSize).toBe(recordBytes(input));
    expect(checkRecord(written.bytes, written.view, 64, written.bytes.length, fileBase + 64)).toEqual({ kind: "record", totalSize: written.totalSize });

    const message = decodeRecord(written.bytes, 64);
    expect<unknown>({ ...message, body: [...message.body] }).toEqual({
      topic: "%RETRY%group_A",
      queueId: 0xffff_ffff,
      flag: 0x8000_0001,
      queueOffset: max64,
      physicalOffset: fileBase + 64,
      sysFlag: sysFlag.transactionPrepared | sysFlag.batch,
      bornTimestampMs: max64,
      bornHost: { ip: ipv4ToNumber("255.254.253.252"), port: 65_535 },
      storeTimestampMs: 2 ** 41 + 3,
      storeHost: { ip: 0xffff_ffff, port: 0 },
      reconsumeTimes: 16,
      preparedTransactionOffset: 2 ** 32 + 17,
      body: [...input.body],
      properties: { TAGS: "TagB", KEYS: "order-1 order-2", UNIQ_KEY: "ABCDEF", color: "红" },
      tags: "TagB",
      keys: ["order-1", "order-2"],
      msgId: "ABCDEF",
      storeSize: written.totalSize,
    });
  });

  test("round-trips the largest offsets and timestamps (2^53-1) exactly", () => {
    const input = makeInput({ bornTimestampMs: max64, preparedTransactionOffset: max64 });
    const written = writeOne(input, { placement: { queueOffset: max64, physicalOffset: max64, storeTimestampMs: max64 } });
    const message = decodeRecord(written.bytes);
    expect([message.queueOffset, message.physicalOffset, message.bornTimestampMs, message.storeTimestampMs, message.preparedTransactionOffset]).toEqual([max64, max64, max64, max64, max64]);
    expect(check(written.bytes, 0, written.bytes.length, max64)).toEqual({ kind: "record", totalSize: written.totalSize });
  });

  test("round-trips a body of 0 bytes, no properties and an empty topic", () => {
    const input = makeInput({ body: new Uint8Array(0), propertiesBytes: new Uint8Array(0), topicBytes: new Uint8Array(0) });
    const written = writeOne(input);
    expect(written.totalSize).toBe(recordFixedBytes);
    expect(check(written.bytes, 0, written.totalSize, 0)).toEqual({ kind: "record", totalSize: recordFixedBytes });
    const message = decodeRecord(written.bytes);
    expect(message.body.length).toBe(0);
    expect(message.topic).toBe("");
    expect(message.properties).toEqual({});
    expect(message.tags).toBeUndefined();
    expect(message.keys).toEqual([]);
    expect(message.msgId).toBeUndefined();
  });

  test("round-trips a 1-byte body", () => {
    const written = writeOne(makeInput({ body: Uint8Array.of(0xab) }));
    expect(check(written.bytes, 0, written.totalSize, 0).kind).toBe("record");
    expect([...decodeRecord(written.bytes).body]).toEqual([0xab]);
  });

  test("round-trips the largest body, the longest topic and the largest properties the fields hold", () => {
    withSeed("largest record", (random) => {
      const body = random.bytes(messageBodyBytesMax);
      const topic = "t".repeat(255); // u8 length field
      const propertiesText = encodePropertiesText({ big: "p".repeat(messagePropertiesBytesMax - 10) });
      const input = makeInput({ body, topicBytes: encoder.encode(topic), propertiesBytes: encoder.encode(propertiesText) });
      const written = writeOne(input, { position: 4096, fileBase: 2 ** 33 });
      expect(check(written.bytes, 4096, written.bytes.length, 2 ** 33 + 4096)).toEqual({ kind: "record", totalSize: recordBytes(input) });
      const message = decodeRecord(written.bytes, 4096);
      expect(message.topic).toBe(topic);
      expect(message.body.length).toBe(body.length);
      expect(Buffer.from(message.body).equals(Buffer.from(body))).toBe(true);
      expect(message.properties.big?.length).toBe(messagePropertiesBytesMax - 10);
    });
  });

  test("round-trips properties of 65535 bytes, the u16 field's maximum", () => {
    const propertiesBytes = encoder.encode(encodePropertiesText({ p: "x".repeat(65_535 - 3) }));
    expect(propertiesBytes.length).toBe(65_535);
    const written = writeOne(makeInput({ propertiesBytes }));
    expect(check(written.bytes, 0, written.totalSize, 0).kind).toBe("record");
    expect(decodeRecord(written.bytes).properties.p?.length).toBe(65_535 - 3);
  });

  test("round-trips random records written back to back", () => {
    withSeed("random records", (random) => {
      const fileBytes = 256 * 1024;
      const bytes = new Uint8Array(fileBytes);
      const view = new DataView(bytes.buffer);
      const fileBase = 3 * 2 ** 32;
      const written: { position: number; input: RecordInput; placement: RecordPlacement }[] = [];
      let position = 0;
      for (;;) {
        const input = makeInput({
          topicBytes: encoder.encode("topic-" + random.int(1000)),
          queueId: random.int(2 ** 32),
          flag: random.int(2 ** 32),
          sysFlag: random.int(32),
          bornTimestampMs: random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32),
          bornHost: { ip: random.int(2 ** 32), port: random.int(65_536) },
          reconsumeTimes: random.int(20),
          preparedTransactionOffset: random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32),
          body: random.bytes(random.int(2000)),
          propertiesBytes: encoder.encode(encodePropertiesText({ TAGS: "t" + random.int(10), KEYS: `a${random.int(9)} b${random.int(9)}` })),
        });
        if (position + recordBytes(input) + endOfFileMarkerBytes > fileBytes) break;
        const placement = makePlacement(fileBase + position, { queueOffset: random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32), storeTimestampMs: random.int(2 ** 45) });
        const size = writeRecord(bytes, view, position, input, placement);
        written.push({ position, input, placement });
        position += size;
      }
      writeEndOfFileMarker(bytes, view, position, fileBytes);

      let cursor = 0;
      for (const { position: at, input, placement } of written) {
        const result = checkRecord(bytes, view, cursor, fileBytes, fileBase + cursor);
        expect({ at: cursor, result }).toEqual({ at, result: { kind: "record", totalSize: recordBytes(input) } });
        const message = decodeRecord(bytes, cursor);
        expect(message.queueId).toBe(input.queueId);
        expect(message.flag).toBe(input.flag);
        expect(message.sysFlag).toBe(input.sysFlag);
        expect(message.bornTimestampMs).toBe(input.bornTimestampMs);
        expect(message.bornHost).toEqual(input.bornHost);
        expect(message.preparedTransactionOffset).toBe(input.preparedTransactionOffset);
        expect<number>(message.queueOffset).toBe(placement.queueOffset);
        expect<number>(message.physicalOffset).toBe(placement.physicalOffset);
        expect(message.storeTimestampMs).toBe(placement.storeTimestampMs);
        expect(Buffer.from(message.body).equals(Buffer.from(input.body))).toBe(true);
        cursor += recordBytes(input);
      }
      expect(written.length).toBeGreaterThan(10);
      expect(checkRecord(bytes, view, cursor, fileBytes, fileBase + cursor)).toEqual({ kind: "end_of_file" });
    });
  });

  test("decodes from a subarray with a non-zero byteOffset", () => {
    const written = writeOne(makeInput(), { position: 100, bufferBytes: 100 + recordBytes(makeInput()) + 7 });
    const slice = written.bytes.subarray(100, 100 + written.totalSize);
    const message = decodeRecord(slice);
    expect<number>(message.physicalOffset).toBe(100);
    expect(new TextDecoder().decode(message.body)).toBe("Hello mq");
    expect(check(slice, 0, slice.length, 100)).toEqual({ kind: "record", totalSize: written.totalSize });
  });

  test("decoded body is a view into the record's bytes", () => {
    const written = writeOne(makeInput());
    const message = decodeRecord(written.bytes);
    expect(message.body.buffer).toBe(written.bytes.buffer);
  });

  test("ipv4ToNumber and numberToIpv4 are inverse for valid addresses", () => {
    for (const ip of ["0.0.0.0", "127.0.0.1", "10.1.2.3", "255.255.255.255", "192.168.0.254"]) expect(numberToIpv4(ipv4ToNumber(ip))).toBe(ip);
    expect(ipv4ToNumber("not.an.ip.x")).toBe(0x7f00_0001);
  });
});

describe("message record: checkRecord", () => {
  test("reports twelve zero bytes as empty (the unwritten tail of a file)", () => {
    const bytes = new Uint8Array(4096);
    expect(check(bytes, 0, 4096, 0)).toEqual({ kind: "empty" });
    expect(check(bytes, 4096 - endOfFileMarkerBytes, 4096, 4096 - endOfFileMarkerBytes)).toEqual({ kind: "empty" });
  });

  test("reports fewer than twelve bytes before the limit as corrupt", () => {
    const bytes = new Uint8Array(4096);
    for (const position of [4096 - 11, 4095, 4096]) expect({ position, kind: check(bytes, position, 4096, position).kind }).toEqual({ position, kind: "corrupt" });
  });

  test("reports random bytes as empty or corrupt, never a record, and never throws", () => {
    withSeed("random bytes", (random) => {
      for (let round = 0; round < 20_000; round++) {
        const limit = random.int(512);
        const bytes = random.bytes(limit); // ends exactly at limit: an over-read throws
        const position = random.int(limit + 1);
        const result = check(bytes, position, limit, position);
        expect({ round, limit, position, kind: result.kind === "record" ? "record" : "not a record" }).toEqual({ round, limit, position, kind: "not a record" });
      }
    });
  });

  test("reports random bytes behind a valid magic and in-range size as corrupt, never a record, and never throws", () => {
    withSeed("random bytes with record magic", (random) => {
      for (let round = 0; round < 20_000; round++) {
        const limit = endOfFileMarkerBytes + random.int(600);
        const bytes = random.bytes(limit);
        const view = new DataView(bytes.buffer);
        const position = random.int(limit - endOfFileMarkerBytes + 1);
        view.setUint32(position + 8, random.int(2) === 0 ? recordMagic : endOfFileMagic);
        view.setUint32(position + 4, random.int(limit - position + 1));
        if (random.int(2) === 0 && position + 88 <= limit) view.setUint32(position + 84, random.int(limit - position));
        const result = checkRecord(bytes, view, position, limit, position);
        expect({ round, kind: result.kind }).toEqual({ round, kind: "corrupt" });
      }
    });
  });

  test("reports every single-bit flip of a valid record as corrupt", () => {
    const inputs = [
      makeInput(),
      makeInput({ body: new Uint8Array(0), propertiesBytes: new Uint8Array(0) }),
      makeInput({ body: new Uint8Array(200).fill(0xff) }),
    ];
    for (const input of inputs) {
      const position = 256;
      const fileBase = 2 ** 32;
      for (const trailing of [0, 512]) {
        const written = writeOne(input, { position, fileBase, bufferBytes: position + recordBytes(input) + trailing });
        const limit = written.bytes.length;
        expect(check(written.bytes, position, limit, fileBase + position).kind).toBe("record");
        const survivors: { bit: number; result: RecordCheck }[] = [];
        for (let bit = 0; bit < written.totalSize * 8; bit++) {
          const bytes = written.bytes.slice();
          bytes[position + (bit >> 3)]! ^= 1 << (bit & 7);
          const result = check(bytes, position, limit, fileBase + position);
          if (result.kind !== "corrupt") survivors.push({ bit, result });
        }
        expect({ trailing, survivors }).toEqual({ trailing, survivors: [] });
      }
    }
  });

  test("reports a record found at a position other than its stored physical offset as corrupt", () => {
    const input = makeInput();
    const written = writeOne(input, { position: 0, fileBase: 65_536 });
    expect(check(written.bytes, 0, written.totalSize, 65_536).kind).toBe("record");
    for (const expected of [0, 65_535, 65_537, 65_536 + 2 ** 32]) {
      const result = check(written.bytes, 0, written.totalSize, expected);
      expect({ expected, result }).toEqual({ expected, result: { kind: "corrupt", reason: "physical offset does not match position" } });
    }
    // The same bytes copied elsewhere, as a stale record left behind a truncation would be.
    const moved = new Uint8Array(128 + written.totalSize);
    moved.set(written.bytes, 128);
    expect(check(moved, 128, moved.length, 65_536 + 128).kind).toBe("corrupt");
  });

  test("reports a record cut short by the limit as corrupt without reading past it", () => {
    const input = makeInput({ body: new Uint8Array(100).fill(7) });
    const written = writeOne(input, { position: 32 });
    for (let cut = 32; cut < written.bytes.length; cut++) {
      const bytes = written.bytes.slice(0, cut); // any read at or past `cut` throws
      let result: RecordCheck | Error;
      try {
        result = check(bytes, 32, cut, 32);
      } catch (error) {
        result = error as Error;
      }
      expect({ cut, kind: result instanceof Error ? `threw ${result.message}` : result.kind }).toEqual({ cut, kind: "corrupt" });
    }
  });

  test("reports a record whose size runs past a smaller limit as corrupt, even when the buffer holds it all", () => {
    const written = writeOne(makeInput(), { bufferBytes: 4096 });
    for (const limit of [written.totalSize - 1, endOfFileMarkerBytes, recordFixedBytes]) {
      expect({ limit, kind: check(written.bytes, 0, limit, 0).kind }).toEqual({ limit, kind: "corrupt" });
    }
    expect(check(written.bytes, 0, written.totalSize, 0).kind).toBe("record");
  });
});

describe("message record: end-of-file marker", () => {
  test("is recognised when it spans exactly to the file end", () => {
    const fileBytes = 4096;
    for (const position of [0, 1000, fileBytes - endOfFileMarkerBytes]) {
      const bytes = new Uint8Array(fileBytes);
      const view = new DataView(bytes.buffer);
      writeEndOfFileMarker(bytes, view, position, fileBytes);
      expect(view.getUint32(position + 4)).toBe(fileBytes - position);
      expect(view.getUint32(position + 8)).toBe(endOfFileMagic);
      expect({ position, result: checkRecord(bytes, view, position, fileBytes, position) }).toEqual({ position, result: { kind: "end_of_file" } });
    }
  });

  test("is recognised after the last record of a file", () => {
    const input = makeInput();
    const fileBytes = 1024;
    const written = writeOne(input, { bufferBytes: fileBytes });
    writeEndOfFileMarker(written.bytes, written.view, written.totalSize, fileBytes);
    expect(check(written.bytes, 0, fileBytes, 0).kind).toBe("record");
    expect(check(written.bytes, written.totalSize, fileBytes, written.totalSize)).toEqual({ kind: "end_of_file" });
  });

  test("is corrupt when the file is longer or shorter than the marker claims", () => {
    const fileBytes = 4096;
    const bytes = new Uint8Array(fileBytes + 4096);
    const view = new DataView(bytes.buffer);
    writeEndOfFileMarker(bytes, view, 1000, fileBytes);
    for (const limit of [fileBytes - 1, fileBytes + 1, fileBytes + 4096, 1000 + endOfFileMarkerBytes]) {
      expect({ limit, kind: checkRecord(bytes, view, 1000, limit, 1000).kind }).toEqual({ limit, kind: "corrupt" });
    }
  });

  test("is corrupt after any single-bit flip", () => {
    const fileBytes = 2048;
    const bytes = new Uint8Array(fileBytes);
    const view = new DataView(bytes.buffer);
    writeEndOfFileMarker(bytes, view, 512, fileBytes);
    const survivors: { bit: number; kind: string }[] = [];
    for (let bit = 0; bit < endOfFileMarkerBytes * 8; bit++) {
      const flipped = bytes.slice();
      flipped[512 + (bit >> 3)]! ^= 1 << (bit & 7);
      const result = check(flipped, 512, fileBytes, 512);
      if (result.kind !== "corrupt") survivors.push({ bit, kind: result.kind });
    }
    expect(survivors).toEqual([]);
  });
});
