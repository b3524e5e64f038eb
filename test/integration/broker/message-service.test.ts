/**
 * The message service over TCP: the one message check (reserved properties, keys with a space),
 * transforms, and batches validated whole before anything is stored.
 */

import { afterAll, describe, expect, test } from "bun:test";
import type { MessageTransform } from "../../../src/broker/message-transform.ts";
import { MqError } from "../../../src/common/errors.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { type BatchEntry, encodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { prepareMessage } from "../../../src/client/message.ts";
import { tagLengthMax } from "../../../src/common/limits.ts";
import { propertyNameLengthMax } from "../../../src/protocol/limits.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { errorOf } from "../../helpers/error-of.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, nextMsgId, pull, rejection, send, text } from "./helpers.ts";

afterAll(removeTempDirs);
const encoder = new TextEncoder();

const reservedSamples = ["TAGS", "KEYS", "UNIQ_KEY", "DELAY", "DELIVER_AT", "TIMER_DELIVER_MS", "TIMER_DELAY_MS", "REAL_TOPIC", "REAL_QID", "TRAN_MSG", "PGROUP", "RETRY_TOPIC", "ORIGIN_MESSAGE_ID", "RECONSUME_TIME", "MAX_RECONSUME_TIMES", "DLQ_ORIGIN_TOPIC", "DLQ_ORIGIN_MESSAGE_ID", "FIRST_FAILURE_MS", "LAST_FAILURE_MS", "LAST_CONSUMER_CLIENT_ID", "CONSUME_ERROR_TEXT"];

describe("Message service over TCP: the one message check", () => {
  test("every reserved property name is PROPERTY_INVALID and nothing is stored", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    for (const name of reservedSamples) {
      const error = await rejection(send(client, "t", "x", { properties: { [name]: "1" } }));
      expect({ name, error: error.errorName, message: error.message }).toEqual({ name, error: "PROPERTY_INVALID", message: `Cannot use property "${name}": the name is reserved for the broker` });
    }
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
  });

  test("traceparent and ordinary properties pass through", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await send(client, "t", "x", { properties: { traceparent, color: "red" } });
    const stored = (await pull(client, "t")).messages[0]!;
    expect(stored.properties).toMatchObject({ traceparent, color: "red" });
  });

  test("a key holding a space is PROPERTY_INVALID instead of being stored as two keys", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const error = await rejection(send(client, "t", "x", { keys: ["order 42"] }));
    expect(error.errorName).toBe("PROPERTY_INVALID");
    expect(error.message).toContain(`"${propertyNames.keys}"`);
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
  });

  test("a batch with one bad entry stores nothing and answers one error", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const entries = Array.from({ length: 5 }, (_, index) => ({ msgId: nextMsgId(), body: encoder.encode(`b${index}`), ...(index === 3 ? { keys: ["a b"] } : {}) }));
    const batch = { producerGroup: "pg", topic: "b", queueId: 0, messageCount: 5, bornTimestampMs: Date.now() };
    expect((await rejection(call(client, RequestCode.SEND_BATCH, batch, encodeBatchBody(entries)))).errorName).toBe("PROPERTY_INVALID");
    const reserved = entries.map((entry, index): BatchEntry => ({ msgId: entry.msgId, body: entry.body, properties: index === 4 ? { TRAN_MSG: "true" } : {} }));
    expect((await rejection(call(client, RequestCode.SEND_BATCH, batch, encodeBatchBody(reserved)))).errorName).toBe("PROPERTY_INVALID");
    expect<number>(broker.store.maxOffset("b", 0)).toBe(0);
  });

  test("a transactional send is a half message answered with its transaction id; one that is also delayed is refused", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const fields = { producerGroup: "pg", topic: "t", queueId: 0, bornTimestampMs: Date.now() };
    const delayed = await call(client, RequestCode.SEND_MESSAGE, { ...fields, msgId: nextMsgId(), delayLevel: 3 }, encoder.encode("x"));
    expect(delayed.scheduled).toBe(true);
    const prepared = await call(client, RequestCode.SEND_MESSAGE, { ...fields, msgId: nextMsgId(), transactionPrepared: true }, encoder.encode("x"));
    expect(prepared.transactionId).toBe(prepared.offsetMsgId);
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
    const both = await rejection(call(client, RequestCode.SEND_MESSAGE, { ...fields, msgId: nextMsgId(), transactionPrepared: true, delayLevel: 3 }, encoder.encode("x")));
    expect(both.message).toBe("Cannot process request: a transactional message cannot also be delayed or scheduled");
  });
});

  test("a tag or property name over its length is INVALID_FIELD, sent alone or in a batch, and in the SDK", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const longTag = "x".repeat(tagLengthMax + 1);
    const longName = "p".repeat(propertyNameLengthMax + 1);
    const batch = { producerGroup: "pg", topic: "long", queueId: 0, messageCount: 1, bornTimestampMs: Date.now() };
    const codes = {
      singleTag: (await rejection(send(client, "long", "x", { tags: longTag }))).errorName,
      batchTag: (await rejection(call(client, RequestCode.SEND_BATCH, batch, encodeBatchBody([{ msgId: nextMsgId(), body: encoder.encode("x"), tags: longTag }])))).errorName,
      sdkTag: (errorOf(() => prepareMessage({ topic: "long", body: "x", tags: longTag })) as MqError).errorName,
      singleName: (await rejection(send(client, "long", "x", { properties: { [longName]: "v" } }))).errorName,
      batchName: (await rejection(call(client, RequestCode.SEND_BATCH, batch, encodeBatchBody([{ msgId: nextMsgId(), body: encoder.encode("x"), properties: { [longName]: "v" } }])))).errorName,
      sdkName: (errorOf(() => prepareMessage({ topic: "long", body: "x", properties: { [longName]: "v" } })) as MqError).errorName,
    };
    expect(codes).toEqual({ singleTag: "INVALID_FIELD", batchTag: "INVALID_FIELD", sdkTag: "INVALID_FIELD", singleName: "INVALID_FIELD", batchName: "INVALID_FIELD", sdkName: "INVALID_FIELD" });
    expect<number>(broker.store.maxOffset("long", 0)).toBe(0);
  });

