import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { decodeOffsetMsgId } from "../../../src/common/ids.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { decodeRecord, type StoredMessage } from "../../../src/common/message-record.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, rejection, send } from "./helpers.ts";

afterAll(removeTempDirs);

const topic = "Orders";
const group = "billing";

async function start(clock: ManualClock): Promise<{ broker: TestBroker; connection: Channel }> {
  const broker = await startTestBroker({ clock, store: { clock } });
  broker.broker.context.topics.create({ topic, readQueues: 1, writeQueues: 1, perm: 6, order: false });
  return { broker, connection: await connectTo(broker) };
}

/** A request's result without the frame's own header keys. */
async function result<C extends number>(connection: Channel, code: C, fields: Parameters<typeof call<C>>[2]): Promise<Record<string, unknown>> {
  const { code: _code, opaque: _opaque, flags: _flags, ...rest } = await call(connection, code, fields);
  return rest;
}

/** Every record stored in `name` queue 0. */
function stored(broker: TestBroker, name: string): StoredMessage[] {
  const result = broker.store.getMessages({ topic: name, queueId: 0, offset: queueOffset(0), maxCount: 1_000 });
  return result.messages.map((message) => decodeRecord(result.buffer, message.position));
}

function sendBack(connection: Channel, fields: { offsetMsgId: string; msgId: string; errorText?: string; maxReconsumeTimes?: number }) {
  return result(connection, RequestCode.CONSUMER_SEND_BACK, {
    consumerGroup: group,
    physicalOffset: decodeOffsetMsgId(fields.offsetMsgId).physicalOffset,
    originMsgId: fields.msgId,
    originTopic: topic,
    clientId: "client-1",
    ...(fields.errorText === undefined ? {} : { errorText: fields.errorText }),
    ...(fields.maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes: fields.maxReconsumeTimes }),
  });
}

