/**
 * Message trace (issue 13): the hops of a message sent by the SDK and by a raw-protocol client
 * (another language's, in effect), each found by Admin.trace with stored + consumed; a
 * transaction's end recorded by the SDK and by the broker; traces
 * found by offsetMsgId and key; a W3C traceparent carried into the hops; tracing that cannot
 * write (a trace queue of one hop, a trace topic no broker takes) never fails or slows a send.
 */

import { describe, expect, test } from "bun:test";
import { Admin } from "../../../src/client/admin.ts";
import { Producer } from "../../../src/client/producer.ts";
import { TransactionProducer } from "../../../src/client/transaction-producer.ts";
import { isMqError } from "../../../src/common/errors.ts";
import type { TraceHop } from "../../../src/protocol/trace-record.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { encodeFrame } from "../../../src/protocol/frame.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { TraceWriter } from "../../../src/broker/trace-writer.ts";
import { MsgIdGenerator } from "../../../src/common/ids.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { connectRawPeer } from "../../helpers/raw-peer.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

const hopNames = (hops: readonly TraceHop[]): string[] => hops.map((hop) => hop.hop);

async function traceUntil(admin: Admin, id: string, wanted: readonly string[]): Promise<TraceHop[]> {
  let hops: TraceHop[] = [];
  await waitUntil(`trace of ${id} to hold ${wanted.join(", ")}`, async () => {
    hops = await admin.trace(id);
    const names = hopNames(hops);
    return wanted.every((name) => names.includes(name));
  }, undefined, 20);
  return hops;
}

