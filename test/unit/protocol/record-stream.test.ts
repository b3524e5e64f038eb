/**
 * splitRecords: the lazy record views a client gets from a pull, pop or lookup answer read every
 * field exactly as the eager decoder does, and a body whose lengths do not hold is refused whole,
 * at split time, never by a getter later (random bodies give only MALFORMED_FRAME, no over-read:
 * each body ends exactly at its buffer's end).
 *
 * Randomized tests print their seed on failure; replay with `SEED=<n> bun test <this file>`.
 */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { encodePropertiesText } from "../../../src/common/message-properties.ts";
import { decodeRecord, ipv4ToNumber, recordBytes, sysFlag, writeRecord, type RecordInput } from "../../../src/common/message-record.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

const encoder = new TextEncoder();

function input(index: number, properties: Record<string, string>): RecordInput {
  return {
    topicBytes: encoder.encode(index % 2 === 0 ? "Orders" : "Zahlungsverkehr-ü"),
    queueId: index,
    flag: index * 7,
    sysFlag: sysFlag.transactionNone,
    bornTimestampMs: Date.UTC(2026, 0, 2) + index,
    bornHost: { ip: ipv4ToNumber("10.0.0.7"), port: 52_000 + index },
    reconsumeTimes: index % 3,
    preparedTransactionOffset: index === 2 ? 2 ** 40 + 3 : 0,
    body: encoder.encode(`body ${index} `.repeat(index)),
    propertiesBytes: encoder.encode(encodePropertiesText(properties)),
  };
}

/** Records as a pull answer carries them: concatenated, each at its own physical offset. */
function pulledBody(inputs: readonly RecordInput[]): Uint8Array {
  const bytes = new Uint8Array(inputs.reduce((total, record) => total + recordBytes(record), 0));
  const view = new DataView(bytes.buffer);
  let position = 0;
  inputs.forEach((record, index) => {
    position += writeRecord(bytes, view, position, record, { queueOffset: 2 ** 33 + index, physicalOffset: 4096 + position, storeTimestampMs: Date.UTC(2026, 0, 3) + index, storeHost: { ip: ipv4ToNumber("192.168.1.20"), port: 10_911 } });
  });
  return bytes;
}

const fields = ["topic", "queueId", "flag", "queueOffset", "physicalOffset", "sysFlag", "bornTimestampMs", "bornHost", "storeTimestampMs", "storeHost", "reconsumeTimes", "preparedTransactionOffset", "body", "properties", "tags", "keys", "msgId", "storeSize"] as const;