describe("Broker: CONSUMER_SEND_BACK", () => {
  test("under the max: a copy reaches %RETRY%<group> after the levels back-off (level 3, 10 s) with its reconsume count", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    const sent = await send(connection, topic, "pay", { tags: "paid", keys: ["order-1"], properties: { region: "eu" } });
    const answer = await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId, errorText: "handler threw: boom" });
    expect(answer).toEqual({ outcome: "retry", topic: `%RETRY%${group}`, msgId: sent.msgId, reconsumeTimes: 1, deliverAtMs: clock.nowMs() + 10_000 });
    expect(broker.broker.context.topics.get(`%RETRY%${group}`)).toEqual({ topic: `%RETRY%${group}`, readQueues: 1, writeQueues: 1, perm: 6, order: false });
    clock.advance(9_999);
    expect(stored(broker, `%RETRY%${group}`)).toHaveLength(0);
    clock.advance(1);
    const [copy] = stored(broker, `%RETRY%${group}`);
    expect(copy).toBeDefined();
    expect(copy!.reconsumeTimes).toBe(1);
    expect(copy!.msgId).toBe(sent.msgId);
    expect(copy!.tags).toBe("paid");
    expect(copy!.keys).toEqual(["order-1"]);
    expect(new TextDecoder().decode(copy!.body)).toBe("pay");
    expect(copy!.properties).toMatchObject({ region: "eu", RETRY_TOPIC: topic, ORIGIN_MESSAGE_ID: sent.msgId, RECONSUME_TIME: "1", LAST_CONSUMER_CLIENT_ID: "client-1", CONSUME_ERROR_TEXT: "handler threw: boom" });
    expect(copy!.properties.FIRST_FAILURE_MS).toBe(copy!.properties.LAST_FAILURE_MS);
  });

  test("the default policy on the ManualClock: 16 retries waiting delay levels 3 … 18 (10 s … 2 h), then the DLQ", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    const sent = await send(connection, topic, "pay");
    let failing = { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId };
    const waits: number[] = [];
    for (let delivery = 1; delivery <= 17; delivery++) {
      const answer = await sendBack(connection, failing);
      if (answer.outcome === "dead-letter") {
        expect({ delivery, reconsumeTimes: answer.reconsumeTimes }).toEqual({ delivery: 17, reconsumeTimes: 17 });
        break;
      }
      const waitMs = (answer.deliverAtMs as number) - clock.nowMs();
      waits.push(waitMs);
      clock.advance(waitMs - 1);
      expect(stored(broker, `%RETRY%${group}`)).toHaveLength(delivery - 1);
      clock.advance(1);
      const copies = stored(broker, `%RETRY%${group}`);
      expect(copies).toHaveLength(delivery);
      failing = { offsetMsgId: broker.broker.context.messages.offsetMsgId(copies.at(-1)!.physicalOffset), msgId: sent.msgId };
    }
    const second = 1_000;
    const minute = 60 * second;
    expect(waits).toEqual([10 * second, 30 * second, minute, 2 * minute, 3 * minute, 4 * minute, 5 * minute, 6 * minute, 7 * minute, 8 * minute, 9 * minute, 10 * minute, 20 * minute, 30 * minute, 60 * minute, 120 * minute]);
    expect(stored(broker, `%DLQ%${group}`)).toHaveLength(1);
  });

  test("past the max: the copy goes to %DLQ%<group> (perm 0 until an admin changes it) with every DLQ property, after exactly 1 + max deliveries", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    await call(connection, RequestCode.UPDATE_GROUP_CONFIG, { group, maxReconsumeTimes: 2, backoff: { kind: "exponential", initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0 } });
    const sent = await send(connection, topic, "pay");
    const firstFailureMs = clock.nowMs();
    let failing = { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId };
    const outcomes: unknown[] = [];
    for (let delivery = 1; delivery <= 3; delivery++) {
      const answer = await sendBack(connection, { ...failing, errorText: `failure ${delivery}` });
      outcomes.push([answer.outcome, answer.reconsumeTimes, answer.deliverAtMs === undefined ? undefined : (answer.deliverAtMs as number) - clock.nowMs()]);
      clock.advance(1_000);
      const copies = stored(broker, `%RETRY%${group}`);
      if (answer.outcome === "retry") failing = { offsetMsgId: broker.broker.context.messages.offsetMsgId(copies.at(-1)!.physicalOffset), msgId: sent.msgId };
    }
    expect(outcomes).toEqual([["retry", 1, 100], ["retry", 2, 200], ["dead-letter", 3, undefined]]);
    const dlq = broker.broker.context.topics.get(`%DLQ%${group}`);
    expect(dlq?.perm).toBe(0);
    const [entry] = stored(broker, `%DLQ%${group}`);
    expect(entry!.reconsumeTimes).toBe(3);
    expect(entry!.properties).toMatchObject({
      DLQ_ORIGIN_TOPIC: topic,
      DLQ_ORIGIN_MESSAGE_ID: sent.msgId,
      RECONSUME_TIME: "3",
      FIRST_FAILURE_MS: String(firstFailureMs),
      LAST_FAILURE_MS: String(firstFailureMs + 2_000),
      LAST_CONSUMER_CLIENT_ID: "client-1",
      CONSUME_ERROR_TEXT: "failure 3",
    });
    // perm 0: clients can neither pull nor send to it until an admin changes it.
    expect((await rejection(call(connection, RequestCode.PULL_MESSAGE, { consumerGroup: group, topic: `%DLQ%${group}`, queueId: 0, queueOffset: 0, maxMessages: 1 }))).errorName).toBe("TOPIC_NOT_READABLE");
    expect((await rejection(send(connection, `%DLQ%${group}`, "x"))).errorName).toBe("TOPIC_NOT_WRITABLE");
    // An admin changes the DLQ's perm: now it can be read like any topic.
    await call(connection, RequestCode.UPDATE_TOPIC, { topic: `%DLQ%${group}`, readQueues: 1, writeQueues: 1, perm: 4 });
    const pulled = await call(connection, RequestCode.PULL_MESSAGE, { consumerGroup: group, topic: `%DLQ%${group}`, queueId: 0, queueOffset: 0, maxMessages: 1 });
    expect(pulled.status).toBe("found");
  });

  test("a repeated send-back (same group, offset and reconsume count) is stored once and answered as a duplicate", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    const sent = await send(connection, topic, "pay");
    const first = await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId });
    const again = await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId });
    expect(again).toEqual({ ...first, duplicate: true });
    clock.advance(10_000);
    expect(stored(broker, `%RETRY%${group}`)).toHaveLength(1);
  });

  test("a send-back repeated after a restart is answered from the stored copy, scheduled or delivered, and stores nothing", async () => {
    const clock = new ManualClock();
    const { broker } = await start(clock);
    let connection = await connectTo(broker);
    const sent = await send(connection, topic, "pay");
    const second = await send(connection, topic, "ship");
    const firstAnswer = await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId });
    const deadAnswer = await sendBack(connection, { offsetMsgId: second.offsetMsgId, msgId: second.msgId, maxReconsumeTimes: 0 });
    await broker.restart();
    connection = await connectTo(broker);
    // The retry copy is still a timer record; the DLQ entry is stored.
    expect(await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId })).toEqual({ ...firstAnswer, duplicate: true });
    expect(await sendBack(connection, { offsetMsgId: second.offsetMsgId, msgId: second.msgId, maxReconsumeTimes: 0 })).toEqual({ ...deadAnswer, duplicate: true });
    clock.advance(10_000);
    expect(stored(broker, `%RETRY%${group}`)).toHaveLength(1);
    // Delivered now: a repeat after another restart finds the delivered copy.
    await broker.restart();
    connection = await connectTo(broker);
    expect(await sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId })).toEqual({ ...firstAnswer, duplicate: true });
    clock.advance(20_000);
    expect(stored(broker, `%RETRY%${group}`)).toHaveLength(1);
    expect(stored(broker, `%DLQ%${group}`)).toHaveLength(1);
  });

  test("two groups failing one message in the same millisecond both get their retry copy", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    const sent = await send(connection, topic, "pay");
    const physicalOffset = decodeOffsetMsgId(sent.offsetMsgId).physicalOffset;
    const answers = [];
    for (const name of ["g-one", "g-two"]) {
      answers.push(await result(connection, RequestCode.CONSUMER_SEND_BACK, { consumerGroup: name, physicalOffset, originMsgId: sent.msgId, originTopic: topic, clientId: "c" }));
    }
    expect(answers.map((answer) => answer.deliverAtMs)).toEqual([clock.nowMs() + 10_000, clock.nowMs() + 10_001]);
    clock.advance(10_001);
    expect([stored(broker, "%RETRY%g-one").length, stored(broker, "%RETRY%g-two").length]).toEqual([1, 1]);
  });

  test("a send-back naming no stored message, or another message's id, is MESSAGE_NOT_FOUND; an error text over 1 KiB is refused", async () => {
    const clock = new ManualClock();
    const { connection } = await start(clock);
    const sent = await send(connection, topic, "pay");
    const other = await send(connection, topic, "other");
    expect((await rejection(sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: other.msgId }))).errorName).toBe("MESSAGE_NOT_FOUND");
    expect((await rejection(sendBack(connection, { offsetMsgId: sent.offsetMsgId, msgId: sent.msgId, errorText: "x".repeat(1025) }))).errorName).toBe("INVALID_FIELD");
  });
});

