/**
 * Dead letters through the SDK's Admin over TCP (LIST_DEAD_LETTERS, REDRIVE_DEAD_LETTERS): each
 * entry's why, filters and paging; redrive by ids and by time range with one result per entry,
 * keeping body, keys, tags and user properties; a repeated redrive resends nothing, force does,
 * and a restart remembers what was redriven; the rate paces the resends.
 */

import { describe, expect, test } from "bun:test";
import { SendBackService } from "../../../src/broker/send-back-service.ts";
import { Admin } from "../../../src/client/admin.ts";
import { decodeOffsetMsgId } from "../../../src/common/ids.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { appendDeadLetter, originId } from "../../helpers/dead-letters.ts";
import { startProducer, track, uniqueName } from "./helpers.ts";

async function brokerWithDeadLetters(count: number): Promise<{ broker: TestBroker; admin: Admin; group: string; topic: string; storedMs: number[] }> {
  const broker = await startTestBroker();
  const admin = track(new Admin({ broker: broker.address }));
  const group = uniqueName("dlq");
  const topic = uniqueName("orders");
  await admin.createTopic(topic, { queues: 2 });
  const storedMs: number[] = [];
  for (let index = 0; index < count; index++) {
    const stored = await appendDeadLetter(broker.store, group, {
      originTopic: topic,
      originMsgId: originId(index),
      tags: "TagA",
      keys: [`order-${index}`],
      userProperties: { region: "eu" },
      reconsumeTimes: 16,
      firstFailureMs: 1_000 + index,
      lastFailureMs: 9_000 + index,
      clientId: `10.0.0.${index}@worker`,
      errorText: `Error: order ${index} is invalid`,
    });
    storedMs.push(stored.storeTimestampMs);
  }
  return { broker, admin, group, topic, storedMs };
}

/** Resolves once the wall clock is past `ms`, so the next record is stored strictly later. */
async function nextMillisecond(ms: number): Promise<void> {
  for (let attempt = 0; attempt < 1_000 && Date.now() <= ms; attempt++) await Bun.sleep(1);
}

