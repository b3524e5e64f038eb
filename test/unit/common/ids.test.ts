/** Message ids: the broker's offsetMsgId codec and the producer's MsgIdGenerator. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { decodeOffsetMsgId, encodeOffsetMsgId, ipv4ToBytes, isMessageIdShape, MsgIdGenerator, offsetMsgIdPrefix } from "../../../src/common/ids.ts";
import { physicalOffset as toPhysicalOffset } from "../../../src/common/offsets.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

function decodeError(id: string): unknown {
  try {
    decodeOffsetMsgId(id);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("offsetMsgId", () => {
  const offsets = [0, 1, 4095, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 5 * 2 ** 32 + 12345, 2 ** 40 + 7, 2 ** 52, 2 ** 53 - 2, 2 ** 53 - 1];

  for (const physicalOffset of offsets) {
    test(`round-trips physical offset ${physicalOffset}`, () => {
      const parts = { host: "10.1.2.3", port: 10911, physicalOffset: toPhysicalOffset(physicalOffset) };
      const id = encodeOffsetMsgId(parts);
      expect(id).toMatch(/^[0-9A-F]{32}$/);
      expect(decodeOffsetMsgId(id)).toEqual(parts);
    });
  }

  test("round-trips random hosts, ports and offsets up to 2^53-1", () => {
    const random = seededRandom();
    try {
      for (let round = 0; round < 2_000; round++) {
        const host = [random.int(256), random.int(256), random.int(256), random.int(256)].join(".");
        const port = random.int(65_536);
        const physicalOffset = toPhysicalOffset(random.int(2 ** 21) * 2 ** 32 + random.int(2 ** 32));
        expect(decodeOffsetMsgId(encodeOffsetMsgId({ host, port, physicalOffset }))).toEqual({ host, port, physicalOffset });
      }
    } catch (error) {
      console.error(`offsetMsgId round trip failed with SEED=${random.seed}`);
      throw error;
    }
  });

  test("lays out ip, port and offset big-endian as RocketMQ does", () => {
    expect(encodeOffsetMsgId({ host: "192.168.0.1", port: 10911, physicalOffset: toPhysicalOffset(2 ** 32 + 255) })).toBe(
      "C0A80001" + "00002A9F" + "00000001" + "000000FF",
    );
  });

  test("decodes lower-case hex as well", () => {
    const id = encodeOffsetMsgId({ host: "1.2.3.4", port: 5, physicalOffset: toPhysicalOffset(2 ** 33 + 6) });
    expect(decodeOffsetMsgId(id.toLowerCase())).toEqual({ host: "1.2.3.4", port: 5, physicalOffset: toPhysicalOffset(2 ** 33 + 6) });
  });

  test("a producer's unparsable ip becomes 127.0.0.1 in msgIds", () => {
    expect(ipv4ToBytes("not-an-ip")).toEqual([127, 0, 0, 1]);
    expect(ipv4ToBytes("1.2.3.256")).toEqual([127, 0, 0, 1]);
    expect(ipv4ToBytes("1.2.3")).toEqual([127, 0, 0, 1]);
  });

  test("an IPv6 broker's offsetMsgId is 56 hex characters (16-byte address, 4-byte port, 8-byte offset) and round-trips", () => {
    const id = encodeOffsetMsgId({ host: "2001:db8::7", port: 10911, physicalOffset: toPhysicalOffset(2 ** 40 + 5) });
    expect(id).toBe("20010DB8000000000000000000000007" + "00002A9F" + "0000010000000005");
    expect(isMessageIdShape(id)).toBe(true);
    expect(decodeOffsetMsgId(id)).toEqual({ host: "2001:db8::7", port: 10911, physicalOffset: toPhysicalOffset(2 ** 40 + 5) });
    expect(decodeOffsetMsgId(encodeOffsetMsgId({ host: "[::1]", port: 1, physicalOffset: toPhysicalOffset(0) })).host).toBe("::1");
  });

  test("two brokers never share an id prefix: an IPv6 broker is not 127.0.0.1, and the port counts", () => {
    const prefixes = [
      offsetMsgIdPrefix("127.0.0.1", 10911),
      offsetMsgIdPrefix("::1", 10911),
      offsetMsgIdPrefix("2001:db8::1", 10911),
      offsetMsgIdPrefix("2001:db8::2", 10911),
      offsetMsgIdPrefix("::ffff:127.0.0.1", 10911),
      offsetMsgIdPrefix("127.0.0.1", 10921),
    ];
    expect(new Set(prefixes).size).toBe(prefixes.length);
    // No IPv4 id can start like an IPv6 broker's: the lengths differ (32 against 56).
    expect(encodeOffsetMsgId({ host: "127.0.0.1", port: 10911, physicalOffset: toPhysicalOffset(0) }).length).toBe(32);
  });

  test("a host that is not an IP literal cannot make an offsetMsgId", () => {
    for (const host of ["not-an-ip", "1.2.3.256", "localhost", "fe80::1%eth0"]) {
      let failure: unknown;
      try {
        encodeOffsetMsgId({ host, port: 1, physicalOffset: toPhysicalOffset(0) });
      } catch (error) {
        failure = error;
      }
      expect({ host, invalid: isMqError(failure, "INVALID_FIELD") }).toEqual({ host, invalid: true });
    }
  });

  const badIds: [string, string][] = [
    ["the empty string", ""],
    ["31 hex characters", "0".repeat(31)],
    ["33 hex characters", "0".repeat(33)],
    ["a non-hex character", "0".repeat(31) + "G"],
    ["a space", " " + "0".repeat(31)],
    ["a trailing newline", "0".repeat(32) + "\n"],
    ["an offset of 2^53", "7F000001" + "00002A9F" + "00200000" + "00000000"],
    ["an offset of 2^64-1", "7F000001" + "00002A9F" + "FFFFFFFF" + "FFFFFFFF"],
  ];
  for (const [what, id] of badIds) {
    test(`rejects an id with ${what} as MESSAGE_ID_INVALID naming the id`, () => {
      const error = decodeError(id);
      expect(isMqError(error, "MESSAGE_ID_INVALID")).toBe(true);
      expect((error as Error).message).toContain(`"${id}"`);
    });
  }

  test("isMessageIdShape accepts exactly 32 hex characters", () => {
    expect(isMessageIdShape("0123456789abcdefABCDEF0123456789")).toBe(true);
    expect(isMessageIdShape("0123456789abcdefABCDEF012345678")).toBe(false);
    expect(isMessageIdShape("0123456789abcdefABCDEF012345678Z")).toBe(false);
  });
});

describe("MsgIdGenerator", () => {
  const source = { ip: "10.0.0.7", pid: 4242, instanceHash: 0xdeadbeef };

  test("makes ids of 32 upper-case hex characters", () => {
    const generator = new MsgIdGenerator(source);
    for (let index = 0; index < 100; index++) expect(generator.next()).toMatch(/^[0-9A-F]{32}$/);
  });

  test("starts every id with ip, pid and instance hash", () => {
    const generator = new MsgIdGenerator(source);
    expect(generator.next().slice(0, 20)).toBe("0A000007" + "1092" + "DEADBEEF");
  });

  test("makes 100k unique ids on the real clock", () => {
    const generator = new MsgIdGenerator(source);
    const ids = new Set<string>();
    for (let index = 0; index < 100_000; index++) ids.add(generator.next());
    expect(ids.size).toBe(100_000);
  });

  test("makes 100k unique ids when the clock ticks 1 ms per thousand ids", () => {
    let calls = 0;
    const start = Date.UTC(2026, 4, 17, 12);
    const generator = new MsgIdGenerator(source, () => start + Math.floor(calls++ / 1_000));
    const ids = new Set<string>();
    for (let index = 0; index < 100_000; index++) ids.add(generator.next());
    expect(ids.size).toBe(100_000);
  });

  test("makes 65536 unique ids within one millisecond (the 16-bit counter's span)", () => {
    const generator = new MsgIdGenerator(source, () => Date.UTC(2026, 4, 17, 12));
    const ids = new Set<string>();
    for (let index = 0; index < 65_536; index++) ids.add(generator.next());
    expect(ids.size).toBe(65_536);
  });

  test("differs between generators with different pids at the same instant", () => {
    const now = () => Date.UTC(2026, 4, 17, 12);
    const first = new MsgIdGenerator(source, now).next();
    const second = new MsgIdGenerator({ ...source, pid: source.pid + 1 }, now).next();
    expect(first).not.toBe(second);
  });
});
