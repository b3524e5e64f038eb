/**
 * Where consumers start and resume: consumeFromWhere for a new group, committed offsets across
 * a broker restart, long-poll wake-up, and graceful shutdown through an AbortSignal.
 */

import { describe, expect, test } from "bun:test";
import { startTestBroker } from "../../helpers/broker.ts";
import { Admin } from "../../../src/client/admin.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { longPollMsMax } from "../../../src/protocol/limits.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

describe("client: consumer offsets", () => {
  test("consumeFromWhere: first reads stored messages, last only new ones, timestamp from a time", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("from");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 6; index++) await producer.send({ topic, body: `old${index}` });
    const boundaryMs = Date.now();
    await waitFor("the clock to pass the boundary", () => Date.now() > boundaryMs + 1);
    for (let index = 0; index < 4; index++) await producer.send({ topic, body: `mid${index}` });

    const runs = { first: [] as string[], last: [] as string[], timestamp: [] as string[] };
    for (const where of ["first", "last", "timestamp"] as const) {
      const member = consumer(broker.address, { group: uniqueName(`g-${where}`), consumeFromWhere: where, consumeTimestampMs: boundaryMs + 1 });
      member.subscribe(topic);
      await member.start((message) => void runs[where].push(message.text()));
      await waitFor(`${where} to own both queues`, () => member.ownedQueues.length === 2);
    }
    await producer.send({ topic, body: "new" });
    // "new" lands in one queue: the other queue's messages may still be on their way.
    await waitFor("every consumer to see what it reads", () => runs.first.length >= 11 && runs.last.includes("new") && runs.timestamp.length >= 5);
    expect(runs.first.sort()).toEqual(["mid0", "mid1", "mid2", "mid3", "new", "old0", "old1", "old2", "old3", "old4", "old5"]);
    expect(runs.last).toEqual(["new"]);
    expect(runs.timestamp.sort()).toEqual(["mid0", "mid1", "mid2", "mid3", "new"]);
  });

  test("committed offsets survive a broker restart: a new member resumes where the group left off", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("restart");
    await createTopic(broker.address, topic, 4);
    const group = uniqueName("g");
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 40; index++) await producer.send({ topic, body: `before${index}` });
    const firstRun = new Set<string>();
    const first = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await first.start((message) => void firstRun.add(message.text()));
    await waitFor("40 messages", () => firstRun.size === 40);
    await first.shutdown(); // commits

    await broker.restart();
    const producerAfter = await startProducer(broker.address);
    for (let index = 0; index < 10; index++) await producerAfter.send({ topic, body: `after${index}` });
    const secondRun: string[] = [];
    const second = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await second.start((message) => void secondRun.push(message.text()));
    await waitFor("10 messages", () => secondRun.length >= 10);
    expect(secondRun.sort()).toEqual(Array.from({ length: 10 }, (_, index) => `after${index}`).sort());
  });

  test("a running member rides out a broker restart and keeps consuming without repeats", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("bounce");
    await createTopic(broker.address, topic, 2);
    const group = uniqueName("g");
    const received: string[] = [];
    const member = consumer(broker.address, { group, consumeFromWhere: "first", commitIntervalMs: 50 }).subscribe(topic);
    await member.start((message) => void received.push(message.text()));
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 10; index++) await producer.send({ topic, body: `a${index}` });
    await waitFor("10 messages", () => received.length === 10);
    await broker.restart();
    await waitFor("the member to own its queues again", () => member.ownedQueues.length === 2);
    for (let index = 0; index < 10; index++) await producer.send({ topic, body: `b${index}` });
    await waitFor("20 messages", () => received.length >= 20);
    expect(received.length).toBe(20);
    expect(new Set(received).size).toBe(20);
  });

  test("long polling: a held pull is answered as soon as a message arrives", async () => {
    // The broker's clock stands still, so its held pull never times out; the client holds it as
    // long as the protocol allows, longer than the wait: only a wake-up on arrival answers in time.
    const broker = await startTestBroker({ clock: new ManualClock(Date.now()) });
    const topic = uniqueName("poll");
    await createTopic(broker.address, topic, 1);
    const received: string[] = [];
    const member = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "last", suspendTimeoutMs: longPollMsMax }).subscribe(topic);
    await member.start((message) => void received.push(message.text()));
    await waitFor("the member to own the queue", () => member.ownedQueues.length === 1);
    const producer = await startProducer(broker.address);
    // Let the pull reach the broker and be held (there is nothing to read yet).
    await waitFor("a held pull", () => broker.broker.context.longPoll.size > 0);
    await producer.send({ topic, body: "wake" });
    await waitFor("the message", () => received.length === 1, longPollMsMax); // the client would ask again only after longPollMsMax + pullTimeoutMarginMs
    expect(received).toEqual(["wake"]);
  });

  test("aborting the signal shuts down gracefully: the running handler finishes, offsets are committed, the member leaves", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("abort");
    await createTopic(broker.address, topic, 1);
    const group = uniqueName("g");
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 3; index++) await producer.send({ topic, body: `x${index}` });
    const controller = new AbortController();
    let releaseGate!: () => void;
    const gate = new Promise<void>((resolve) => (releaseGate = resolve));
    const handled: string[] = [];
    let started = 0;
    const member = consumer(broker.address, { group, consumeFromWhere: "first", concurrency: 1, signal: controller.signal }).subscribe(topic);
    let stopped = false;
    let stoppedBeforeHandlerReturned = false;
    await member.start(async (message) => {
      started++;
      if (message.text() === "x1") await gate;
      stoppedBeforeHandlerReturned ||= stopped;
      handled.push(message.text());
    });
    await waitFor("x1 to be in its handler", () => started === 2);
    controller.abort();
    const stopping = member.shutdown().then(() => (stopped = true));
    releaseGate();
    await stopping;
    // Shutdown resolved only after the running handler returned, and committed its offset (2 below).
    expect(stoppedBeforeHandlerReturned).toBe(false);
    expect(handled).toEqual(["x0", "x1"]);
    const admin = track(new Admin({ broker: broker.address }));
    const detail = await admin.getGroup(group);
    expect(detail.clientIds).toEqual([]);
    expect(detail.queues.find((queue) => queue.topic === topic)?.consumerOffset).toBe(2);
  });
});
