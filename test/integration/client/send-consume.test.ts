/** Client round trips against a real broker: every send API, and what consumers receive. */

import { describe, expect, test } from "bun:test";
import { spawnBrokerProcess, startTestBroker } from "../../helpers/broker.ts";
import { Admin } from "../../../src/client/admin.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { type MqError, isMqError } from "../../../src/client/index.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

describe("client: send and consume", () => {
  test("send → consume round trip carries body, tags, keys, properties and both ids", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("rt");
    await createTopic(broker.address, topic, 4);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "hello", tags: "greet", keys: ["k1", "k2"], properties: { color: "red" } });
    expect(sent.msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(sent.offsetMsgId).toMatch(/^[0-9A-F]{32}$/);
    expect(sent.topic).toBe(topic);

    const received: ReceivedMessage[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" });
    push.subscribe(topic);
    await push.start((message) => void received.push(message));
    await waitFor("the message", () => received.length === 1);
    const message = received[0]!;
    expect(message.text()).toBe("hello");
    expect(message.tags).toBe("greet");
    expect(message.keys).toEqual(["k1", "k2"]);
    expect(message.properties.color).toBe("red");
    expect(message.msgId).toBe(sent.msgId);
    expect([message.queueId, message.queueOffset]).toEqual([sent.queueId, sent.queueOffset]);
    expect(message.storeTimestampMs).toBeGreaterThan(0);

    const admin = track(new Admin({ broker: broker.address }));
    expect((await admin.viewMessage(sent.offsetMsgId)).text()).toBe("hello");
    expect((await admin.viewMessage(sent.msgId)).text()).toBe("hello");
    expect((await admin.queryByKey(topic, "k2")).map((found) => found.msgId)).toEqual([sent.msgId]);
  });

  test("a consumed message's offsetMsgId (from its record's store host) equals the send result's, on a broker process", async () => {
    // A real `mq start` process: the in-process test broker records store host port 0 (see report).
    const broker = await spawnBrokerProcess();
    const topic = uniqueName("ids");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "id" });
    const received: ReceivedMessage[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" }).subscribe(topic);
    await push.start((message) => void received.push(message));
    await waitFor("the message", () => received.length === 1);
    expect(received[0]!.offsetMsgId).toBe(sent.offsetMsgId);
    expect(received[0]!.msgId).toBe(sent.msgId);
  });
});

