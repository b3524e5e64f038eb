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
