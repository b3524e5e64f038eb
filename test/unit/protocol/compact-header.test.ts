/**
 * The compact header of the hot codes (README §3.1): each hot request and success response
 * decodes into exactly the fields its map form gives, absent fields are nil and trailing ones
 * left out, fields a newer peer appends are ignored, a field outside the order falls back to a
 * map, and a broker answers each form in kind (map requests from other clients keep working).
 */

import { describe, expect, test } from "bun:test";
import { compactFieldOrders } from "../../../src/protocol/compact-header.ts";
import { encodeFrame, FrameFlag, type FrameInput } from "../../../src/protocol/frame.ts";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { validateRequest } from "../../../src/protocol/schemas.ts";
import { Packr } from "msgpackr";
import { startTestBroker } from "../../helpers/broker.ts";
import { connectRawPeer } from "../../helpers/raw-peer.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

const msgId = "0A00000512349ABCDEF0209D9C000000";
const bornTimestampMs = 1_765_094_400_000;

/** A msgpack fixarray or array16 header (a map starts 0x8N or 0xde). */
const isArrayHeader = (frame: Uint8Array): boolean => (frame[8]! & 0xf0) === 0x90 || frame[8] === 0xdc;

function decode(bytes: Uint8Array) {
  const decoder = new FrameDecoder();
  decoder.push(bytes);
  const step = decoder.next();
  if (step.status !== "frame") throw new Error(`expected a frame, got ${step.status}`);
  return step.frame;
}

const requests: Array<[string, FrameInput]> = [
  ["SEND_MESSAGE", { code: RequestCode.SEND_MESSAGE, opaque: 7, fields: { producerGroup: "shop", topic: "Orders", queueId: 1, msgId, bornTimestampMs, tags: "created", properties: { region: "eu" }, dedupKey: "order-1" }, body: new TextEncoder().encode("hello") }],
  ["SEND_BATCH", { code: RequestCode.SEND_BATCH, opaque: 8, fields: { producerGroup: "shop", topic: "Orders", queueId: 0, messageCount: 2, bornTimestampMs, transactionPrepared: true } }],
  ["PULL_MESSAGE", { code: RequestCode.PULL_MESSAGE, opaque: 9, flags: FrameFlag.oneway, fields: { consumerGroup: "billing", topic: "Orders", queueId: 1, queueOffset: 2 ** 40, maxMessages: 32, filter: { expressionType: "TAG", expression: "a || b" } } }],
];
const responses: Array<[string, number, FrameInput]> = [
  ["SEND_MESSAGE", RequestCode.SEND_MESSAGE, { code: 0, opaque: 7, flags: FrameFlag.response, fields: { msgId, offsetMsgId: "0A00000100002A9F0000000000001000", topic: "Orders", queueId: 1, queueOffset: 7, duplicate: true } }],
  ["SEND_BATCH", RequestCode.SEND_BATCH, { code: 0, opaque: 8, flags: FrameFlag.response, fields: { topic: "Orders", queueId: 0, firstQueueOffset: 8, storeHost: "10.0.0.1:10911", physicalOffsets: [4205, 4306] } }],
  ["PULL_MESSAGE", RequestCode.PULL_MESSAGE, { code: 0, opaque: 9, flags: FrameFlag.response, fields: { status: "found", nextOffset: 8, minOffset: 0, maxOffset: 8 } }],
];

