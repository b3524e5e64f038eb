/**
 * SimpleConsumer (TCP POP_MESSAGE / ACK_MESSAGE / CHANGE_INVISIBLE_TIME) against real brokers in
 * this process: receive and ack, re-delivery after the invisible time (injected broker clock),
 * exclusive hand-out within a group, long polling, nack, one in-flight view shared with REST
 * receivers, and a topic spread over two brokers behind a NameServer.
 */

import { describe, expect, test } from "bun:test";
import { PopService } from "../../../src/broker/pop-service.ts";
import { Admin, SimpleConsumer, type SimpleConsumerOptions, type SimpleMessage, isMqError } from "../../../src/client/index.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { type TestBroker, startTestBroker } from "../../helpers/broker.ts";
import { startFakeNamesrv } from "../cluster/fake-namesrv.ts";
import { startHttpBroker } from "../http/helpers.ts";
import { createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

async function simpleConsumer(options: Partial<SimpleConsumerOptions> & { group: string; topics: SimpleConsumerOptions["topics"] }, broker?: string): Promise<SimpleConsumer> {
  const consumer = track(new SimpleConsumer({ ...(broker === undefined ? {} : { broker }), awaitMs: 0, ...options }));
  await consumer.start();
  return consumer;
}

async function sendTexts(broker: string, topic: string, texts: readonly string[]): Promise<void> {
  const producer = await startProducer(broker);
  for (const text of texts) await producer.send({ topic, body: text });
}

function texts(messages: readonly SimpleMessage[]): string[] {
  return messages.map((message) => message.text()).sort();
}

async function withTopic(options: { clock?: ManualClock; queues?: number } = {}): Promise<{ broker: TestBroker; topic: string }> {
  const broker = await startTestBroker({ clock: options.clock });
  const topic = uniqueName("pop");
  await createTopic(broker.address, topic, options.queues ?? 2);
  return { broker, topic };
}

describe("SimpleConsumer: receive and ack", () => {
  test("receive hands out messages with receipt handles; ack settles them and the group's lag drops to 0", async () => {
    const { broker, topic } = await withTopic();
    await sendTexts(broker.address, topic, ["a", "b", "c", "d", "e"]);
    const consumer = await simpleConsumer({ group: "g", topics: topic }, broker.address);
    const got = await consumer.receive(10);
    expect(texts(got)).toEqual(["a", "b", "c", "d", "e"]);
    expect(got.every((message) => message.deliveryAttempt === 1 && message.receiptHandle.length > 0 && message.brokerName === broker.address)).toBe(true);
    const admin = track(new Admin({ broker: broker.address }));
    expect((await admin.getGroup("g")).inFlight).toBe(5);
    for (const message of got) await consumer.ack(message);
    const group = await admin.getGroup("g");
    expect([group.totalLag, group.inFlight]).toEqual([0, 0]);
    expect(await consumer.receive(10)).toEqual([]);
  });

  test("a message not acked within its invisible time is delivered again after the group's back-off with a new handle; the old handle no longer acks", async () => {
    const clock = new ManualClock();
    const { broker, topic } = await withTopic({ clock, queues: 1 });
    await sendTexts(broker.address, topic, ["once"]);
    const consumer = await simpleConsumer({ group: "g", topics: topic, invisibleMs: 1_000 }, broker.address);
    const [first] = await consumer.receive(1);
    expect(first!.invisibleUntilMs).toBe(clock.nowMs() + 1_000);
    clock.advance(999);
    expect(await consumer.receive(1)).toEqual([]);
    clock.advance(1);
    expect(await consumer.receive(1)).toEqual([]);
    clock.advance(10_000); // the default back-off's first retry: delay level 3
    const [again] = await consumer.receive(1);
    expect([again!.text(), again!.deliveryAttempt]).toEqual(["once", 2]);
    expect(again!.receiptHandle).not.toBe(first!.receiptHandle);
    const stale = await consumer.ack(first!).catch((error: unknown) => error);
    expect(isMqError(stale, "RECEIPT_HANDLE_INVALID")).toBe(true);
    await consumer.ack(again!);
    clock.advance(10_000);
    expect(await consumer.receive(1)).toEqual([]);
  });

  test("two SimpleConsumers of one group never receive the same un-acked message", async () => {
    const { broker, topic } = await withTopic({ queues: 4 });
    const sent = Array.from({ length: 40 }, (_, index) => `m${index}`);
    await sendTexts(broker.address, topic, sent);
    const [one, two] = await Promise.all([simpleConsumer({ group: "g", topics: topic }, broker.address), simpleConsumer({ group: "g", topics: topic }, broker.address)]);
    const seen: string[] = [];
    for (let round = 0; round < 40 && seen.length < sent.length; round++) {
      const [a, b] = await Promise.all([one.receive(3), two.receive(3)]);
      seen.push(...a.map((message) => message.text()), ...b.map((message) => message.text()));
    }
    expect(seen.length).toBe(sent.length);
    expect([...seen].sort()).toEqual([...sent].sort());
  });

  test("a receive with nothing available is held and answered as soon as a message is stored", async () => {
    const { broker, topic } = await withTopic();
    const consumer = await simpleConsumer({ group: "g", topics: topic }, broker.address);
    const held = consumer.receive(4, { waitMs: 10_000 });
    const pop = PopService.of(broker.broker.context);
    await waitFor("the pop to be held", () => pop.waiting === 1);
    await sendTexts(broker.address, topic, ["late"]);
    expect(texts(await held)).toEqual(["late"]);
  });

  test("a consumer shut down while its pop is held takes no message: the next one goes to another consumer", async () => {
    const { broker, topic } = await withTopic();
    const leaving = await simpleConsumer({ group: "g", topics: topic }, broker.address);
    const pending = leaving.receive(4, { waitMs: 10_000 }).catch((error: unknown) => error);
    const pop = PopService.of(broker.broker.context);
    await waitFor("the pop to be held", () => pop.waiting === 1);
    await leaving.shutdown();
    await waitFor("the broker to drop the held pop", () => pop.waiting === 0);
    expect(isMqError(await pending, "CONNECTION_CLOSED")).toBe(true);
    await sendTexts(broker.address, topic, ["after"]);
    const staying = await simpleConsumer({ group: "g", topics: topic }, broker.address);
    expect(texts(await staying.receive(4))).toEqual(["after"]);
  });

  test("a tag expression receives only matching messages", async () => {
    const { broker, topic } = await withTopic({ queues: 1 });
    const producer = await startProducer(broker.address);
    for (const tags of ["a", "b", "a", "c"]) await producer.send({ topic, body: tags, tags });
    const consumer = await simpleConsumer({ group: "g", topics: { [topic]: "a || c" } }, broker.address);
    expect(texts(await consumer.receive(10))).toEqual(["a", "a", "c"]);
  });
});

describe("SimpleConsumer: changeInvisibleTime", () => {
  test("0 makes a message visible again at once; a delay hides it until then; the message carries its new handle", async () => {
    const clock = new ManualClock();
    const { broker, topic } = await withTopic({ clock, queues: 1 });
    await sendTexts(broker.address, topic, ["x"]);
    const consumer = await simpleConsumer({ group: "g", topics: topic, invisibleMs: 60_000 }, broker.address);
    const [message] = await consumer.receive(1);
    const firstHandle = message!.receiptHandle;
    const renewed = await consumer.changeInvisibleTime(message!, 500);
    expect(message!.receiptHandle).toBe(renewed.receiptHandle);
    expect(renewed.receiptHandle).not.toBe(firstHandle);
    expect(renewed.invisibleUntilMs).toBe(clock.nowMs() + 500);
    clock.advance(499);
    expect(await consumer.receive(1)).toEqual([]);
    clock.advance(1);
    const [again] = await consumer.receive(1);
    expect(again!.deliveryAttempt).toBe(2);
    await consumer.changeInvisibleTime(again!.receiptHandle, 0);
    const [third] = await consumer.receive(1);
    expect(third!.deliveryAttempt).toBe(3);
    await consumer.ack(third!);
  });

  test("a malformed or foreign handle is RECEIPT_HANDLE_INVALID; receiving before start is refused", async () => {
    const { broker, topic } = await withTopic();
    const idle = track(new SimpleConsumer({ broker: broker.address, group: "g", topics: topic }));
    expect(isMqError(await idle.receive(1).catch((error: unknown) => error), "BAD_REQUEST")).toBe(true);
    const consumer = await simpleConsumer({ group: "g", topics: topic }, broker.address);
    expect(isMqError(await consumer.ack("not-a-handle").catch((error: unknown) => error), "RECEIPT_HANDLE_INVALID")).toBe(true);
    expect(isMqError(await consumer.ack(`${topic}~${broker.address}~abc.0.0.1`).catch((error: unknown) => error), "RECEIPT_HANDLE_INVALID")).toBe(true);
    expect(isMqError(await consumer.receive(0).catch((error: unknown) => error), "INVALID_FIELD")).toBe(true);
  });
});

describe("SimpleConsumer: shared view and clusters", () => {
  test("an HTTP receive and a TCP receive of one group share one view: a message received over HTTP is invisible to the SDK until its time passes", async () => {
    const clock = new ManualClock();
    const h = await startHttpBroker({ clock });
    const address = h.broker.address;
    await h.call("POST", "/api/v1/topics", { topic: "shared", queues: 1 });
    await h.call("POST", "/api/v1/topics/shared/messages", { body: "one" });
    const overHttp = await h.call("POST", "/api/v1/groups/g/receive", { topic: "shared", invisibleMs: 1_000 });
    expect(overHttp.json.messages.map((message: { body: string }) => message.body)).toEqual(["one"]);
    const consumer = await simpleConsumer({ group: "g", topics: "shared" }, address);
    expect(await consumer.receive(1)).toEqual([]);
    clock.advance(1_000);
    clock.advance(10_000); // the group's back-off
    const [overTcp] = await consumer.receive(1);
    expect([overTcp!.text(), overTcp!.deliveryAttempt]).toEqual(["one", 2]);
    const stale = await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: [overHttp.json.messages[0].receiptHandle] });
    expect(stale.json.code).toBe(4004);
    await consumer.ack(overTcp!);
    expect((await h.call("GET", "/api/v1/groups/g")).json).toMatchObject({ totalLag: 0, inFlight: 0 });
  });

  test("across a cluster it receives from every broker of the topic and acks on the broker that handed each message out", async () => {
    const [brokerA, brokerB] = await Promise.all([startTestBroker(), startTestBroker()]);
    const namesrv = await startFakeNamesrv();
    namesrv.register("broker-a", brokerA.address);
    namesrv.register("broker-b", brokerB.address);
    const admin = track(new Admin({ namesrv: namesrv.address }));
    const topic = uniqueName("spread");
    await admin.createTopic(topic, { queues: 2 });
    await sendTexts(brokerA.address, topic, ["a1", "a2"]);
    await sendTexts(brokerB.address, topic, ["b1", "b2"]);
    const consumer = await simpleConsumer({ group: "g", topics: topic, namesrv: namesrv.address });
    const got: SimpleMessage[] = [];
    for (let round = 0; round < 8 && got.length < 4; round++) got.push(...(await consumer.receive(16)));
    expect(texts(got)).toEqual(["a1", "a2", "b1", "b2"]);
    expect(got.map((message) => `${message.brokerName}:${message.text()}`).sort()).toEqual(["broker-a:a1", "broker-a:a2", "broker-b:b1", "broker-b:b2"]);
    for (const message of got) await consumer.ack(message);
    expect((await admin.getGroup("g")).totalLag).toBe(0);
  });

  test("a long poll held on every broker returns the first answer and hands later answers straight back to the group", async () => {
    const [brokerA, brokerB] = await Promise.all([startTestBroker(), startTestBroker()]);
    const namesrv = await startFakeNamesrv();
    namesrv.register("broker-a", brokerA.address);
    namesrv.register("broker-b", brokerB.address);
    const admin = track(new Admin({ namesrv: namesrv.address }));
    const topic = uniqueName("held");
    await admin.createTopic(topic, { queues: 1 });
    const consumer = await simpleConsumer({ group: "g", topics: topic, namesrv: namesrv.address });
    const held = consumer.receive(4, { waitMs: 10_000 });
    const popA = PopService.of(brokerA.broker.context);
    const popB = PopService.of(brokerB.broker.context);
    await waitFor("a pop held on each broker", () => popA.waiting === 1 && popB.waiting === 1);
    await sendTexts(brokerB.address, topic, ["from-b"]);
    expect(texts(await held)).toEqual(["from-b"]);
    // Broker A's pop is still held; what it takes now is handed back, not hidden for 30 s.
    await sendTexts(brokerA.address, topic, ["from-a"]);
    await waitFor("the late answer to be handed back", () => popA.waiting === 0 && popA.counters.invisibleTimeChanged === 1);
    const other = await simpleConsumer({ group: "g", topics: topic, namesrv: namesrv.address });
    const [late] = await other.receive(4);
    expect([late!.text(), late!.deliveryAttempt]).toEqual(["from-a", 2]);
  });
});
