/**
 * A failing handler against a real broker: the concurrent PushConsumer sends each failed message
 * back, the group's back-off brings it again through `%RETRY%<group>` (subscribed by the group on
 * its own), and past maxReconsumeTimes it lands in `%DLQ%<group>` with the handler's error text;
 * the orderly consumer retries locally in order and dead-letters the poison message only.
 */

import { describe, expect, test } from "bun:test";
import { decodeRecord, type StoredMessage } from "../../../src/common/message-record.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { BrokerClient } from "../../../src/client/broker-client.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { consumer, createTopic, startProducer, uniqueName, waitFor } from "./helpers.ts";

/** Every record stored in queue 0 of `topic`. */
function stored(broker: TestBroker, topic: string): StoredMessage[] {
  const result = broker.store.getMessages({ topic, queueId: 0, offset: queueOffset(0), maxCount: 1_000 });
  return result.messages.map((message) => decodeRecord(result.buffer, message.position));
}

async function groupWithFastRetries(broker: TestBroker, group: string, maxReconsumeTimes: number): Promise<void> {
  await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes, backoff: { kind: "exponential", initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } });
}

describe("client: consumer retry and dead letters", () => {
  test("a handler that always fails: each message is delivered exactly 1 + maxReconsumeTimes times, then is in the DLQ with its error text", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("fail");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 2);
    await groupWithFastRetries(broker, group, 2);
    const producer = await startProducer(broker.address);
    const sent = await Promise.all(Array.from({ length: 5 }, (_, index) => producer.send({ topic, body: `m${index}` })));

    const deliveries = new Map<string, ReceivedMessage[]>();
    const push = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await push.start((message) => {
      deliveries.set(message.originMsgId, [...(deliveries.get(message.originMsgId) ?? []), message]);
      throw new Error(`cannot handle ${message.text()} (try ${message.reconsumeTimes})`);
    });
    await waitFor("every message in the DLQ", () => push.metrics.sentToDeadLetter === 5);

    expect(push.metrics).toEqual({ failed: 15, sentToRetry: 10, sentToDeadLetter: 5, sendBackErrors: 0 });
    for (const { msgId } of sent) {
      const seen = deliveries.get(msgId) ?? [];
      expect(seen.map((message) => [message.topic, message.reconsumeTimes, message.originTopic, message.originMsgId])).toEqual([
        [topic, 0, topic, msgId],
        [`%RETRY%${group}`, 1, topic, msgId],
        [`%RETRY%${group}`, 2, topic, msgId],
      ]);
    }
    const deadLetters = stored(broker, `%DLQ%${group}`);
    expect(deadLetters.map((entry) => entry.msgId).sort()).toEqual(sent.map((result) => result.msgId).sort());
    for (const entry of deadLetters) {
      expect(entry.reconsumeTimes).toBe(3);
      expect(entry.properties[propertyNames.consumeErrorText]).toBe(`Error: cannot handle ${new TextDecoder().decode(entry.body)} (try 2)`);
      expect(entry.properties[propertyNames.lastConsumerClientId]).toBe(push.clientId);
    }
  });

  test("the failures of one pull are sent back together (CONSUMER_SEND_BACK_BATCH) and each comes back exactly once", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("many");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    await groupWithFastRetries(broker, group, 2);
    const producer = await startProducer(broker.address);
    await producer.sendBatch(topic, Array.from({ length: 100 }, (_, index) => ({ body: `m${index}` })));
    const requests = { single: 0, batches: 0, entries: 0 };
    const single = BrokerClient.prototype.consumerSendBack;
    const batch = BrokerClient.prototype.consumerSendBackBatch;
    BrokerClient.prototype.consumerSendBack = function (...args: Parameters<typeof single>) {
      requests.single++;
      return single.apply(this, args);
    };
    BrokerClient.prototype.consumerSendBackBatch = function (...args: Parameters<typeof batch>) {
      requests.batches++;
      requests.entries += args[1].entries.length;
      return batch.apply(this, args);
    };
    try {
      const seen = new Map<string, number[]>();
      const push = consumer(broker.address, { group, consumeFromWhere: "first", pullBatchSize: 100, concurrency: 4 }).subscribe(topic);
      await push.start((message) => {
        seen.set(message.text(), [...(seen.get(message.text()) ?? []), message.reconsumeTimes]);
        if (message.reconsumeTimes === 0 && Number(message.text().slice(1)) % 2 === 0) throw new Error("even ones fail once");
      });
      await waitFor("every failed message back once", () => [...seen.values()].filter((times) => times.includes(1)).length === 50);
      await waitFor("nothing more", () => push.metrics.sentToRetry === 50);
      expect(push.metrics).toEqual({ failed: 50, sentToRetry: 50, sentToDeadLetter: 0, sendBackErrors: 0 });
      for (let index = 0; index < 100; index++) expect(seen.get(`m${index}`)).toEqual(index % 2 === 0 ? [0, 1] : [0]);
      expect(requests.single + requests.entries).toBe(50);
      // One pull of 100 runs in one turn: its 50 failures leave in batches of at most 32, not one request each.
      expect(requests.batches).toBeGreaterThan(0);
      expect(requests.single + requests.batches).toBeLessThan(10);
    } finally {
      BrokerClient.prototype.consumerSendBack = single;
      BrokerClient.prototype.consumerSendBackBatch = batch;
    }
  });

  test("in a batch only the failed message is retried", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("batch");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    await groupWithFastRetries(broker, group, 2);
    const producer = await startProducer(broker.address);
    await producer.sendBatch(topic, Array.from({ length: 10 }, (_, index) => ({ body: `m${index}` })));
    const seen: string[] = [];
    const push = consumer(broker.address, { group, consumeFromWhere: "first", pullBatchSize: 32 }).subscribe(topic);
    await push.start((message) => {
      seen.push(`${message.text()}@${message.reconsumeTimes}`);
      if (message.text() === "m4" && message.reconsumeTimes === 0) throw new Error("m4 fails once");
    });
    await waitFor("the retried message", () => seen.includes("m4@1"));
    expect(seen.filter((entry) => entry.endsWith("@1"))).toEqual(["m4@1"]);
    expect(seen.filter((entry) => entry.endsWith("@0")).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}@0`).sort());
    expect(push.metrics).toEqual({ failed: 1, sentToRetry: 1, sentToDeadLetter: 0, sendBackErrors: 0 });
  });

  test("orderly: the poison message is retried locally, in order, then dead-lettered, and the others keep their order", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orderly");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    await producer.sendBatch(topic, Array.from({ length: 6 }, (_, index) => ({ body: `m${index}` })));
    const seen: string[] = [];
    const push = consumer(broker.address, { group, consumeFromWhere: "first", orderly: true, maxReconsumeTimes: 2, suspendCurrentQueueMs: 10 }).subscribe(topic);
    await push.start((message) => {
      seen.push(message.text());
      if (message.text() === "m2") throw new Error("poison");
    });
    await waitFor("every message", () => seen.at(-1) === "m5");
    expect(seen).toEqual(["m0", "m1", "m2", "m2", "m2", "m3", "m4", "m5"]);
    const deadLetters = stored(broker, `%DLQ%${group}`);
    expect(deadLetters.map((entry) => new TextDecoder().decode(entry.body))).toEqual(["m2"]);
    expect(deadLetters[0]!.properties[propertyNames.consumeErrorText]).toBe("Error: poison");
    expect(push.metrics).toMatchObject({ failed: 3, sentToRetry: 0, sentToDeadLetter: 1 });
  });
});
