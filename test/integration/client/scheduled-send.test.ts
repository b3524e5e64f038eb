/** The SDK's scheduled sends against a real broker in real time: delayLevel, deliverAt, delayMs, batches, limits. */

import { describe, expect, test } from "bun:test";
import { startTestBroker } from "../../helpers/broker.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { isMqError } from "../../../src/client/index.ts";
import { consumer, createTopic, startProducer, uniqueName, waitFor } from "./helpers.ts";

describe("client: scheduled sends", () => {
  test("delayLevel 1, delayMs and deliverAt arrive once, not before their time, with their properties", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("timed");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    const sentAt = Date.now();
    const level = await producer.send({ topic, body: "level", delayLevel: 1, tags: "L", keys: "k-level", properties: { color: "red" } });
    const delayed = await producer.send({ topic, body: "delay", delayMs: 300 });
    const at = await producer.send({ topic, body: "at", deliverAt: new Date(sentAt + 600) });
    for (const result of [level, delayed, at]) expect(result.scheduled).toBe(true);
    expect(level.deliverAtMs!).toBeGreaterThanOrEqual(sentAt + 1_000);
    expect(at.deliverAtMs).toBe(sentAt + 600);
    const received: ReceivedMessage[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" });
    push.subscribe(topic);
    await push.start((message) => void received.push(message));
    await waitFor("three scheduled messages", () => received.length >= 3);
    expect(received.map((message) => message.text()).sort()).toEqual(["at", "delay", "level"]);
    for (const message of received) {
      const sent = [level, delayed, at].find((result) => result.msgId === message.msgId)!;
      expect(message.storeTimestampMs).toBeGreaterThanOrEqual(sent.deliverAtMs!);
      expect(Number(message.properties.TIMER_OUT_MS)).toBe(sent.deliverAtMs!);
    }
    const levelMessage = received.find((message) => message.msgId === level.msgId)!;
    expect([levelMessage.tags, levelMessage.keys, levelMessage.properties.color]).toEqual(["L", ["k-level"], "red"]);
  });

  test("a past deliverAt is delivered at once and says so; a batch carries per-message times", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("timed");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const past = await producer.send({ topic, body: "past", deliverAt: Date.now() - 60_000 });
    expect(past.scheduled).toBe(false);
    const batch = await producer.sendBatch(topic, [{ body: "now" }, { body: "soon", delayMs: 200 }]);
    expect(batch.map((result) => result.scheduled)).toEqual([false, true]);
    expect(batch.map((result): number => result.queueOffset)).toEqual([0, 0]);
    await waitFor("all three", () => broker.store.maxOffset(topic, 0) === 3);
  });

  test("a batch whose delivery times have all passed is stored in its topic and answered with its queue offsets", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("timed");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    await producer.send({ topic, body: "first" });
    const batch = await producer.sendBatch(topic, [{ body: "p1", deliverAt: Date.now() - 1_000 }, { body: "p2", deliverAt: Date.now() - 2_000 }]);
    expect(batch.map((result) => [result.scheduled, Number(result.queueOffset)])).toEqual([[false, 1], [false, 2]]);
    expect(Number(broker.store.maxOffset(topic, 0))).toBe(3);
  });

  test("scheduled sends started together travel as one batch, each with its own time, each delivered once and not before it", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("timed");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const context = (producer as unknown as { context: { broker: { sendBatch: (...args: unknown[]) => unknown; sendMessage: (...args: unknown[]) => unknown } } }).context;
    const calls = { batches: 0, singles: 0 };
    const { sendBatch, sendMessage } = context.broker;
    context.broker.sendBatch = (...args) => ((calls.batches += 1), sendBatch.apply(context.broker, args));
    context.broker.sendMessage = (...args) => ((calls.singles += 1), sendMessage.apply(context.broker, args));
    const sentAt = Date.now();
    const results = await Promise.all([
      producer.send({ topic, body: "a", delayMs: 400 }),
      producer.send({ topic, body: "b", deliverAt: sentAt + 200 }),
      producer.send({ topic, body: "c", delayLevel: 1, tags: "T", properties: { color: "blue" } }),
      producer.send({ topic, body: "d", deliverAt: sentAt - 1_000 }),
    ]);
    expect(calls).toEqual({ batches: 1, singles: 0 });
    expect(results.map((result) => result.scheduled)).toEqual([true, true, true, false]);
    expect(results[1]!.deliverAtMs).toBe(sentAt + 200);
    expect(new Set(results.map((result) => result.msgId)).size).toBe(4);
    await waitFor("all four", () => broker.store.maxOffset(topic, 0) === 4);
    await Bun.sleep(300); // nothing more arrives: each was delivered once
    expect(Number(broker.store.maxOffset(topic, 0))).toBe(4);
    const received: ReceivedMessage[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" });
    push.subscribe(topic);
    await push.start((message) => void received.push(message));
    await waitFor("the four delivered", () => received.length >= 4);
    for (const message of received) {
      const sent = results.find((result) => result.msgId === message.msgId)!;
      expect(message.storeTimestampMs).toBeGreaterThanOrEqual(sent.deliverAtMs!);
    }
    expect(received.map((message) => message.text()).sort()).toEqual(["a", "b", "c", "d"]);
    const c = received.find((message) => message.text() === "c")!;
    expect([c.tags, c.properties.color]).toEqual(["T", "blue"]);
  });

  test("a delay beyond timerMaxDelayMs is refused with TIMER_DELAY_OUT_OF_RANGE naming the limit", async () => {
    const broker = await startTestBroker({ config: { timerMaxDelayMs: 60_000 } });
    const topic = uniqueName("timed");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address, { retries: 0 });
    const error = await producer.send({ topic, body: "x", delayMs: 60_001 }).catch((caught: unknown) => caught);
    expect(isMqError(error) && error.errorName).toBe("TIMER_DELAY_OUT_OF_RANGE");
    expect((error as Error).message).toBe("Cannot schedule message: delay is 60001 ms, it must be 1..60000 ms (timerMaxDelayMs)");
  });
});
