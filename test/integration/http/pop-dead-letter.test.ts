import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { decodeRecord, type StoredMessage } from "../../../src/common/message-record.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { connectTo } from "../broker/helpers.ts";
import { startHttpBroker, type HttpBroker } from "./helpers.ts";

const group = "workers";
const backoff = { kind: "exponential" as const, initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0 };

function deadLetters(broker: TestBroker): StoredMessage[] {
  const result = broker.store.getMessages({ topic: `%DLQ%${group}`, queueId: 0, offset: queueOffset(0), maxCount: 100 });
  return result.messages.map((message) => decodeRecord(result.buffer, message.position));
}

async function setUp(clock: ManualClock): Promise<HttpBroker> {
  const h = await startHttpBroker({ clock });
  await h.call("POST", "/api/v1/topics", { topic: "jobs", queues: 1 });
  await h.broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 2, backoff });
  expect((await h.call("POST", "/api/v1/topics/jobs/messages", { body: "job-1" })).status).toBe(200);
  return h;
}

describe("Pop retry and DLQ (ManualClock)", () => {
  test("HTTP receive + nack with an error text: delivered exactly 3 times (1 + maxReconsumeTimes 2) on the exponential back-off, then in the DLQ with the text", async () => {
    const clock = new ManualClock();
    const h = await setUp(clock);
    const attempts: number[] = [];
    const gaps: number[] = [];
    let lastMs = clock.nowMs();
    for (let step = 0; step < 5_000 && deadLetters(h.broker).length === 0; step++) {
      const { json } = await h.call("POST", `/api/v1/groups/${group}/receive`, { topic: "jobs", invisibleMs: 60_000 });
      for (const message of json.messages as { receiptHandle: string; deliveryAttempt: number }[]) {
        attempts.push(message.deliveryAttempt);
        gaps.push(clock.nowMs() - lastMs);
        lastMs = clock.nowMs();
        const nacked = await h.call("POST", `/api/v1/groups/${group}/nack`, { receiptHandles: [message.receiptHandle], errorText: `failed on attempt ${message.deliveryAttempt}` });
        expect(nacked.json).toEqual({ nacked: 1, failed: [] });
      }
      clock.advance(10);
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(gaps.slice(1)).toEqual([100, 200]);
    const [entry] = deadLetters(h.broker);
    expect(entry!.properties).toMatchObject({ DLQ_ORIGIN_TOPIC: "jobs", RECONSUME_TIME: "3", CONSUME_ERROR_TEXT: "failed on attempt 3" });
    expect(new TextDecoder().decode(entry!.body)).toBe("job-1");
    expect(h.broker.broker.context.topics.get(`%DLQ%${group}`)?.perm).toBe(0);
    clock.advance(10_000);
    expect((await h.call("POST", `/api/v1/groups/${group}/receive`, { topic: "jobs" })).json.messages).toEqual([]);
    expect((await h.call("GET", `/api/v1/groups/${group}`)).json).toMatchObject({ totalLag: 0, inFlight: 0 });
  });

  test("TCP pop never acked: the invisible time expiring counts each delivery; after 3 the message is in the DLQ with the reason", async () => {
    const clock = new ManualClock();
    const h = await setUp(clock);
    const connection = await connectTo(h.broker);
    const attempts: number[] = [];
    for (let step = 0; step < 5_000 && deadLetters(h.broker).length === 0; step++) {
      const frame = await connection.request({ code: RequestCode.POP_MESSAGE, fields: { consumerGroup: group, topic: "jobs", maxMessages: 1, invisibleTimeMs: 1_000 } });
      attempts.push(...((frame.header as { deliveryAttempts: number[] }).deliveryAttempts));
      expect(splitRecords(frame.body).length).toBe((frame.header as { count: number }).count);
      clock.advance(50);
    }
    expect(attempts).toEqual([1, 2, 3]);
    const [entry] = deadLetters(h.broker);
    expect(entry!.properties.CONSUME_ERROR_TEXT).toBe("invisible time expired: not acked after delivery 3");
    expect(entry!.properties.RECONSUME_TIME).toBe("3");
  });
});

describe("Pop retry and DLQ across a broker restart", () => {
  test("delivery counts and the back-off survive a restart: still exactly 3 deliveries, then the DLQ", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock } });
    broker.broker.context.topics.create({ topic: "jobs", readQueues: 1, writeQueues: 1, perm: 6, order: false });
    await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 2, backoff });
    await broker.broker.context.messages.publish("jobs", [{ body: new TextEncoder().encode("job-1") }]);
    const attempts: number[] = [];
    for (let step = 0; step < 5_000 && deadLetters(broker).length === 0; step++) {
      const connection = await connectTo(broker);
      const frame = await connection.request({ code: RequestCode.POP_MESSAGE, fields: { consumerGroup: group, topic: "jobs", maxMessages: 1, invisibleTimeMs: 1_000 } });
      const popped = (frame.header as { deliveryAttempts: number[] }).deliveryAttempts;
      attempts.push(...popped);
      if (popped.length > 0) await broker.restart(); // every failure is followed by a restart
      clock.advance(50);
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(deadLetters(broker)[0]!.properties.RECONSUME_TIME).toBe("3");
  });
});
