/** Trace records (trace-record.ts): packing hops into trace messages within the key limit, reading them back, matching and ordering. */

import { describe, expect, test } from "bun:test";
import { messageKeysMax } from "../../../src/protocol/limits.ts";
import { type TraceHop, hopMatches, packTraceHops, sortTimeline, uniqueHops, unpackTraceHops } from "../../../src/protocol/trace-record.ts";

const msgId = (index: number): string => index.toString(16).toUpperCase().padStart(32, "0");
const hop = (index: number, fields: Partial<TraceHop> = {}): TraceHop => ({ hop: "stored", msgId: msgId(index), topic: "T", host: "127.0.0.1:10911", timeMs: 1_000 + index, status: "ok", ...fields });

describe("trace records", () => {
  test("hops round-trip through a trace message, keyed by their msgIds and keys", () => {
    const hops = [hop(1, { keys: ["order-1"] }), hop(1, { hop: "acked", group: "g" }), hop(2)];
    const [packed, ...rest] = packTraceHops(hops, 128);
    expect(rest).toEqual([]);
    expect(packed!.keys).toEqual([msgId(1), "order-1", msgId(2)]);
    expect(packed!.hops).toBe(3);
    expect(unpackTraceHops(packed!.body)).toEqual(hops);
  });

  test("a trace message holds at most messageKeysMax keys and hopsPerMessageMax hops", () => {
    const many = Array.from({ length: 100 }, (_, index) => hop(index));
    const packed = packTraceHops(many, 128);
    expect(packed.map((message) => message.keys.length)).toEqual([32, 32, 32, 4]);
    expect(packed.every((message) => message.keys.length <= messageKeysMax)).toBe(true);
    expect(packed.flatMap((message) => unpackTraceHops(message.body))).toEqual(many);
    const sameMessage = Array.from({ length: 10 }, (_, index) => hop(7, { timeMs: index }));
    expect(packTraceHops(sameMessage, 4).map((message) => message.hops)).toEqual([4, 4, 2]);
  });

  test("fields every hop of a trace message shares are written once; a consumption's one record reads back as consume-before and consume-after", () => {
    const hops = [hop(1, { group: "g" }), hop(2, { group: "g" })];
    const [packed] = packTraceHops(hops, 128);
    const body = JSON.parse(new TextDecoder().decode(packed!.body));
    expect(body.common).toEqual({ host: "127.0.0.1:10911", group: "g", topic: "T" });
    expect(body.hops[0]).toEqual({ hop: "stored", msgId: msgId(1), timeMs: 1_001, status: "ok" });
    expect(unpackTraceHops(packed!.body)).toEqual(hops);
    const consumed = { ...hop(3, { hop: "consume-after", costMs: 4, status: "failed", detail: "boom", group: "g" }), beforeMs: 1_000 };
    const [before, after] = unpackTraceHops(packTraceHops([consumed], 128)[0]!.body);
    expect(before).toEqual({ hop: "consume-before", msgId: msgId(3), topic: "T", host: "127.0.0.1:10911", timeMs: 1_000, status: "ok", group: "g" });
    expect(after).toEqual({ hop: "consume-after", msgId: msgId(3), topic: "T", host: "127.0.0.1:10911", timeMs: 1_003, costMs: 4, status: "failed", detail: "boom", group: "g" });
  });

  test("a body that is not a trace message yields no hops; a hop of the wrong shape is skipped", () => {
    expect(unpackTraceHops(new TextEncoder().encode("not json"))).toEqual([]);
    expect(unpackTraceHops(new TextEncoder().encode('{"hops":7}'))).toEqual([]);
    expect(unpackTraceHops(new TextEncoder().encode(JSON.stringify({ v: 1, hops: [{ hop: "teleported" }, hop(3)] })))).toEqual([hop(3)]);
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
});