describe("compact header", () => {
  for (const [name, input] of requests) {
    test(`${name} request: the compact form decodes into the map form's header, smaller`, () => {
      const compact = encodeFrame({ ...input, compact: true });
      const map = encodeFrame(input);
      expect(isArrayHeader(compact)).toBe(true);
      expect(compact.byteLength).toBeLessThan(map.byteLength);
      const fromCompact = decode(compact);
      expect(fromCompact.compact).toBe(true);
      expect(fromCompact.header).toEqual(decode(map).header);
      expect([fromCompact.code, fromCompact.opaque, fromCompact.flags]).toEqual([input.code, input.opaque, input.flags ?? 0]);
      expect(fromCompact.body).toEqual(input.body ?? new Uint8Array(0));
      const validation = validateRequest(fromCompact.code, fromCompact.header);
      expect(validation.ok ? undefined : validation.error.message).toBeUndefined();
    });
  }

  for (const [name, requestCode, input] of responses) {
    test(`${name} response: the compact form names its request code and decodes into the map form's header`, () => {
      const compact = encodeFrame({ ...input, compact: true, requestCode });
      expect(isArrayHeader(compact)).toBe(true);
      const fromCompact = decode(compact);
      expect(fromCompact.header).toEqual(decode(encodeFrame(input)).header);
    });
  }

  test("absent fields are nil and trailing absent ones are left out", () => {
    const frame = encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 1, fields: { producerGroup: "g", topic: "T", queueId: 0, msgId, bornTimestampMs, keys: ["k"], tags: undefined }, compact: true });
    const order = compactFieldOrders[RequestCode.SEND_MESSAGE]!.request;
    const array = new Packr({ useRecords: false }).unpack(frame.subarray(8)) as unknown[];
    expect(array.length).toBe(3 + order.indexOf("keys") + 1);
    expect(array[3 + order.indexOf("tags")]).toBeNull();
    expect(array[3 + order.indexOf("flag")]).toBeNull();
  });

  test("elements past the known fields are ignored, so a newer peer may append fields", () => {
    const packr = new Packr({ useRecords: false });
    const header = packr.pack([RequestCode.PULL_MESSAGE, 4, 0, "billing", "Orders", 1, 0, 16, 0, null, null, null, "a field from the future"]);
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setUint32(0, 4 + header.byteLength);
    new DataView(prefix.buffer).setUint32(4, header.byteLength);
    const frame = decode(Uint8Array.from([...prefix, ...header]));
    expect(frame.header).toEqual({ code: RequestCode.PULL_MESSAGE, opaque: 4, flags: 0, consumerGroup: "billing", topic: "Orders", queueId: 1, queueOffset: 0, maxMessages: 16, suspendTimeoutMs: 0 });
  });

  test("a field outside the order, an error response and a code without an order are sent as maps", () => {
    const isMap = (bytes: Uint8Array) => bytes[8] === 0xde || (bytes[8]! & 0xf0) === 0x80;
    expect(isMap(encodeFrame({ code: RequestCode.SEND_BATCH, opaque: 1, fields: { topic: "T", signature: "x" }, compact: true }))).toBe(true);
    expect(isMap(encodeFrame({ code: 2001, opaque: 1, flags: FrameFlag.response, remark: "no", errorName: "TOPIC_NOT_FOUND", compact: true, requestCode: RequestCode.SEND_MESSAGE }))).toBe(true);
    expect(isMap(encodeFrame({ code: RequestCode.GET_MAX_OFFSET, opaque: 1, fields: { topic: "T", queueId: 0 }, compact: true }))).toBe(true);
  });

  test("a broker answers a compact request with a compact header and a map request with a map", async () => {
    const broker = await startTestBroker();
    const peer = await connectRawPeer(broker.port);
    try {
      const fields = { producerGroup: "shop", topic: "CompactOrders", queueId: 0, msgId, bornTimestampMs };
      peer.socket.write(encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 1, fields, body: new TextEncoder().encode("a"), compact: true }));
      // Another msgId: the same one again would be answered as the first one's duplicate.
      peer.socket.write(encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 2, fields: { ...fields, msgId: msgId.replace(/.$/, (last) => (last === "0" ? "1" : "0")) }, body: new TextEncoder().encode("b") }));
      await waitUntil("both answers", () => peer.frames().length === 2);
      const byOpaque = new Map(peer.frames().map((frame) => [frame.opaque, frame]));
      expect([byOpaque.get(1)?.code, byOpaque.get(1)?.compact, byOpaque.get(1)?.header.queueOffset]).toEqual([0, true, 0]);
      expect([byOpaque.get(2)?.code, byOpaque.get(2)?.compact, byOpaque.get(2)?.header.queueOffset]).toEqual([0, undefined, 1]);
      expect(byOpaque.get(1)?.header.topic).toBe("CompactOrders");
    } finally {
      peer.socket.destroy();
    }
  });
});