describe("message trace", () => {
  test("a message sent and consumed by the SDK: publish, stored, consume-before, consume-after, found by msgId, offsetMsgId and key", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("traced");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address, { group: "TracedProducer" });
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const sent = await producer.send({ topic, body: "traced", keys: ["order-42"], properties: { traceparent } });
    const group = uniqueName("g");
    const push = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    let consumed = 0;
    await push.start(() => void consumed++);
    await waitFor("the message", () => consumed === 1);

    const admin = track(new Admin({ broker: broker.address }));
    const hops = await traceUntil(admin, sent.msgId, ["publish", "stored", "consume-before", "consume-after"]);
    expect(hopNames(hops)).toEqual(["publish", "stored", "consume-before", "consume-after"]);
    const [publish, stored, before, after] = hops as [TraceHop, TraceHop, TraceHop, TraceHop];
    expect(publish).toMatchObject({ msgId: sent.msgId, topic, status: "ok", group: "TracedProducer", offsetMsgId: sent.offsetMsgId, keys: ["order-42"], traceparent });
    expect(publish.costMs).toBeGreaterThanOrEqual(0);
    expect(stored).toMatchObject({ topic, queueId: sent.queueId, queueOffset: sent.queueOffset, host: `${"127.0.0.1"}:${broker.port}`, status: "ok", traceparent });
    expect(stored.storeTimeMs).toBeGreaterThan(0);
    expect(before).toMatchObject({ group, host: push.clientId, status: "ok", queueId: sent.queueId, queueOffset: sent.queueOffset });
    expect(after).toMatchObject({ group, host: push.clientId, status: "ok" });
    expect(before.timeMs).toBeLessThanOrEqual(after.timeMs);
    expect(after.costMs).toBeGreaterThanOrEqual(0);

    expect(hopNames(await admin.trace(sent.offsetMsgId))).toContain("stored");
    expect(hopNames(await admin.trace("order-42"))).toEqual(["publish", "stored", "consume-before", "consume-after"]);
    expect(await admin.trace("no-such-key")).toEqual([]);
  });

  test("a pulled batch: each message's consume hops, at its own queue offset, found by its msgId and by its offsetMsgId; one that turned tracing off has none", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("batch");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    // One SEND_BATCH: the consumer pulls them as one batch, the hops' index keys shared by msgIds of one millisecond.
    const sent = await producer.sendBatch(topic, Array.from({ length: 12 }, (_, index) => ({ body: `m${index}`, ...(index === 5 ? { keys: ["batch-key-5"] } : {}), ...(index === 7 ? { properties: { TRACE_ON: "false" } } : {}) })));
    const group = uniqueName("g");
    const push = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    let consumed = 0;
    await push.start(() => void consumed++);
    await waitFor("the batch", () => consumed === sent.length);

    const admin = track(new Admin({ broker: broker.address }));
    for (const [index, message] of sent.entries()) {
      if (index === 7) continue;
      const hops = await traceUntil(admin, message.msgId, ["publish", "stored", "consume-before", "consume-after"]);
      const after = hops.find((hop) => hop.hop === "consume-after")!;
      expect(after).toMatchObject({ msgId: message.msgId, topic, group, host: push.clientId, status: "ok", queueId: message.queueId, queueOffset: message.queueOffset });
      expect(hops.find((hop) => hop.hop === "consume-before")).toMatchObject({ msgId: message.msgId, queueOffset: message.queueOffset });
      if (index === 5) expect(after.keys).toEqual(["batch-key-5"]);
      else expect(after.keys).toBeUndefined();
      expect(hopNames(await admin.trace(message.offsetMsgId))).toEqual(["publish", "stored", "consume-before", "consume-after"]);
    }
    await push.shutdown(); // its trace written: the quiet message's absence is final
    expect(await admin.trace(sent[7]!.msgId)).toEqual([]);
  });

  test("a failed handler records consume-after failed, then the retry the broker scheduled and delivered", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("retried");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "fails once" });
    const group = uniqueName("g");
    await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 3, backoff: { kind: "exponential", initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } });
    let attempts = 0;
    const push = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await push.start(() => {
      attempts++;
      if (attempts === 1) throw new Error("first attempt fails");
    });
    const admin = track(new Admin({ broker: broker.address }));
    // The SDK's own hops (publish, consume) travel apart from the broker's: wait for all of them.
    const hops = await traceUntil(admin, sent.msgId, ["publish", "stored", "consume-before", "consume-after", "retried", "delivered"]);
    const names = hopNames(hops);
    expect(names.slice(0, 4)).toEqual(["publish", "stored", "consume-before", "consume-after"]);
    expect(hops[3]).toMatchObject({ status: "failed" });
    expect(hops.find((hop) => hop.hop === "retried")).toMatchObject({ group, reconsumeTimes: 1, topic });
    expect(hops.find((hop) => hop.hop === "delivered")).toMatchObject({ group, topic: `%RETRY%${group}` });
  });

  test("a message sent and popped by a raw-protocol client has its broker-side trace: stored, popped, acked", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("raw");
    await createTopic(broker.address, topic, 1);
    const peer = await connectRawPeer(broker.port);
    try {
      const msgId = new MsgIdGenerator({ ip: "10.1.2.3", pid: 77, instanceHash: 5 }).next();
      peer.socket.write(encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 1, fields: { producerGroup: "foreign", topic, queueId: 0, msgId, bornTimestampMs: Date.now(), keys: ["raw-key"] }, body: new TextEncoder().encode("from elsewhere") }));
      await waitFor("the send's answer", () => peer.frames().length === 1);
      expect(peer.frames()[0]!.code).toBe(0);
      peer.socket.write(encodeFrame({ code: RequestCode.POP_MESSAGE, opaque: 2, fields: { consumerGroup: "foreign-group", topic, maxMessages: 1, invisibleTimeMs: 30_000 } }));
      await waitFor("the pop's answer", () => peer.frames().length === 2);
      const popped = peer.frames()[1]!;
      expect(splitRecords(popped.body).map((record) => record.msgId)).toEqual([msgId]);
      const handle = (popped.header as { receiptHandles: string[] }).receiptHandles[0]!;
      peer.socket.write(encodeFrame({ code: RequestCode.ACK_MESSAGE, opaque: 3, fields: { consumerGroup: "foreign-group", topic, receiptHandle: handle } }));
      await waitFor("the ack's answer", () => peer.frames().length === 3);
      expect(peer.frames()[2]!.code).toBe(0);

      const admin = track(new Admin({ broker: broker.address }));
      const hops = await traceUntil(admin, msgId, ["stored", "popped", "acked"]);
      expect(hopNames(hops)).toEqual(["stored", "popped", "acked"]);
      expect(hops[1]).toMatchObject({ group: "foreign-group", topic, queueOffset: 0 });
      expect(hopNames(await admin.trace("raw-key"))).toEqual(["stored", "popped", "acked"]);
    } finally {
      peer.socket.destroy();
    }
  });

  test("a transaction's trace: the half's publish and store, its end by the SDK and by the broker, the committed message stored; a rollback ends it too", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("tx");
    await createTopic(broker.address, topic, 1);
    const group = uniqueName("txg");
    const producer = track(new TransactionProducer({ broker: broker.address, group, checkListener: () => "unknown" }));
    await producer.start();
    const committed = await producer.sendInTransaction({ topic, body: "paid" }, () => "commit");
    const rolledBack = await producer.sendInTransaction({ topic, body: "cancelled" }, () => "rollback");
    const admin = track(new Admin({ broker: broker.address }));
    const hops = await traceUntil(admin, committed.msgId, ["publish", "transaction-end"]);
    await waitUntil("both ends and the committed copy", async () => (await admin.trace(committed.msgId)).filter((hop) => hop.hop === "transaction-end" || hop.hop === "stored").length === 4, undefined, 20);
    const all = await admin.trace(committed.msgId);
    expect(hops[0]).toMatchObject({ hop: "publish", group, status: "ok" });
    const stored = all.filter((hop) => hop.hop === "stored");
    expect(stored.map((hop) => hop.detail ?? "visible")).toEqual(["half message: invisible until its transaction is committed", "visible"]);
    expect(stored.every((hop) => hop.topic === topic)).toBe(true);
    const ends = all.filter((hop) => hop.hop === "transaction-end");
    expect(ends.map((hop) => hop.detail).sort()).toEqual(["commit by producer", "commit: committed"]);
    const rollback = await traceUntil(admin, rolledBack.msgId, ["transaction-end"]);
    await waitUntil("both ends of the rollback", async () => (await admin.trace(rolledBack.msgId)).filter((hop) => hop.hop === "transaction-end").length === 2, undefined, 20);
    expect((await admin.trace(rolledBack.msgId)).filter((hop) => hop.hop === "transaction-end").map((hop) => hop.detail).sort()).toEqual(["rollback by producer", "rollback: rolled_back"]);
    expect(rollback.filter((hop) => hop.hop === "stored").length).toBe(1);
  });

  test("a client with trace off records nothing; the broker still records what it sees", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("untraced");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address, { trace: false });
    expect(producer.traceCounters).toBeUndefined();
    const sent = await producer.send({ topic, body: "x" });
    const admin = track(new Admin({ broker: broker.address }));
    expect(hopNames(await traceUntil(admin, sent.msgId, ["stored"]))).toEqual(["stored"]);
  });

  test("a message with TRACE_ON=false is traced by neither its SDK nor the broker", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("off");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const quiet = await producer.send({ topic, body: "quiet", properties: { TRACE_ON: "false" } });
    const loud = await producer.send({ topic, body: "loud" });
    const admin = track(new Admin({ broker: broker.address }));
    await traceUntil(admin, loud.msgId, ["publish", "stored"]);
    expect(await admin.trace(quiet.msgId)).toEqual([]);
    // The trace topic takes trace messages only.
    const refused = await producer.send({ topic: "RMQ_SYS_TRACE_TOPIC", body: "not a trace" }).catch((error: unknown) => error);
    expect(isMqError(refused, "TOPIC_INVALID")).toBe(true);
  });

  test("tracing that cannot keep up or cannot write never fails a send, and counts what it dropped", async () => {
    const broker = await startTestBroker({ traceQueueHopsMax: 1, config: { autoCreateTopics: false } });
    const topic = uniqueName("full");
    await createTopic(broker.address, topic, 1);
    // The SDK's queue holds one hop, and its trace topic does not exist (and is not created on a send).
    const producer = track(new Producer({ broker: broker.address, trace: { topic: "NoSuchTraceTopic", queueHopsMax: 1 } }));
    await producer.start();
    // Delayed a moment, so each message gives the broker a hop to write when it is delivered (delivered); a plain
    // send's stored hop and a delayed send's scheduled hop are built at query time.
    const results = await Promise.all(Array.from({ length: 200 }, (_, index) => producer.send({ topic, body: `m${index}`, delayMs: 1 })));
    expect(results.map((result) => result.topic)).toEqual(Array.from({ length: 200 }, () => topic));
    const writer = TraceWriter.of(broker.broker.context)!;
    await waitFor("the 200 deliveries", () => writer.counters.dropped + writer.counters.recorded >= 200);
    expect(writer.counters.dropped).toBeGreaterThan(0);
    expect(writer.counters.dropped + writer.counters.recorded).toBe(200);
    await producer.shutdown();
    expect(producer.traceCounters).toMatchObject({ written: 0, dropped: 200 });
  });
});
