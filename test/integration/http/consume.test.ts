import { describe, expect, test } from "bun:test";
import { PopService } from "../../../src/broker/pop-service.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { startHttpBroker, type HttpBroker } from "./helpers.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

async function sendMany(h: HttpBroker, topic: string, count: number): Promise<void> {
  const batch = Array.from({ length: count }, (_, index) => ({ body: `m${index}` }));
  expect((await h.call("POST", `/api/v1/topics/${topic}/messages`, batch)).status).toBe(200);
}

/** Resolves once the broker holds `count` receives (the request reached it and found nothing). */
async function untilHeld(h: HttpBroker, count: number): Promise<void> {
  const pop = PopService.of(h.broker.broker.context);
  await waitUntil(`${count} receives to be held`, () => pop.waiting >= count, undefined, 1);
}

type Received = { body: string; receiptHandle: string; deliveryAttempt: number; queueId: number; queueOffset: number };

async function receive(h: HttpBroker, group: string, body: Record<string, unknown>): Promise<Received[]> {
  const { status, json } = await h.call("POST", `/api/v1/groups/${group}/receive`, body);
  expect(status).toBe(200);
  return json.messages;
}

describe("REST: pop-style consumption", () => {
  test("receive hands out messages with receipt handles; ack settles them and moves the group's offset", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 2 });
    await sendMany(h, "t", 6);
    const got = await receive(h, "g", { topic: "t", max: 10 });
    expect(got.map((message) => message.body).sort()).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    expect(got.every((message) => message.deliveryAttempt === 1)).toBe(true);
    const before = await h.call("GET", "/api/v1/groups/g");
    expect(before.json.totalLag).toBe(6);
    expect(before.json.inFlight).toBe(6);
    const acked = await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: got.map((message) => message.receiptHandle) });
    expect(acked.json).toEqual({ acked: 6, failed: [] });
    const after = await h.call("GET", "/api/v1/groups/g");
    expect(after.json.totalLag).toBe(0);
    expect(after.json.inFlight).toBe(0);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
  });

  test("a message not acked within its invisible time is delivered again after the group's back-off (10 s first, by default) with a new handle; the old handle is then invalid", async () => {
    const clock = new ManualClock();
    const h = await startHttpBroker({ clock });
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await sendMany(h, "t", 1);
    const [first] = await receive(h, "g", { topic: "t", invisibleMs: 1_000 });
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
    clock.advance(1_000);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
    clock.advance(9_999);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
    clock.advance(1);
    const [again] = await receive(h, "g", { topic: "t", invisibleMs: 1_000 });
    expect(again!.body).toBe("m0");
    expect(again!.deliveryAttempt).toBe(2);
    expect(again!.receiptHandle).not.toBe(first!.receiptHandle);
    const stale = await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: [first!.receiptHandle] });
    expect([stale.status, stale.json.code]).toEqual([400, 4004]);
    expect((await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: [again!.receiptHandle] })).json.acked).toBe(1);
    clock.advance(5_000);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
  });

  test("nack makes a message visible again after its delay", async () => {
    const clock = new ManualClock();
    const h = await startHttpBroker({ clock });
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await sendMany(h, "t", 1);
    const [first] = await receive(h, "g", { topic: "t", invisibleMs: 60_000 });
    const nacked = await h.call("POST", "/api/v1/groups/g/nack", { receiptHandles: [first!.receiptHandle], delayMs: 500 });
    expect(nacked.json).toEqual({ nacked: 1, failed: [] });
    clock.advance(499);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
    clock.advance(1);
    const [again] = await receive(h, "g", { topic: "t" });
    expect(again!.deliveryAttempt).toBe(2);
  });

  test("two consumers of one group never receive the same un-acked message", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 4 });
    await sendMany(h, "t", 200);
    const seen = new Map<string, number>();
    const consumer = async () => {
      for (;;) {
        const got = await receive(h, "shared", { topic: "t", max: 7, invisibleMs: 60_000 });
        if (got.length === 0) return;
        for (const message of got) seen.set(`${message.queueId}:${message.queueOffset}`, (seen.get(`${message.queueId}:${message.queueOffset}`) ?? 0) + 1);
      }
    };
    await Promise.all([consumer(), consumer()]);
    expect(seen.size).toBe(200);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
  });

  test("a held receive is answered as soon as a message is sent", async () => {
    // The broker's clock stands still: the wait never runs out, so only the send can answer it.
    const h = await startHttpBroker({ clock: new ManualClock() });
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 2 });
    const pending = receive(h, "g", { topic: "t", waitMs: 10_000 });
    await untilHeld(h, 1);
    await h.call("POST", "/api/v1/topics/t/messages", { body: "wake" });
    const got = await pending;
    expect(got.map((message) => message.body)).toEqual(["wake"]);
  });

  test("a held receive is answered when an in-flight message's invisible time and back-off pass", async () => {
    const clock = new ManualClock();
    const h = await startHttpBroker({ clock });
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await sendMany(h, "t", 1);
    await receive(h, "g", { topic: "t", invisibleMs: 2_000 });
    const pending = receive(h, "g", { topic: "t", waitMs: 20_000 });
    await untilHeld(h, 1);
    clock.advance(2_000);
    clock.advance(10_000);
    const [again] = await pending;
    expect(again!.deliveryAttempt).toBe(2);
  });

  test("a held receive with nothing to take answers empty after waitMs", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t" });
    const startMs = performance.now();
    expect(await receive(h, "g", { topic: "t", waitMs: 50 })).toEqual([]);
    expect(performance.now() - startMs).toBeGreaterThanOrEqual(45);
  });

  test("a tag filter receives only matching messages", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await h.call("POST", "/api/v1/topics/t/messages", [{ body: "a1", tags: "a" }, { body: "b1", tags: "b" }, { body: "a2", tags: "a" }]);
    const got = await receive(h, "g", { topic: "t", tags: "a" });
    expect(got.map((message) => message.body)).toEqual(["a1", "a2"]);
  });

  test("receive on an unknown topic is 404 TOPIC_NOT_FOUND; acking an unknown handle is 400 RECEIPT_HANDLE_INVALID", async () => {
    const h = await startHttpBroker({ config: { autoCreateTopics: false } });
    const missing = await h.call("POST", "/api/v1/groups/g/receive", { topic: "nope" });
    expect([missing.status, missing.json.code]).toEqual([404, 2001]);
    const bad = await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: ["x.0.0.1"] });
    expect([bad.status, bad.json.code]).toEqual([400, 4004]);
  });
});