describe("Message service: transforms", () => {
  test("transforms run in order on every message, single and batched, before it is stored", async () => {
    const seen: string[] = [];
    const stamp: MessageTransform = (message) => {
      seen.push(message.msgId!);
      return { ...message, properties: { ...message.properties, stamped: "1" } };
    };
    const reroute: MessageTransform = (message) => ({ ...message, topic: `${message.topic}-rerouted`, properties: { ...message.properties, stamped: `${message.properties?.stamped}+2` } });
    const broker = await startTestBroker({ transforms: [stamp, reroute] });
    const client = await connectTo(broker);
    const single = await send(client, "t", "one");
    const batch = { producerGroup: "pg", topic: "t", queueId: 0, messageCount: 2, bornTimestampMs: Date.now() };
    await call(client, RequestCode.SEND_BATCH, batch, encodeBatchBody([{ msgId: nextMsgId(), body: encoder.encode("two") }, { msgId: nextMsgId(), body: encoder.encode("three") }]));
    expect(seen.length).toBe(3);
    expect(seen[0]).toBe(single.msgId);
    expect<number>(broker.store.maxOffset("t", 0)).toBe(0);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "t-rerouted", readQueues: 4, writeQueues: 4 });
    const stored = (await pull(client, "t-rerouted", { maxMessages: 8 })).messages;
    expect(stored.map((message) => [text(message.body), message.properties.stamped])).toEqual([["one", "1+2"], ["two", "1+2"], ["three", "1+2"]]);
  });

  test("a transform that throws refuses the message with its error, and nothing is stored", async () => {
    const refuse: MessageTransform = (message) => {
      if (message.tags === "blocked") throw new MqError("BAD_REQUEST", { reason: "blocked by a test transform" });
      return message;
    };
    const broker = await startTestBroker({ transforms: [refuse] });
    const client = await connectTo(broker);
    expect((await rejection(send(client, "t", "x", { tags: "blocked" }))).message).toBe("Cannot process request: blocked by a test transform");
    await send(client, "t", "y", { tags: "fine" });
    expect<number>(broker.store.maxOffset("t", 0)).toBe(1);
  });
});
