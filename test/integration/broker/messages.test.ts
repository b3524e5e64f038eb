import { readResult } from "../../../src/protocol/response-body.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { decodeOffsetMsgId } from "../../../src/common/ids.ts";
import { encodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, nextMsgId, pull, rejection, send, text, waitFor } from "./helpers.ts";
import { physicalOffset as asPhysicalOffset, queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

afterAll(removeTempDirs);
const encoder = new TextEncoder();

describe("Broker: send", () => {
  test("SEND_MESSAGE answers the producer's msgId, an offsetMsgId naming this broker and the queue offset", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    const first = await send(client, "t", "one", { msgId, queueId: 1 });
    const second = await send(client, "t", "two", { queueId: 1 });
    expect(first).toMatchObject({ msgId, topic: "t", queueId: 1, queueOffset: 0 });
    expect(second.queueOffset).toBe(1);
    const decoded = decodeOffsetMsgId(first.offsetMsgId);
    expect(decoded).toEqual({ host: "127.0.0.1", port: broker.port, physicalOffset: asPhysicalOffset(0) });
    expect(decodeOffsetMsgId(second.offsetMsgId).physicalOffset).toBeGreaterThan(0);
  });

  test("a oneway SEND_MESSAGE gets no answer and is stored", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    client.oneway({ code: RequestCode.SEND_MESSAGE, fields: { producerGroup: "pg", topic: "t", queueId: 0, msgId: nextMsgId(), bornTimestampMs: Date.now() }, body: encoder.encode("fire") });
    await waitFor("the oneway message to be stored", () => broker.store.maxOffset("t", 0) === 1);
    expect(text((await pull(client, "t")).messages[0]!.body)).toBe("fire");
  });

  test("SEND_BATCH stores every message in order in one queue and answers one result each", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const entries = Array.from({ length: 50 }, (_, index) => ({ msgId: nextMsgId(), tags: index % 2 === 0 ? "even" : "odd", keys: [`k${index}`], properties: { n: String(index) }, body: encoder.encode(`m${index}`) }));
    const result = await call(client, RequestCode.SEND_BATCH, { producerGroup: "pg", topic: "b", queueId: 2, messageCount: 50, bornTimestampMs: Date.now() }, encodeBatchBody(entries));
    expect(result).toMatchObject({ topic: "b", queueId: 2, firstQueueOffset: 0, storeHost: `127.0.0.1:${broker.port}` });
    const physicalOffsets = result.physicalOffsets as number[];
    expect(physicalOffsets.length).toBe(50);
    for (const [index, physicalOffset] of physicalOffsets.entries()) expect(broker.store.getByPhysicalOffset(asPhysicalOffset(physicalOffset))?.msgId).toBe(entries[index]!.msgId);
    const pulled = await pull(client, "b", { queueId: 2, maxMessages: 100 });
    expect(pulled.messages.map((message) => text(message.body))).toEqual(entries.map((_, index) => `m${index}`));
    expect(pulled.messages[3]).toMatchObject({ tags: "odd", keys: ["k3"], msgId: entries[3]!.msgId });
    expect(pulled.messages[3]!.properties.n).toBe("3");
  });

  test("a SEND_BATCH of the largest count is answered in one response, however large its result", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const entries = Array.from({ length: 10_000 }, () => ({ msgId: nextMsgId(), body: encoder.encode("x") }));
    const frame = await client.request({ code: RequestCode.SEND_BATCH, fields: { producerGroup: "pg", topic: "big", queueId: 0, messageCount: 10_000, bornTimestampMs: Date.now() }, body: encodeBatchBody(entries) });
    expect((readResult(frame).physicalOffsets as number[]).length).toBe(10_000);
    expect<number>(broker.store.maxOffset("big", 0)).toBe(10_000);
  });

  test("over TCP a delayed send is answered with its delivery time and stays out of its queue; past the limit it is TIMER_DELAY_OUT_OF_RANGE", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const base = { producerGroup: "pg", topic: "t", queueId: 0, msgId: nextMsgId(), bornTimestampMs: Date.now() };
    const before = Date.now();
    const delayed = readResult(await client.request({ code: RequestCode.SEND_MESSAGE, fields: { ...base, delayMs: 3_600_000 }, body: encoder.encode("x") }));
    expect(delayed.scheduled).toBe(true);
    expect(delayed.deliverAtMs as number).toBeGreaterThanOrEqual(before + 3_600_000);
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
    const tooLong = await rejection(client.request({ code: RequestCode.SEND_MESSAGE, fields: { ...base, msgId: nextMsgId(), delayMs: 41 * 86_400_000 }, body: encoder.encode("x") }));
    expect(tooLong.errorName).toBe("TIMER_DELAY_OUT_OF_RANGE");
    expect(tooLong.message).toBe(`Cannot schedule message: delay is ${41 * 86_400_000} ms, it must be 1..${40 * 86_400_000} ms (timerMaxDelayMs)`);
    const prepared = await rejection(client.request({ code: RequestCode.SEND_MESSAGE, fields: { ...base, msgId: nextMsgId(), transactionPrepared: true, delayMs: 1_000 }, body: encoder.encode("x") }));
    expect(prepared.errorName).toBe("BAD_REQUEST");
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
  });

  test("under sync flush a send is answered once durable", async () => {
    const broker = await startTestBroker({ flush: "sync" });
    const client = await connectTo(broker);
    const result = await send(client, "t", "durable");
    expect(broker.store.stats().commitLogFlushedOffset).toBeGreaterThan(decodeOffsetMsgId(result.offsetMsgId).physicalOffset);
  });
});