describe("REST: groups", () => {
  test("GET /api/v1/groups lists groups with lag; an unknown group is 404 GROUP_NOT_FOUND", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await sendMany(h, "t", 3);
    await receive(h, "g1", { topic: "t", max: 1 });
    const list = await h.call("GET", "/api/v1/groups");
    expect(list.json.groups.map((group: { group: string }) => group.group)).toEqual(["g1"]);
    expect(list.json.groups[0].totalLag).toBe(3);
    const unknown = await h.call("GET", "/api/v1/groups/nobody");
    expect([unknown.status, unknown.json.code]).toEqual([404, 4001]);
  });

  test("resetting a group's offsets to last skips everything; to first re-reads it", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 1 });
    await sendMany(h, "t", 4);
    const got = await receive(h, "g", { topic: "t", max: 1 });
    expect(got).toHaveLength(1);
    const last = await h.call("POST", "/api/v1/groups/g/offsets/reset", { topic: "t", to: "last" });
    expect(last.status).toBe(200);
    expect(last.json.queues).toEqual([{ topic: "t", queueId: 0, queueOffset: 4 }]);
    expect((await h.call("GET", "/api/v1/groups/g")).json.totalLag).toBe(0);
    expect(await receive(h, "g", { topic: "t" })).toEqual([]);
    const stale = await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: [got[0]!.receiptHandle] });
    expect(stale.json.code).toBe(4004);
    await h.call("POST", "/api/v1/groups/g/offsets/reset", { topic: "t", to: "first" });
    expect((await receive(h, "g", { topic: "t", max: 10 })).map((message) => message.body)).toEqual(["m0", "m1", "m2", "m3"]);
    const byTime = await h.call("POST", "/api/v1/groups/g/offsets/reset", { topic: "t", to: Date.now() + 60_000 });
    expect(byTime.json.queues[0].queueOffset).toBe(4);
  });
});