describe("client: send APIs", () => {
  test("sendBatch stores every message in one request, in order, on one queue", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("batch");
    await createTopic(broker.address, topic, 4);
    const producer = await startProducer(broker.address);
    const results = await producer.sendBatch(topic, Array.from({ length: 50 }, (_, index) => ({ body: `m${index}`, tags: "b", keys: [`key-${index}`] })));
    expect(results.length).toBe(50);
    expect(new Set(results.map((result) => result.queueId)).size).toBe(1);
    expect<number[]>(results.map((result) => result.queueOffset)).toEqual(results.map((_, index) => results[0]!.queueOffset + index));
    const received: string[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" });
    push.subscribe(topic);
    await push.start((message) => void received.push(message.text()));
    await waitFor("50 batched messages", () => received.length === 50);
    expect(received.sort()).toEqual(Array.from({ length: 50 }, (_, index) => `m${index}`).sort());
  });

  test("concurrent send() calls to one queue travel batched and each resolves with its own msgId and offset, in call order", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("accumulate");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const results = await Promise.all(Array.from({ length: 40 }, (_, index) => producer.send({ topic, body: `m${index}` })));
    expect(new Set(results.map((result) => result.msgId)).size).toBe(40);
    expect(new Set(results.map((result) => result.offsetMsgId)).size).toBe(40);
    expect<number[]>(results.map((result) => result.queueOffset)).toEqual(results.map((_, index) => index));
    const received: string[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first", orderly: true });
    push.subscribe(topic);
    await push.start((message) => void received.push(message.text()));
    await waitFor("40 messages", () => received.length === 40);
    expect(received).toEqual(Array.from({ length: 40 }, (_, index) => `m${index}`));
  });

  test("sendBatch refuses mixed topics and an empty batch before sending", async () => {
    const broker = await startTestBroker();
    const producer = await startProducer(broker.address);
    const mixed = await producer.sendBatch("a", [{ body: "x", topic: "b" }]).then(() => undefined, (error: unknown) => error);
    expect(isMqError(mixed, "BATCH_MIXED_TOPICS")).toBe(true);
    const empty = await producer.sendBatch("a", []).then(() => undefined, (error: unknown) => error);
    expect(isMqError(empty, "BATCH_EMPTY")).toBe(true);
  });

  test("sendOneway messages arrive", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("oneway");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 20; index++) await producer.sendOneway({ topic, body: `o${index}` });
    const received = new Set<string>();
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" });
    push.subscribe(topic);
    await push.start((message) => void received.add(message.text()));
    await waitFor("20 oneway messages", () => received.size === 20);
  });

  test("sharding keys and selectors keep each key on one queue, in send order", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("ordered");
    await createTopic(broker.address, topic, 8);
    const producer = await startProducer(broker.address);
    const queueOfKey = new Map<string, Set<number>>();
    for (let index = 0; index < 120; index++) {
      const key = `key-${index % 6}`;
      const result = await producer.send({ topic, body: `${key}:${index}`, shardingKey: key });
      queueOfKey.set(key, (queueOfKey.get(key) ?? new Set()).add(result.queueId));
    }
    for (const [key, queueIds] of queueOfKey) expect({ key, queues: queueIds.size }).toEqual({ key, queues: 1 });
    const selected = await producer.send({ topic, body: "pinned" }, { selector: (queues) => queues[5]! });
    expect(selected.queueId).toBe(5);

    const seen = new Map<string, number[]>();
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first", orderly: true });
    push.subscribe(topic);
    let count = 0;
    await push.start((message) => {
      count++;
      const [key, index] = message.text().split(":");
      if (index !== undefined) seen.set(key!, [...(seen.get(key!) ?? []), Number(index)]);
    });
    await waitFor("121 messages", () => count === 121);
    for (const [key, indexes] of seen) expect({ key, indexes }).toEqual({ key, indexes: [...indexes].sort((a, b) => a - b) });
  });

  test("bounded in flight: 500 concurrent sends with maxInFlight 8 all complete", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("window");
    await createTopic(broker.address, topic, 4);
    const producer = await startProducer(broker.address, { maxInFlight: 8 });
    const results = await Promise.all(Array.from({ length: 500 }, (_, index) => producer.send({ topic, body: `w${index}` })));
    expect(new Set(results.map((result) => result.msgId)).size).toBe(500);
  });

  test("a send to a topic that does not exist creates it when the broker auto-creates topics", async () => {
    const broker = await startTestBroker();
    const producer = await startProducer(broker.address);
    const topic = uniqueName("born");
    const first = await producer.send({ topic, body: "first" });
    expect(first.topic).toBe(topic);
    expect(broker.broker.context.topics.get(topic)?.writeQueues).toBe(4);
    // Later sends use the topic's real route: every queue, round-robin.
    const later = await Promise.all(Array.from({ length: 8 }, (_, index) => producer.send({ topic, body: `m${index}` })));
    expect(new Set(later.map((result) => result.queueId)).size).toBe(4);
    const batch = await producer.sendBatch(uniqueName("born-batch"), [{ body: "a" }, { body: "b" }]);
    expect<number[]>(batch.map((result) => result.queueOffset)).toEqual([0, 1]);
  });

  test("broker errors surface as MqError with the catalogue code and are not retried", async () => {
    const broker = await startTestBroker({ config: { autoCreateTopics: false } });
    const producer = await startProducer(broker.address);
    const error = await producer.send({ topic: "no-such-topic", body: "x" }).then(() => undefined, (caught: unknown) => caught);
    expect(isMqError(error, "TOPIC_NOT_FOUND")).toBe(true);
    expect((error as MqError).code).toBe(2001);
  });

  test("a send to a stopped broker fails with a retriable error after its retries", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("down");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address, { retries: 1, sendTimeoutMs: 2_000 });
    await producer.send({ topic, body: "warm" });
    await broker.stop();
    const error = await producer.send({ topic, body: "x" }).then(() => undefined, (caught: unknown) => caught);
    expect(isMqError(error)).toBe(true);
    expect(["CONNECTION_CLOSED", "CONNECT_FAILED", "REQUEST_TIMEOUT"]).toContain((error as MqError).errorName);
  });

  test("for await: break counts the current message as consumed, shuts down, and the group resumes after it", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("iter");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 10; index++) await producer.send({ topic, body: `i${index}` });
    const group = uniqueName("g");
    const first: string[] = [];
    for await (const message of consumer(broker.address, { group, consumeFromWhere: "first", concurrency: 1 })
      .subscribe(topic)) {
      first.push(message.text());
      if (first.length === 4) break;
    }
    expect(first).toEqual(["i0", "i1", "i2", "i3"]);
    const rest: string[] = [];
    const second = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await second.start((message) => void rest.push(message.text()));
    await waitFor("the rest", () => rest.length >= 6);
    expect(rest.sort()).toEqual(["i4", "i5", "i6", "i7", "i8", "i9"]);
  });
});