describe("Broker: group configuration", () => {
  test("consumeEnable false refuses the group's pulls and pops with GROUP_CONSUME_DISABLED until it is turned back on", async () => {
    const clock = new ManualClock();
    const { connection } = await start(clock);
    await send(connection, topic, "pay");
    const pullFields = { consumerGroup: group, topic, queueId: 0, queueOffset: 0, maxMessages: 1 };
    const popFields = { consumerGroup: group, topic, maxMessages: 1, invisibleTimeMs: 1_000 };
    await result(connection, RequestCode.UPDATE_GROUP_CONFIG, { group, consumeEnable: false });
    expect((await rejection(call(connection, RequestCode.PULL_MESSAGE, pullFields))).errorName).toBe("GROUP_CONSUME_DISABLED");
    expect((await rejection(call(connection, RequestCode.POP_MESSAGE, popFields))).errorName).toBe("GROUP_CONSUME_DISABLED");
    await result(connection, RequestCode.UPDATE_GROUP_CONFIG, { group, consumeEnable: true });
    expect((await call(connection, RequestCode.PULL_MESSAGE, pullFields)).status).toBe("found");
    expect((await call(connection, RequestCode.POP_MESSAGE, popFields)).count).toBe(1);
  });

  test("a heartbeat creates the group's defaults and its retry topic; an update survives a restart", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    const consumer = { consumerGroup: group, consumeType: "push" as const, messageModel: "clustering" as const, consumeFromWhere: "last" as const, subscriptions: [{ topic, expressionType: "TAG" as const, expression: "*" }] };
    await call(connection, RequestCode.HEARTBEAT, { clientId: "c1", consumers: [consumer] });
    expect(broker.broker.context.groupConfigs.has(group)).toBe(true);
    expect(broker.broker.context.topics.get(`%RETRY%${group}`)?.perm).toBe(6);
    expect(await result(connection, RequestCode.GET_GROUP_CONFIG, { group })).toEqual({ group, maxReconsumeTimes: 16, backoff: { kind: "levels" }, consumeEnable: true, orderly: false });
    const updated = await result(connection, RequestCode.UPDATE_GROUP_CONFIG, { group, maxReconsumeTimes: 3, orderly: true, backoff: { kind: "exponential", initialMs: 500, factor: 3, maxMs: 60_000, jitter: 0.2 } });
    expect(updated).toEqual({ group, maxReconsumeTimes: 3, backoff: { kind: "exponential", initialMs: 500, factor: 3, maxMs: 60_000, jitter: 0.2 }, consumeEnable: true, orderly: true });
    await broker.restart();
    const after = await connectTo(broker);
    expect(await result(after, RequestCode.GET_GROUP_CONFIG, { group })).toEqual(updated);
    expect((await rejection(result(after, RequestCode.UPDATE_GROUP_CONFIG, { group, backoff: { kind: "exponential", initialMs: 500, factor: 3, maxMs: 10 } }))).errorName).toBe("INVALID_FIELD");
  });

  test("CONSUMER_SEND_BACK_BATCH: one result per entry in order; a refused entry refuses only itself; a repeated entry is a duplicate", async () => {
    const clock = new ManualClock();
    const { broker, connection } = await start(clock);
    await result(connection, RequestCode.UPDATE_GROUP_CONFIG, { group, maxReconsumeTimes: 0 });
    const first = await send(connection, topic, "one");
    const second = await send(connection, topic, "two");
    const entry = (sent: { offsetMsgId: string; msgId: string }, errorText: string) => ({ physicalOffset: decodeOffsetMsgId(sent.offsetMsgId).physicalOffset, originMsgId: sent.msgId, originTopic: topic, errorText });
    const missing = { ...entry(first, "x"), physicalOffset: decodeOffsetMsgId(first.offsetMsgId).physicalOffset + 1_000_000 };
    const answer = await result(connection, RequestCode.CONSUMER_SEND_BACK_BATCH, { consumerGroup: group, clientId: "client-1", entries: [entry(first, "boom 1"), missing, { ...entry(second, "boom 2"), maxReconsumeTimes: 5 }] });
    const results = answer.results as Array<Record<string, unknown>>;
    expect(results).toHaveLength(3);
    expect(results[0]).toEqual({ outcome: "dead-letter", topic: `%DLQ%${group}`, msgId: first.msgId, reconsumeTimes: 1 });
    expect((results[1]!.error as { code: number }).code).toBe(3003);
    expect(results[2]).toMatchObject({ outcome: "retry", topic: `%RETRY%${group}`, msgId: second.msgId, reconsumeTimes: 1 });
    const dead = stored(broker, `%DLQ%${group}`);
    expect(dead.map((message) => message.properties.CONSUME_ERROR_TEXT)).toEqual(["boom 1"]);
    expect(dead[0]!.properties.LAST_CONSUMER_CLIENT_ID).toBe("client-1");
    // The same failures again (a lost answer): the first answers, nothing stored twice.
    const again = await result(connection, RequestCode.CONSUMER_SEND_BACK_BATCH, { consumerGroup: group, clientId: "client-1", entries: [entry(first, "boom 1"), { ...entry(second, "boom 2"), maxReconsumeTimes: 5 }] });
    expect((again.results as Array<Record<string, unknown>>).map((one) => one.duplicate)).toEqual([true, true]);
    expect(stored(broker, `%DLQ%${group}`)).toHaveLength(1);
    clock.advance(60 * 60 * 1000);
    expect(stored(broker, `%RETRY%${group}`)).toHaveLength(1);
    expect((await rejection(call(connection, RequestCode.CONSUMER_SEND_BACK_BATCH, { consumerGroup: group, clientId: "client-1", entries: [] }))).errorName).toBe("INVALID_FIELD");
  });
});