describe("Broker: pull", () => {
  test("answers the records exactly as the CommitLog holds them", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    for (let index = 0; index < 5; index++) await send(client, "t", `m${index}`);
    const pulled = await pull(client, "t", { queueOffset: 1, maxMessages: 3 });
    expect(pulled).toMatchObject({ status: "found", nextOffset: 4, minOffset: 0, maxOffset: 5 });
    const stored = broker.store.getMessages({ topic: "t", queueId: 0, offset: asQueueOffset(1), maxCount: 3 });
    expect(pulled.body).toEqual(stored.buffer);
    expect<number[]>(pulled.messages.map((message) => message.queueOffset)).toEqual([1, 2, 3]);
  });

  test("answers no_new_message at the end of the queue and offset_moved outside it", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "a");
    expect(await pull(client, "t", { queueOffset: 1 })).toMatchObject({ status: "no_new_message", nextOffset: 1, maxOffset: 1 });
    expect(await pull(client, "t", { queueOffset: 9 })).toMatchObject({ status: "offset_moved", nextOffset: 1 });
    expect(await pull(client, "t", { queueId: 3, queueOffset: 0 })).toMatchObject({ status: "no_new_message", nextOffset: 0 });
    expect(await pull(client, "t", { queueId: 3, queueOffset: 5 })).toMatchObject({ status: "offset_moved", nextOffset: 0 });
  });

  test("a pull of an unknown topic is TOPIC_NOT_FOUND and is never auto-created", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    expect((await rejection(pull(client, "nope"))).errorName).toBe("TOPIC_NOT_FOUND");
    expect((await rejection(call(client, RequestCode.GET_TOPIC, { topic: "nope" }))).errorName).toBe("TOPIC_NOT_FOUND");
  });

  test('a tag filter "a || b" returns only those tags; "*" returns everything', async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const tags = ["a", "b", "c", "a", undefined, "b", "c"];
    for (const tag of tags) await send(client, "t", `body-${tag}`, { tags: tag });
    const filtered = await pull(client, "t", { filter: { expressionType: "TAG", expression: "a || b" } });
    expect(filtered.status).toBe("found");
    expect(filtered.messages.map((message) => message.tags)).toEqual(["a", "b", "a", "b"]);
    expect<number[]>(filtered.messages.map((message) => message.queueOffset)).toEqual([0, 1, 3, 5]);
    const all = await pull(client, "t", { filter: { expressionType: "TAG", expression: "*" } });
    expect(all.messages.length).toBe(tags.length);
    const none = await pull(client, "t", { filter: { expressionType: "TAG", expression: "zzz" } });
    expect(none).toMatchObject({ status: "no_matched_message", nextOffset: tags.length });
  });

  test("a SQL92 filter returns only messages whose properties match", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    for (const a of ["1", "5", "x", undefined, "9"]) await send(client, "t", `a=${a}`, a === undefined ? {} : { properties: { a } });
    const pulled = await pull(client, "t", { filter: { expressionType: "SQL92", expression: "a > 1" } });
    expect(pulled.status).toBe("found");
    expect<number[]>(pulled.messages.map((message) => message.queueOffset)).toEqual([1, 4]);
  });

  test("a pull past a rolled CommitLog file reads across the roll (tiny files)", async () => {
    const broker = await startTestBroker({ tiny: true });
    const client = await connectTo(broker);
    const body = new Uint8Array(10_000).fill(7);
    for (let index = 0; index < 20; index++) await send(client, "t", body);
    expect(broker.store.stats().commitLogFiles).toBeGreaterThan(1);
    const pulled = await pull(client, "t", { maxMessages: 100 });
    expect(pulled.messages.length).toBe(20);
  });
});

