/** Trace records (trace-record.ts): packing hops into trace messages within the key limit, reading them back, matching and ordering. */

import { describe, expect, test } from "bun:test";
import { traceTextCharsMax } from "../../../src/common/limits.ts";
import { messageKeysMax } from "../../../src/protocol/limits.ts";
import { traceBinaryFormat } from "../../../src/protocol/trace-codec.ts";
import { type TraceHop, completePublishHops, hopMatches, packTraceHops, sortTimeline, traceHopNames, traceIndexKey, uniqueHops, unpackTraceHops } from "../../../src/protocol/trace-record.ts";

/** A producer msgId: one client's prefix, the millisecond `index >> 4`, the counter `index`. */
const msgId = (index: number): string => `0A00000512349ABCDEF0${(index >> 4).toString(16).toUpperCase().padStart(8, "0")}${index.toString(16).toUpperCase().padStart(4, "0")}`;
const hop = (index: number, fields: Partial<TraceHop> = {}): TraceHop => ({ hop: "stored", msgId: msgId(index), topic: "T", host: "127.0.0.1:10911", timeMs: 1_000 + index, status: "ok", ...fields });

describe("trace records", () => {
  test("hops round-trip through a trace message, keyed by their msgIds' index keys and their keys", () => {
    const hops = [hop(1, { keys: ["order-1"] }), hop(1, { hop: "acked", group: "g" }), hop(2), hop(16)];
    const [packed, ...rest] = packTraceHops(hops, 128);
    expect(rest).toEqual([]);
    expect(packed!.keys).toEqual([traceIndexKey(msgId(1)), "order-1", traceIndexKey(msgId(16))]);
    expect(packed!.hops).toBe(4);
    expect(unpackTraceHops(packed!.body)).toEqual(hops);
  });

  test("one client's msgIds of one millisecond share an index key; other ids are their own", () => {
    expect(traceIndexKey(msgId(1))).toBe(traceIndexKey(msgId(15)));
    expect(traceIndexKey(msgId(1))).not.toBe(traceIndexKey(msgId(16)));
    expect(msgId(1).startsWith(traceIndexKey(msgId(1)))).toBe(true);
    expect(traceIndexKey("order-7")).toBe("order-7");
  });

  test("a trace message holds at most messageKeysMax keys and hopsPerMessageMax hops", () => {
    const many = Array.from({ length: 100 }, (_, index) => hop(index * 16));
    const packed = packTraceHops(many, 128);
    expect(packed.map((message) => message.keys.length)).toEqual([32, 32, 32, 4]);
    expect(packed.every((message) => message.keys.length <= messageKeysMax)).toBe(true);
    expect(packed.flatMap((message) => unpackTraceHops(message.body))).toEqual(many);
    const oneMillisecond = Array.from({ length: 100 }, (_, index) => hop(index >> 3));
    expect(packTraceHops(oneMillisecond, 128).map((message) => message.keys.length)).toEqual([1]);
    const sameMessage = Array.from({ length: 10 }, (_, index) => hop(7, { timeMs: index }));
    expect(packTraceHops(sameMessage, 4).map((message) => message.hops)).toEqual([4, 4, 2]);
  });

  test("the body is binary with the strings hops share written once; every field and hop name round-trips", () => {
    const hops = [hop(1, { group: "g" }), hop(2, { group: "g" })];
    const [packed] = packTraceHops(hops, 128);
    expect(packed!.body[0]).toBe(traceBinaryFormat);
    const text = new TextDecoder("latin1").decode(packed!.body);
    expect(text.split("127.0.0.1:10911").length - 1).toBe(1);
    expect(unpackTraceHops(packed!.body)).toEqual(hops);
    const full: TraceHop = { ...hop(3), costMs: 1.5, keys: ["a", "ключ"], tags: "t", group: "g", clientId: "c", offsetMsgId: "7F00000100002A9F0000000000001000", queueId: 3, queueOffset: 2 ** 40, storeTimeMs: 5, reconsumeTimes: 2, deliverAtMs: 9, traceparent: "00-abc-def-01", detail: "ошибка: boom" };
    const named = traceHopNames.filter((name) => name !== "consume-after").map((name, index) => hop(index, { hop: name, status: index % 2 === 0 ? "ok" : "failed" }));
    expect(unpackTraceHops(packTraceHops([full, ...named], 128)[0]!.body)).toEqual([full, ...named]);
    const odd = [hop(4, { timeMs: 5_000 }), hop(5, { msgId: "lower-case-and-not-hex-ü", timeMs: 3, storeTimeMs: 9_000_000_000_000, detail: "x".repeat(15_000) })];
    expect(unpackTraceHops(packTraceHops(odd, 128)[0]!.body)).toEqual(odd);
    const [long] = unpackTraceHops(packTraceHops([hop(6, { detail: "y".repeat(traceTextCharsMax + 10) })], 128)[0]!.body);
    expect(long!.detail).toBe("y".repeat(traceTextCharsMax));
  });

  test("a hop takes a few dozen bytes: ids as bytes, times as differences, counts as varints", () => {
    const published = Array.from({ length: 128 }, (_, index) => hop(index, { hop: "publish", timeMs: 1_765_000_000_000 + index, costMs: 2, group: "G", offsetMsgId: `7F00000100002A9F${index.toString(16).toUpperCase().padStart(16, "0")}`, queueId: index % 8, queueOffset: 100_000 + index }));
    const [packed] = packTraceHops(published, 128);
    expect(packed!.body.length / 128).toBeLessThan(40);
    expect(unpackTraceHops(packed!.body)).toEqual(published);
  });

  test("a consumption's one record reads back as consume-before and consume-after", () => {
    const consumed = { ...hop(3, { hop: "consume-after", costMs: 4, status: "failed", detail: "boom", group: "g" }), beforeMs: 1_000 };
    const [before, after] = unpackTraceHops(packTraceHops([consumed], 128)[0]!.body);
    expect(before).toEqual({ hop: "consume-before", msgId: msgId(3), topic: "T", host: "127.0.0.1:10911", timeMs: 1_000, status: "ok", group: "g" });
    expect(after).toEqual({ hop: "consume-after", msgId: msgId(3), topic: "T", host: "127.0.0.1:10911", timeMs: 1_003, costMs: 4, status: "failed", detail: "boom", group: "g" });
  });

  test("a JSON trace body, as a client in another language writes it, reads back with its common fields", () => {
    const body = { v: 1, common: { host: "10.0.0.9:7", group: "g", topic: "T" }, hops: [{ hop: "consume-after", msgId: msgId(4), timeMs: 20, costMs: 5, status: "ok", beforeMs: 15 }] };
    expect(unpackTraceHops(new TextEncoder().encode(JSON.stringify(body))).map((each) => [each.hop, each.timeMs, each.host, each.group])).toEqual([
      ["consume-before", 15, "10.0.0.9:7", "g"],
      ["consume-after", 20, "10.0.0.9:7", "g"],
    ]);
  });

  test("a body that is not a trace message yields no hops; a hop of the wrong shape is skipped", () => {
    expect(unpackTraceHops(new TextEncoder().encode("not json"))).toEqual([]);
    expect(unpackTraceHops(new TextEncoder().encode('{"hops":7}'))).toEqual([]);
    expect(unpackTraceHops(new TextEncoder().encode(JSON.stringify({ v: 1, hops: [{ hop: "teleported" }, hop(3)] })))).toEqual([hop(3)]);
    const binary = packTraceHops([hop(1), hop(2)], 128)[0]!.body;
    expect(unpackTraceHops(binary.subarray(0, binary.length - 3))).toEqual([]);
    expect(unpackTraceHops(new Uint8Array([traceBinaryFormat, 0]))).toEqual([]);
  });

  test("an id matches a hop by msgId (any case), offsetMsgId or key", () => {
    const traced = hop(5, { offsetMsgId: "7F00000100002A9F0000000000001000", keys: ["k"] });
    expect(hopMatches(traced, msgId(5).toLowerCase())).toBe(true);
    expect(hopMatches(traced, "7f00000100002a9f0000000000001000")).toBe(true);
    expect(hopMatches(traced, "k")).toBe(true);
    expect(hopMatches(traced, "K")).toBe(false);
  });

  test("a timeline runs by time, then in path order; a hop found twice counts once", () => {
    const consumed = hop(1, { hop: "consume-before", timeMs: 10 });
    const stored = hop(1, { hop: "stored", timeMs: 10 });
    const published = hop(1, { hop: "publish", timeMs: 9 });
    expect(sortTimeline(uniqueHops([consumed, stored, published, { ...stored }])).map((entry) => entry.hop)).toEqual(["publish", "stored", "consume-before"]);
  });

  test("a publish hop without an offsetMsgId gets the earliest stored copy's (the record its send stored); one with its own, or a failed one, is left alone", () => {
    const plain = hop(1, { hop: "publish" });
    const lowerCase = hop(2, { hop: "publish", msgId: msgId(2).toLowerCase() });
    const named = hop(3, { hop: "publish", offsetMsgId: "7F00000100002A9F00000000000000AA" });
    const failed = hop(4, { hop: "publish", status: "failed" });
    const unknown = hop(5, { hop: "publish" });
    const stored = hop(1);
    completePublishHops([plain, lowerCase, named, failed, unknown, stored], [
      { msgId: msgId(1), offsetMsgId: "7F00000100002A9F0000000000000200", order: 512 }, // a retry's copy, stored later
      { msgId: msgId(1), offsetMsgId: "7F00000100002A9F0000000000000100", order: 256 },
      { msgId: msgId(2), offsetMsgId: "7F00000100002A9F0000000000000300", order: 768 },
      { msgId: msgId(3), offsetMsgId: "7F00000100002A9F0000000000000400", order: 1024 },
      { msgId: msgId(4), offsetMsgId: "7F00000100002A9F0000000000000500", order: 1280 },
    ]);
    expect([plain, lowerCase, named, failed, unknown, stored].map((each) => each.offsetMsgId)).toEqual(["7F00000100002A9F0000000000000100", "7F00000100002A9F0000000000000300", "7F00000100002A9F00000000000000AA", undefined, undefined, undefined]);
  });

  test("a msgId sharing its client's 20-digit prefix with the hop before takes 6 bytes; clients interleaved, odd ids and a format 2 body read back exactly", () => {
    const other = (index: number): string => `0B0000091111AAAABBBB${msgId(index).slice(20)}`;
    const mixed: TraceHop[] = [
      hop(1, { hop: "publish" }),
      hop(2, { hop: "publish" }), // shares hop 1's prefix
      hop(3, { hop: "publish", msgId: other(3) }), // another client: written whole
      hop(4, { hop: "publish", msgId: other(4) }), // shares hop 3's
      hop(5, { hop: "publish", msgId: "not-a-hex-id" }),
      hop(6), // after a text id: written whole
      hop(7, { msgId: msgId(7).toLowerCase() }), // lower case: text, and shares nothing
      hop(8),
      hop(9, { msgId: `${msgId(9).slice(0, 20)}ZZZZZZZZZZZZ` }), // the prefix matches, the rest is not hex: text
      hop(10),
    ];
    const [packed] = packTraceHops(mixed, 128);
    expect(packed!.body[0]).toBe(traceBinaryFormat);
    expect(unpackTraceHops(packed!.body)).toEqual(mixed);

    const sameClient = Array.from({ length: 128 }, (_, index) => hop(index, { hop: "consume-after", costMs: 1, group: "G", queueId: 1, queueOffset: 5_000 + index }));
    const alternating = sameClient.map((each, index) => (index % 2 === 0 ? each : { ...each, msgId: other(index) }));
    const shared = packTraceHops(sameClient, 128)[0]!.body;
    const unshared = packTraceHops(alternating, 128)[0]!.body;
    expect(unpackTraceHops(shared)).toEqual(sameClient);
    expect(unshared.length - shared.length).toBeGreaterThanOrEqual(127 * 10);
    expect(shared.length / 128).toBeLessThan(24);
    // A body written before prefixes were shared (format 2): no hop flagged, read the same.
    const formatTwo = unshared.slice();
    formatTwo[0] = 2;
    expect(unpackTraceHops(formatTwo)).toEqual(alternating);
  });
});