describe("splitRecords", () => {
  test("reads every field of every record as the eager decoder does", () => {
    const inputs = [
      input(0, {}),
      input(1, { TAGS: "created", KEYS: "k1 k2", UNIQ_KEY: "0A0000071092DEADBEEF000000010000", region: "eu" }),
      input(2, { TAGS: "", "ключ": "значение" }),
      input(3, { UNIQ_KEY: "0A0000071092DEADBEEF000000010003" }),
    ];
    const body = pulledBody(inputs);
    const lazy = splitRecords(body);
    expect(lazy.length).toBe(inputs.length);
    let position = 0;
    for (const message of lazy) {
      const eager = decodeRecord(body, position);
      for (const field of fields) expect([field, message[field]]).toEqual([field, eager[field]]);
      position += eager.storeSize;
    }
  });

  test("a property read alone from the bytes (tags, keys, msgId, any name, several in one pass) equals the decoded map's, before and after the map is decoded", () => {
    const properties: Array<Record<string, string>> = [
      {},
      { TAGS: "created", KEYS: "k1 k2", UNIQ_KEY: "0A0000071092DEADBEEF000000010000", region: "eu" },
      // Names that start or end like the ones asked for, an empty value, UTF-8 names and values.
      { UNIQ: "short", UNIQ_KEYS: "longer", XUNIQ_KEY: "prefixed", UNIQ_KEY: "0A0000071092DEADBEEF000000010003", TAGS: "", "ключ": "значение", traceparent: "00-ab-cd-01" },
      { KEYS: "only", "a\u00e9": "é" },
    ];
    const names = ["UNIQ_KEY", "TAGS", "KEYS", "UNIQ", "region", "traceparent", "TRACE_ON", "ключ", "RETRY_TOPIC"];
    const body = pulledBody(properties.map((each, index) => input(index, each)));
    properties.forEach((expected, index) => {
      const fresh = splitRecords(body)[index]!;
      expect([fresh.msgId, fresh.tags, fresh.keys]).toEqual([expected["UNIQ_KEY"], expected["TAGS"], expected["KEYS"]?.split(" ") ?? []]);
      const view = splitRecords(body)[index]! as unknown as { property(name: string): string | undefined; readProperties(names: readonly string[], out: Array<string | undefined>): void; properties: Record<string, string> };
      const want = names.map((name) => expected[name]);
      expect(names.map((name) => view.property(name))).toEqual(want);
      const out: Array<string | undefined> = names.map(() => undefined);
      view.readProperties(names, out);
      expect(out).toEqual(want);
      expect(view.properties).toEqual(expected);
      expect(names.map((name) => view.property(name))).toEqual(want);
    });
  });

  test("a name set twice in the stored text reads as its last value, alone as in the decoded map", () => {
    const record = input(1, {});
    record.propertiesBytes = encoder.encode("UNIQ_KEY\u0001first\u0002TAGS\u0001t\u0002UNIQ_KEY\u0001second\u0002");
    const body = pulledBody([record]);
    expect(splitRecords(body)[0]!.msgId).toBe("second");
    expect(splitRecords(body)[0]!.properties).toEqual({ UNIQ_KEY: "second", TAGS: "t" });
  });

  test("a record's body is a view into the answer, not a copy", () => {
    const body = pulledBody([input(3, {})]);
    const [message] = splitRecords(body);
    expect(message!.body.buffer).toBe(body.buffer);
  });

  test("refuses a record whose properties end before the record does", () => {
    const body = pulledBody([input(1, { TAGS: "a" }), input(2, { TAGS: "b" })]);
    const view = new DataView(body.buffer);
    const second = view.getUint32(4); // the first record's size is where the second starts
    const end = second + view.getUint32(second + 4);
    // Walk the second record's regions to its properties length, then shorten that by one.
    const bodyLength = view.getUint32(second + 84);
    const topicLengthAt = second + 88 + bodyLength;
    const lengthAt = topicLengthAt + 1 + body[topicLengthAt]!;
    expect(lengthAt + 2 + view.getUint16(lengthAt)).toBe(end);
    view.setUint16(lengthAt, view.getUint16(lengthAt) - 1);
    expect(() => splitRecords(body)).toThrow("field lengths do not add up");
  });

  test("random bodies and cut answers give MALFORMED_FRAME or views, never an over-read", () => {
    const random = seededRandom();
    try {
      const valid = pulledBody([input(1, { TAGS: "a", KEYS: "k" }), input(2, {}), input(3, { UNIQ_KEY: "0A0000071092DEADBEEF000000010003" })]);
      for (let round = 0; round < 2_000; round++) {
        const body = valid.slice(0, random.int(valid.length + 1));
        const flips = random.int(4);
        for (let flip = 0; flip < flips && body.length > 0; flip++) body[random.int(body.length)] = random.int(256);
        let messages;
        try {
          messages = splitRecords(body);
        } catch (error) {
          expect(isMqError(error, "MALFORMED_FRAME")).toBe(true);
          continue;
        }
        // Whatever passed the split reads without error.
        for (const message of messages) for (const field of fields) void message[field];
      }
    } catch (error) {
      console.error(`seed ${random.seed}`);
      throw error;
    }
  });
});