describe("Broker: lookups", () => {
  test("VIEW_MESSAGE_BY_ID finds a message by offsetMsgId, by msgId, and by a msgId sent as offsetMsgId", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "first");
    const sent = await send(client, "t", "wanted", { keys: ["order-1"] });
    for (const fields of [{ offsetMsgId: sent.offsetMsgId }, { msgId: sent.msgId }, { offsetMsgId: sent.msgId }]) {
      const frame = await client.request({ code: RequestCode.VIEW_MESSAGE_BY_ID, fields });
      expect(frame.header.count).toBe(1);
      const [message] = splitRecords(frame.body);
      expect(text(message!.body)).toBe("wanted");
      expect(message!.msgId).toBe(sent.msgId);
    }
  });

  test("VIEW_MESSAGE_BY_ID of an id that names nothing is MESSAGE_NOT_FOUND", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const inside = "7F000001000000000000000000000005"; // offset 5: inside the first record
    const error = await rejection(client.request({ code: RequestCode.VIEW_MESSAGE_BY_ID, fields: { offsetMsgId: inside } }));
    expect(error.errorName).toBe("MESSAGE_NOT_FOUND");
    expect(error.message).toBe(`Cannot find message "${inside}"`);
    expect((await rejection(client.request({ code: RequestCode.VIEW_MESSAGE_BY_ID, fields: {} }))).errorName).toBe("INVALID_FIELD");
  });

  test("QUERY_MESSAGE_BY_KEY returns the topic's messages carrying the key", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "a", { keys: ["k1"] });
    await send(client, "t", "b", { keys: ["k2", "k1"] });
    await send(client, "t", "c", { keys: ["k2"] });
    await send(client, "other", "d", { keys: ["k1"] });
    const frame = await client.request({ code: RequestCode.QUERY_MESSAGE_BY_KEY, fields: { topic: "t", key: "k1" } });
    expect(frame.header.count).toBe(2);
    expect(splitRecords(frame.body).map((message) => text(message.body)).sort()).toEqual(["a", "b"]);
  });

  test("GET_MIN_OFFSET, GET_MAX_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP answer the queue's offsets", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "a");
    await send(client, "t", "b");
    const before = Date.now();
    await waitFor("the clock to move past the first two messages", () => Date.now() > before);
    const later = Date.now();
    await send(client, "t", "c");
    expect(await call(client, RequestCode.GET_MIN_OFFSET, { topic: "t", queueId: 0 })).toMatchObject({ queueOffset: 0 });
    expect(await call(client, RequestCode.GET_MAX_OFFSET, { topic: "t", queueId: 0 })).toMatchObject({ queueOffset: 3 });
    expect(await call(client, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: "t", queueId: 0, timestampMs: later })).toMatchObject({ queueOffset: 2 });
    expect(await call(client, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic: "t", queueId: 0, timestampMs: 0 })).toMatchObject({ queueOffset: 0 });
    expect((await rejection(call(client, RequestCode.GET_MAX_OFFSET, { topic: "t", queueId: 9 }))).errorName).toBe("QUEUE_NOT_FOUND");
  });
});