describe("Admin: dead letters", () => {
  test("lists each entry with its origin, reconsume count, failure times, client id and error text; pages to the end; filters by msgId", async () => {
    const { admin, group, topic } = await brokerWithDeadLetters(5);
    const first = await admin.listDeadLetters(group, { limit: 2 });
    expect(first.entries.map((entry) => entry.originMsgId)).toEqual([originId(0), originId(1)]);
    expect(first.entries[1]).toMatchObject({ originTopic: topic, reconsumeTimes: 16, firstFailureMs: 1_001, lastFailureMs: 9_001, clientId: "10.0.0.1@worker", errorText: "Error: order 1 is invalid", tags: "TagA", keys: ["order-1"], redriven: false });
    expect(first.next).toBeDefined();
    const second = await admin.listDeadLetters(group, { limit: 2, after: first.next });
    const third = await admin.listDeadLetters(group, { limit: 2, after: second.next });
    expect([...second.entries, ...third.entries].map((entry) => entry.originMsgId)).toEqual([originId(2), originId(3), originId(4)]);
    expect(third.next).toBeUndefined();

    const byId = await admin.listDeadLetters(group, { msgId: originId(3) });
    expect(byId.entries.map((entry) => entry.originMsgId)).toEqual([originId(3)]);
    const byOffsetId = await admin.listDeadLetters(group, { msgId: byId.entries[0]!.id });
    expect(byOffsetId.entries.map((entry) => entry.originMsgId)).toEqual([originId(3)]);
    expect((await admin.listDeadLetters(uniqueName("none"))).entries).toEqual([]);
  });

  test("filters by the time an entry entered the DLQ", async () => {
    const { broker, admin, group, topic, storedMs } = await brokerWithDeadLetters(2);
    await nextMillisecond(storedMs.at(-1)!);
    const later = await appendDeadLetter(broker.store, group, { originTopic: topic, originMsgId: originId(7) });
    const startMs = later.storeTimestampMs;
    const inRange = await admin.listDeadLetters(group, { fromMs: startMs });
    expect(inRange.entries.map((entry) => entry.originMsgId)).toContain(originId(7));
    for (const entry of inRange.entries) expect(entry.storeTimestampMs).toBeGreaterThanOrEqual(startMs);
    const before = await admin.listDeadLetters(group, { toMs: startMs - 1 });
    for (const entry of before.entries) expect(entry.storeTimestampMs).toBeLessThan(startMs);
  });

  test("redrive by ids resends to the origin topic keeping body, keys, tags and user properties, one result per id; a repeat resends nothing; force does", async () => {
    const { admin, group, topic } = await brokerWithDeadLetters(3);
    const unknown = originId(99);
    const results = await admin.redrive(group, { ids: [originId(0), originId(2), unknown] });
    expect(results.map((result) => [result.originMsgId ?? result.id, result.status])).toEqual([
      [originId(0), "resent"],
      [originId(2), "resent"],
      [unknown, "failed"],
    ]);
    expect(results[2]).toMatchObject({ reason: `not in the DLQ of group "${group}"` });
    const resent = results[0]!;
    if (resent.status !== "resent") throw new Error("expected a resend");
    expect(resent.topic).toBe(topic);
    const [copy] = await admin.queryByKey(topic, "order-0");
    expect(copy).toBeDefined();
    expect(copy!.msgId).toBe(resent.msgId);
    expect(copy!.text()).toBe(`body of ${originId(0)}`);
    expect(copy!.tags).toBe("TagA");
    expect(copy!.properties.region).toBe("eu");
    expect(copy!.properties[propertyNames.originMsgId]).toBe(originId(0));

    const again = await admin.redrive(group, { ids: [originId(0), originId(2)] });
    expect(again.map((result) => result.status)).toEqual(["failed", "failed"]);
    expect(again[0]).toMatchObject({ reason: "already redriven: force resends it" });
    expect((await admin.listDeadLetters(group)).entries.map((entry) => entry.redriven)).toEqual([true, false, true]);

    const forced = await admin.redrive(group, { ids: [originId(0)], force: true, toTopic: topic });
    expect(forced.map((result) => result.status)).toEqual(["resent"]);
    expect(await admin.queryByKey(topic, "order-0")).toHaveLength(2);
  });

  test("redrive by time range, to a chosen topic; what was redriven survives a restart", async () => {
    const { broker, admin, group, topic, storedMs } = await brokerWithDeadLetters(2);
    await nextMillisecond(storedMs.at(-1)!);
    const later = await appendDeadLetter(broker.store, group, { originTopic: topic, originMsgId: originId(5), keys: ["late"] });
    const other = uniqueName("replay");
    await admin.createTopic(other, { queues: 1 });
    const results = await admin.redrive(group, { fromMs: later.storeTimestampMs, toTopic: other });
    expect(results.map((result) => result.status)).toContain("resent");
    expect(results.find((result) => result.originMsgId === originId(5))).toMatchObject({ status: "resent", topic: other });
    expect(results.map((result) => result.originMsgId)).toEqual([originId(5)]);
    expect(await admin.queryByKey(other, "late")).toHaveLength(1);

    await broker.restart();
    const afterRestart = track(new Admin({ broker: broker.address }));
    const repeat = await afterRestart.redrive(group, { all: true });
    const byOrigin = new Map(repeat.map((result) => [result.originMsgId, result]));
    expect(byOrigin.get(originId(5))).toMatchObject({ status: "failed", reason: "already redriven: force resends it" });
    expect(byOrigin.get(originId(0))).toMatchObject({ status: "resent", topic });
    expect((await afterRestart.redrive(group, { all: true })).every((result) => result.status === "failed")).toBe(true);
  });

  test("a redrive at a rate paces its resends", async () => {
    const { admin, group } = await brokerWithDeadLetters(4);
    const startedMs = performance.now();
    const results = await admin.redrive(group, { all: true, ratePerSecond: 20 });
    expect(results.map((result) => result.status)).toEqual(["resent", "resent", "resent", "resent"]);
    // Four resends at 20/s: three intervals of 50 ms at least.
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(140);
  });

  test("two redrives at once resend each entry once: the second is told another is resending it", async () => {
    const { admin, group, topic } = await brokerWithDeadLetters(3);
    const before = (await admin.topicOffsets(topic)).reduce((sum, queue) => sum + Number(queue.maxOffset), 0);
    const [first, second] = await Promise.all([admin.redrive(group, { all: true, ratePerSecond: 50 }), admin.redrive(group, { all: true, ratePerSecond: 50 })]);
    const outcomes = [...first, ...second].map((result) => (result.status === "resent" ? "resent" : result.reason));
    expect(outcomes.filter((outcome) => outcome === "resent")).toHaveLength(3);
    for (const outcome of outcomes.filter((outcome) => outcome !== "resent")) expect(outcome).toMatch(/^(another redrive is resending it now|already redriven: force resends it)$/);
    const after = (await admin.topicOffsets(topic)).reduce((sum, queue) => sum + Number(queue.maxOffset), 0);
    expect(after - before).toBe(3);
  });

  test("refuses a redrive that names no entries, ids, range or all", async () => {
    const { admin, group } = await brokerWithDeadLetters(1);
    await expect(admin.redrive(group, {})).rejects.toThrow('field "ids" is required');
  });

  test("an entry the broker dead-lettered itself (send-back past maxReconsumeTimes) is listed with why it failed and redriven to its origin", async () => {
    const broker = await startTestBroker();
    const admin = track(new Admin({ broker: broker.address }));
    const group = uniqueName("dlq");
    const topic = uniqueName("orders");
    await admin.createTopic(topic, { queues: 1 });
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "poison", tags: "TagP", keys: ["poison-1"], properties: { region: "eu" } });
    const answer = await SendBackService.of(broker.broker.context).sendBack({
      group,
      physicalOffset: decodeOffsetMsgId(sent.offsetMsgId).physicalOffset,
      originMsgId: sent.msgId,
      originTopic: topic,
      maxReconsumeTimes: 0,
      clientId: "10.0.0.7@consumer",
      errorText: "TypeError: total is undefined",
    });
    expect(answer).toMatchObject({ outcome: "dead-letter" });

    const { entries } = await admin.listDeadLetters(group);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ originTopic: topic, originMsgId: sent.msgId, reconsumeTimes: 1, clientId: "10.0.0.7@consumer", errorText: "TypeError: total is undefined", tags: "TagP", keys: ["poison-1"], redriven: false });
    expect(entries[0]!.firstFailureMs).toBeGreaterThan(0);
    expect(entries[0]!.lastFailureMs).toBeGreaterThanOrEqual(entries[0]!.firstFailureMs!);

    const [result] = await admin.redrive(group, { ids: [sent.msgId] });
    expect(result).toMatchObject({ status: "resent", topic, originMsgId: sent.msgId });
    const copies = await admin.queryByKey(topic, "poison-1");
    expect(copies).toHaveLength(2);
    const resent = copies.find((copy) => copy.msgId !== sent.msgId)!;
    expect([resent.text(), resent.tags, resent.properties.region, resent.properties[propertyNames.originMsgId]]).toEqual(["poison", "TagP", "eu", sent.msgId]);
  });
});
