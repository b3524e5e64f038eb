/**
 * Exactly-once produce over TCP: the dedup window answers a repeated send with its original
 * (msgId, queue, offsets, duplicate: true) and stores it once — keyed by msgId or dedupKey, alone
 * and in batches, racing, across a restart, until the window expires (ManualClock), and not
 * after the topic was deleted.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { type BatchEntry, encodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { Admin } from "../../../src/client/admin.ts";
import { Producer } from "../../../src/client/producer.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, nextMsgId, pull, rejection } from "./helpers.ts";

afterAll(removeTempDirs);
const encoder = new TextEncoder();
const windowMs = 120_000;

function sendOne(client: Channel, fields: { topic?: string; queueId?: number; msgId?: string; dedupKey?: string; body?: string; delayMs?: number }) {
  return call(client, RequestCode.SEND_MESSAGE, {
    producerGroup: "pg",
    topic: fields.topic ?? "t",
    queueId: fields.queueId ?? 0,
    msgId: fields.msgId ?? nextMsgId(),
    bornTimestampMs: Date.now(),
    ...(fields.dedupKey === undefined ? {} : { dedupKey: fields.dedupKey }),
    ...(fields.delayMs === undefined ? {} : { delayMs: fields.delayMs }),
  }, encoder.encode(fields.body ?? "x"));
}

function sendBatch(client: Channel, entries: BatchEntry[], queueId = 0) {
  return call(client, RequestCode.SEND_BATCH, { producerGroup: "pg", topic: "t", queueId, messageCount: entries.length, bornTimestampMs: Date.now() }, encodeBatchBody(entries));
}

async function storedCount(broker: { store: { maxOffset(topic: string, queueId: number): number } }, topic = "t", queues = 4): Promise<number> {
  let count = 0;
  for (let queueId = 0; queueId < queues; queueId++) count += broker.store.maxOffset(topic, queueId);
  return count;
}

describe("Dedup window over TCP", () => {
  test("a repeated msgId is stored once and answered with the original msgId, queue and offsets", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { queueId: 1 }); // another message first, so the original's offset is not 0
    const first = await sendOne(client, { msgId, queueId: 1 });
    expect(first.duplicate).toBeUndefined();
    // An SDK retry after a lost answer: same msgId, round-robin moved it to another queue.
    const retried = await sendOne(client, { msgId, queueId: 3 });
    expect(retried).toMatchObject({ msgId, queueId: 1, queueOffset: 1, offsetMsgId: first.offsetMsgId, duplicate: true });
    expect(await storedCount(broker)).toBe(2);
    // msgIds compare without case, as lookups by id do.
    expect((await sendOne(client, { msgId: msgId.toLowerCase(), queueId: 2 })).duplicate).toBe(true);
    expect(await storedCount(broker)).toBe(2);
  });

  test("by default every topic has the window: a repeated msgId is answered as the original's duplicate", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    const first = await sendOne(client, { msgId });
    const again = await sendOne(client, { msgId });
    expect(again.duplicate).toBe(true);
    expect(again).toMatchObject({ msgId, queueId: first.queueId, queueOffset: first.queueOffset });
    expect(await storedCount(broker)).toBe(1);
  });

  test("with the window turned off (dedup: false) a repeated msgId is stored again", async () => {
    const broker = await startTestBroker({ config: { dedup: false } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { msgId });
    expect((await sendOne(client, { msgId })).duplicate).toBeUndefined();
    expect(await storedCount(broker)).toBe(2);
  });

  test("a dedupKey keys the window per topic: another msgId with the same key is the original's duplicate", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true } });
    const client = await connectTo(broker);
    const first = await sendOne(client, { dedupKey: "order-42", queueId: 2, body: "first" });
    const again = await sendOne(client, { dedupKey: "order-42", queueId: 0, body: "second" });
    expect(again).toMatchObject({ msgId: first.msgId, queueId: 2, queueOffset: first.queueOffset, offsetMsgId: first.offsetMsgId, duplicate: true });
    // The same key in another topic is another message.
    expect((await sendOne(client, { topic: "other", dedupKey: "order-42" })).duplicate).toBeUndefined();
    const stored = (await pull(client, "t", { queueId: 2 })).messages;
    expect(stored.map((message) => message.properties[propertyNames.dedupKey])).toEqual(["order-42"]);
    expect(await storedCount(broker)).toBe(1);
    // The key is the broker's property: a user cannot set it directly.
    expect((await rejection(call(client, RequestCode.SEND_MESSAGE, { producerGroup: "pg", topic: "t", queueId: 0, msgId: nextMsgId(), bornTimestampMs: 1, properties: { DEDUP_KEY: "x" } }, encoder.encode("x")))).errorName).toBe("PROPERTY_INVALID");
  });

  test("the window expires: past it, the same id is stored again (ManualClock)", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true, dedupWindowMs: windowMs } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { msgId });
    clock.advance(windowMs - 1);
    expect((await sendOne(client, { msgId })).duplicate).toBe(true);
    clock.advance(2);
    expect((await sendOne(client, { msgId })).duplicate).toBeUndefined();
    expect(await storedCount(broker)).toBe(2);
    // The new copy opens a new window.
    expect((await sendOne(client, { msgId })).duplicate).toBe(true);
  });

  test("two identical sends racing are stored once", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const [a, b] = [await connectTo(broker), await connectTo(broker)];
    const msgIds = Array.from({ length: 200 }, () => nextMsgId());
    const answers = await Promise.all(msgIds.flatMap((msgId, index) => [sendOne(a, { msgId, queueId: index % 4 }), sendOne(b, { msgId, queueId: (index + 1) % 4 })]));
    expect(await storedCount(broker)).toBe(200);
    for (let index = 0; index < msgIds.length; index++) {
      const pair = [answers[2 * index]!, answers[2 * index + 1]!];
      expect(pair.filter((answer) => answer.duplicate === true).length).toBe(1);
      expect(pair[0]!.offsetMsgId).toBe(pair[1]!.offsetMsgId);
    }
  });

  test("deleting a topic clears its window: the re-created topic stores the id again", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { msgId });
    await sendOne(client, { dedupKey: "k" });
    await call(client, RequestCode.DELETE_TOPIC, { topic: "t" });
    expect((await sendOne(client, { msgId })).duplicate).toBeUndefined();
    expect((await sendOne(client, { dedupKey: "k" })).duplicate).toBeUndefined();
    expect(await storedCount(broker)).toBe(2);
  });

  test("batches: each entry is answered on its own; repeats, also within one batch, are not stored", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true } });
    const client = await connectTo(broker);
    const entries: BatchEntry[] = Array.from({ length: 4 }, (_, index) => ({ msgId: nextMsgId(), body: encoder.encode(`b${index}`) }));
    const first = await sendBatch(client, entries, 1);
    expect(first.duplicates).toBeUndefined();
    const again = await sendBatch(client, entries, 2);
    expect(again.physicalOffsets).toEqual(first.physicalOffsets);
    expect(again.duplicates).toEqual(entries.map((entry, index) => ({ index, msgId: entry.msgId, queueId: 1, queueOffset: index })));
    // Mixed: a new entry, an old one, the new one repeated, a dedupKey.
    const fresh = { msgId: nextMsgId(), body: encoder.encode("new") };
    const mixed = await sendBatch(client, [fresh, entries[2]!, { ...fresh }, { msgId: nextMsgId(), dedupKey: "k", body: encoder.encode("keyed") }], 1);
    const physicalOffsets = mixed.physicalOffsets as number[];
    expect(mixed.firstQueueOffset).toBe(4);
    expect(mixed.duplicates).toEqual([
      { index: 1, msgId: entries[2]!.msgId, queueId: 1, queueOffset: 2 },
      { index: 2, msgId: fresh.msgId, queueId: 1, queueOffset: 4 },
    ]);
    expect(physicalOffsets[1]).toBe((first.physicalOffsets as number[])[2]!);
    expect(physicalOffsets[2]).toBe(physicalOffsets[0]!);
    expect(await storedCount(broker)).toBe(6);
    // A single send repeating a batch entry is a duplicate too.
    expect(await sendOne(client, { msgId: entries[3]!.msgId })).toMatchObject({ duplicate: true, queueId: 1, queueOffset: 3 });
  });

  test("the window survives a restart: rebuilt from the CommitLog", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, config: { dedup: true } });
    let client = await connectTo(broker);
    const msgId = nextMsgId();
    const first = await sendOne(client, { msgId, queueId: 3 });
    const keyed = await sendOne(client, { dedupKey: "k" });
    // A key that is not ASCII: the rebuild reads ids from the record's bytes, and must hash it as the string was.
    const unicode = await sendOne(client, { dedupKey: "заказ-№7 ✓", queueId: 1 });
    await broker.restart();
    await broker.broker.context.dedup.whenRebuilt();
    expect(broker.broker.context.dedup.stats().ids).toBe(3);
    client = await connectTo(broker);
    expect(await sendOne(client, { msgId })).toMatchObject({ msgId, queueId: 3, offsetMsgId: first.offsetMsgId, duplicate: true });
    expect(await sendOne(client, { dedupKey: "k", queueId: 2 })).toMatchObject({ msgId: keyed.msgId, queueId: 0, duplicate: true });
    expect(await sendOne(client, { dedupKey: "заказ-№7 ✓" })).toMatchObject({ msgId: unicode.msgId, queueId: 1, duplicate: true });
    expect(broker.broker.context.dedup.stats().ids).toBe(3);
    expect(await storedCount(broker)).toBe(3);
  });

  test("after a restart the broker serves before the window is rebuilt, and a repeat sent meanwhile is still answered with its original", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const client = await connectTo(broker);
    // More than one step of the rebuild's scan (8 MiB), so it is still running when the broker is back.
    const body = "x".repeat(64 * 1024);
    const sent = [];
    for (let index = 0; index < 160; index++) sent.push(await sendOne(client, { msgId: nextMsgId(), queueId: index % 4, body }));
    const msgIds = sent.map((result) => String(result.msgId));
    await broker.restart();
    const { dedup, messages } = broker.broker.context;
    expect(dedup.rebuilding).toBe(true);
    // In the same turn as the start, so nothing of the rebuild has run since: confirmed through the store's index.
    const repeats = [msgIds[0]!, msgIds[159]!].map((msgId) => messages.send({ topic: "t", queueId: 2, msgId, body: encoder.encode("again") }));
    const answers = await Promise.all(repeats);
    expect(answers.map((answer) => [answer.duplicate?.msgId, answer.duplicate?.queueId, answer.queueOffset])).toEqual([
      [msgIds[0], 0, 0],
      [msgIds[159], 3, 39],
    ]);
    const fresh = await messages.send({ topic: "t", queueId: 2, msgId: nextMsgId(), body: encoder.encode("new") });
    expect(fresh.duplicate).toBeUndefined();
    await dedup.whenRebuilt();
    expect(dedup.rebuilding).toBe(false);
    expect(dedup.stats().ids).toBe(161);
    expect((await messages.send({ topic: "t", queueId: 1, msgId: msgIds[80]!, body: encoder.encode("again") })).duplicate).toMatchObject({ msgId: msgIds[80], queueId: 0 });
    expect(await storedCount(broker)).toBe(161);
  });

  test("under sync flush a duplicate is answered, like its original, once durable", async () => {
    const broker = await startTestBroker({ flush: "sync", config: { dedup: true } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    const [first, second] = await Promise.all([sendOne(client, { msgId }), sendOne(client, { msgId })]);
    expect(second.offsetMsgId).toBe(first.offsetMsgId);
    expect([first.duplicate, second.duplicate].filter((duplicate) => duplicate === true).length).toBe(1);
    const original = broker.store.getByOffsetMsgId(first.offsetMsgId as string)!;
    expect(broker.store.commitLog.flushedPosition).toBeGreaterThanOrEqual(original.physicalOffset + original.storeSize);
  });

  test("a topic's own window wins over the broker's: 0 turns it off, a number turns it on", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const client = await connectTo(broker);
    broker.broker.context.topics.upsert({ topic: "off", readQueues: 1, writeQueues: 1, perm: 6, order: false, dedupWindowMs: 0 });
    const msgId = nextMsgId();
    await sendOne(client, { topic: "off", msgId });
    expect((await sendOne(client, { topic: "off", msgId })).duplicate).toBeUndefined();
    const plain = await startTestBroker({ config: { dedup: false } });
    const plainClient = await connectTo(plain);
    plain.broker.context.topics.upsert({ topic: "on", readQueues: 1, writeQueues: 1, perm: 6, order: false, dedupWindowMs: 60_000 });
    await sendOne(plainClient, { topic: "on", msgId });
    expect((await sendOne(plainClient, { topic: "on", msgId })).duplicate).toBe(true);
  });

  test("a message with a delivery time is not deduplicated", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { msgId, delayMs: 60_000 });
    expect((await sendOne(client, { msgId, delayMs: 60_000 })).duplicate).toBeUndefined();
  });

  test("a half message is not checked against the window; its committed message enters it", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    const half = (queueId: number) => call(client, RequestCode.SEND_MESSAGE, { producerGroup: "shop", topic: "t", queueId, msgId, bornTimestampMs: Date.now(), transactionPrepared: true }, encoder.encode("x"));
    const [first, second] = [await half(0), await half(1)];
    expect([first.duplicate, second.duplicate, first.transactionId === second.transactionId]).toEqual([undefined, undefined, false]);
    const committed = await call(client, RequestCode.END_TRANSACTION, { transactionId: String(first.transactionId), resolution: "commit", producerGroup: "shop" });
    expect(committed.state).toBe("committed");
    expect(await sendOne(client, { msgId, queueId: 2 })).toMatchObject({ msgId, queueId: 0, queueOffset: 0, duplicate: true });
    expect(await storedCount(broker)).toBe(1);
  });

  test("the SDK: a dedupKey repeated is answered duplicate, in one batch of accumulated sends as well as later", async () => {
    const broker = await startTestBroker({ config: { dedup: true } });
    const producer = new Producer({ broker: broker.address });
    await producer.start();
    try {
      const first = await producer.send({ topic: "t", body: "a", dedupKey: "k1" });
      expect(first.duplicate).toBeUndefined();
      const again = await producer.send({ topic: "t", body: "b", dedupKey: "k1" });
      expect(again).toMatchObject({ msgId: first.msgId, queueId: first.queueId, queueOffset: first.queueOffset, offsetMsgId: first.offsetMsgId, duplicate: true });
      // Sends started in one turn travel as one SEND_BATCH: repeats inside it are answered one by one.
      const together = await Promise.all(["k2", "k2", "k1", "k3"].map((dedupKey, index) => producer.send({ topic: "t", body: `c${index}`, dedupKey })));
      expect(together.map((result) => result.duplicate === true)).toEqual([false, true, true, false]);
      expect(together[1]!.offsetMsgId).toBe(together[0]!.offsetMsgId);
      const batch = await producer.sendBatch("t", [{ body: "d", dedupKey: "k3" }, { body: "e", dedupKey: "k4" }]);
      expect(batch.map((result) => result.duplicate === true)).toEqual([true, false]);
      expect(batch[0]!.offsetMsgId).toBe(together[3]!.offsetMsgId);
    } finally {
      await producer.shutdown();
    }
    expect(await storedCount(broker)).toBe(4);
  });

  test("the Admin SDK creates a topic with its own window (CREATE_TOPIC dedupWindowMs)", async () => {
    const broker = await startTestBroker();
    const admin = new Admin({ broker: broker.address });
    try {
      await admin.createTopic("once", { queues: 1, dedupWindowMs: 30_000 });
    } finally {
      await admin.close();
    }
    expect(broker.broker.context.topics.get("once")?.dedupWindowMs).toBe(30_000);
    const client = await connectTo(broker);
    const msgId = nextMsgId();
    await sendOne(client, { topic: "once", msgId });
    expect((await sendOne(client, { topic: "once", msgId })).duplicate).toBe(true);
  });

  test("a topic change that does not name the window keeps it: Admin.updateTopic, a raw UPDATE_TOPIC, and the window changed by name", async () => {
    const broker = await startTestBroker();
    const admin = new Admin({ broker: broker.address });
    const windowOf = () => broker.broker.context.topics.get("once")?.dedupWindowMs;
    try {
      await admin.createTopic("once", { queues: 1, dedupWindowMs: 30_000 });
      await admin.updateTopic("once", { writeQueues: 2, readQueues: 2 });
      expect([windowOf(), broker.broker.context.topics.get("once")?.writeQueues]).toEqual([30_000, 2]);
      expect((await admin.getTopic("once")).dedupWindowMs).toBe(30_000);
      const client = await connectTo(broker);
      await call(client, RequestCode.UPDATE_TOPIC, { topic: "once", readQueues: 2, writeQueues: 2, perm: 4 });
      expect([windowOf(), broker.broker.context.topics.get("once")?.perm]).toEqual([30_000, 4]);
      await admin.updateTopic("once", { perm: 6 });
      const msgId = nextMsgId();
      await sendOne(client, { topic: "once", msgId });
      expect((await sendOne(client, { topic: "once", msgId })).duplicate).toBe(true);
      await admin.updateTopic("once", { dedupWindowMs: 0 });
      expect(windowOf()).toBe(0);
      expect((await sendOne(client, { topic: "once", msgId })).duplicate).toBeUndefined();
    } finally {
      await admin.close();
    }
  });
});
