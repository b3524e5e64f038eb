/**
 * Scheduled messages seen and cancelled through REST (`GET /api/v1/timers`, `DELETE
 * /api/v1/timers/{msgId}`) and through the SDK's Admin over TCP, on one broker whose scheduler
 * holds pending scheduled-message jobs: counts per bucket, paging, the topic filter, the three
 * cancel answers, and the metrics.
 */

import { describe, expect, test } from "bun:test";
import type { ScheduledMessageJob } from "../../../src/broker/scheduled-message-job.ts";
import { Admin } from "../../../src/client/admin.ts";
import { physicalOffset } from "../../../src/common/offsets.ts";
import { startHttpBroker, type HttpBroker } from "./helpers.ts";

const hourMs = 3_600_000;

function hexId(index: number): string {
  return `AB${index.toString(16).toUpperCase().padStart(30, "0")}`;
}

/** Pending jobs as the send path makes them: due in an hour or more, a minute apart. */
function schedulePending(server: HttpBroker, count: number, options: { topic: (index: number) => string; baseMs: number }): string[] {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const msgId = hexId(index);
    const payload: ScheduledMessageJob = { physicalOffset: physicalOffset(0), realTopic: options.topic(index), realQueueId: index % 4, msgId };
    server.broker.broker.context.scheduler.schedule({ kind: "scheduled-message", id: msgId, dueMs: options.baseMs + index * 60_000, payload, floor: payload.physicalOffset, group: payload.realTopic });
    ids.push(msgId);
  }
  return ids;
}

describe("REST: /api/v1/timers", () => {
  test("counts pending messages per bucket, filters by topic and pages in delivery order to the end", async () => {
    const server = await startHttpBroker();
    const baseMs = Math.ceil((Date.now() + hourMs) / 600_000) * 600_000;
    const ids = schedulePending(server, 25, { topic: (index) => (index % 5 === 0 ? "Other" : "Orders"), baseMs });
    const expected = ids.filter((_, index) => index % 5 !== 0);

    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const query = `topic=Orders&bucketMs=600000&limit=7${after === undefined ? "" : `&after=${after}`}`;
      const { status, json } = await server.call("GET", `/api/v1/timers?${query}`);
      expect(status).toBe(200);
      expect(json.total).toBe(20);
      expect(json.buckets).toEqual([
        { startMs: baseMs, count: 8 },
        { startMs: baseMs + 600_000, count: 8 },
        { startMs: baseMs + 1_200_000, count: 4 },
      ]);
      seen.push(...json.messages.map((message: { msgId: string }) => message.msgId));
      expect(json.messages.every((message: { topic: string }) => message.topic === "Orders")).toBe(true);
      after = json.next;
      if (after === undefined) break;
    }
    expect(seen).toEqual(expected);
  });

  test("a time range keeps only deliveries within [from, to); bad parameters are a 400 naming the field", async () => {
    const server = await startHttpBroker();
    const baseMs = Date.now() + hourMs;
    schedulePending(server, 10, { topic: () => "Orders", baseMs });
    const { json } = await server.call("GET", `/api/v1/timers?from=${new Date(baseMs + 120_000).toISOString()}&to=${baseMs + 300_000}`);
    expect(json.total).toBe(3);
    expect(json.messages.map((message: { deliverAtMs: number }) => message.deliverAtMs)).toEqual([baseMs + 120_000, baseMs + 180_000, baseMs + 240_000]);
    const bad = await server.call("GET", "/api/v1/timers?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.json.details.field).toBe("limit");
    expect((await server.call("DELETE", "/api/v1/timers/not-an-id")).status).toBe(400);
  });

  test("cancel answers cancelled for a pending message (it leaves the listing and the pending gauge), already-delivered, and unknown", async () => {
    const server = await startHttpBroker();
    const [first, second] = schedulePending(server, 2, { topic: () => "Orders", baseMs: Date.now() + hourMs });
    expect((await server.text("/metrics")).text).toContain("mq_scheduled_messages_pending 2");

    const cancelled = await server.call("DELETE", `/api/v1/timers/${first!.toLowerCase()}`);
    expect(cancelled).toMatchObject({ status: 200, json: { msgId: first, outcome: "cancelled" } });
    const listing = await server.call("GET", "/api/v1/timers");
    expect(listing.json.messages.map((message: { msgId: string }) => message.msgId)).toEqual([second]);
    expect((await server.text("/metrics")).text).toContain("mq_scheduled_messages_pending 1");

    // A message stored in its real topic with the msgId: delivered, so there is nothing to cancel.
    await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 2 });
    const sent = await server.call("POST", "/api/v1/topics/Orders/messages", { body: "hello" });
    expect(sent.status).toBe(200);
    const delivered = await server.call("DELETE", `/api/v1/timers/${sent.json.msgId}`);
    expect(delivered.json.outcome).toBe("already-delivered");

    const unknown = await server.call("DELETE", `/api/v1/timers/${"0".repeat(32)}`);
    expect(unknown.json.outcome).toBe("unknown");
  });
});

describe("REST: /api/v1/timers lists what a real scheduled send stored", () => {
  test("each pending message shows its tags and its body's size, read from its timer record", async () => {
    const server = await startHttpBroker();
    await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 2 });
    const sent = await server.call("POST", "/api/v1/topics/Orders/messages", { body: "x".repeat(37), tags: "gold", delayMs: hourMs });
    expect(sent).toMatchObject({ status: 200, json: { scheduled: true } });
    const plain = await server.call("POST", "/api/v1/topics/Orders/messages", { body: "yy", delayMs: 2 * hourMs });
    expect(plain.status).toBe(200);

    const listing = await server.call("GET", "/api/v1/timers?topic=Orders");
    expect(listing.json.messages).toEqual([
      { msgId: sent.json.msgId, topic: "Orders", queueId: sent.json.queueId, deliverAtMs: sent.json.deliverAtMs, tags: "gold", bodyBytes: 37 },
      { msgId: plain.json.msgId, topic: "Orders", queueId: plain.json.queueId, deliverAtMs: plain.json.deliverAtMs, bodyBytes: 2 },
    ]);
  });
});

describe("Admin: scheduled messages over TCP", () => {
  test("listScheduled and cancelScheduled give the broker's answers", async () => {
    const server = await startHttpBroker();
    const baseMs = Date.now() + hourMs;
    const ids = schedulePending(server, 5, { topic: () => "Orders", baseMs });
    const admin = new Admin({ broker: server.broker.address });
    try {
      const page = await admin.listScheduled({ topic: "Orders", limit: 2 });
      expect(page.total).toBe(5);
      expect(page.messages.map((message) => message.msgId)).toEqual(ids.slice(0, 2));
      expect(page.messages[0]).toEqual({ msgId: ids[0]!, topic: "Orders", queueId: 0, deliverAtMs: baseMs });
      const next = await admin.listScheduled({ topic: "Orders", limit: 2, after: page.next });
      expect(next.messages.map((message) => message.msgId)).toEqual(ids.slice(2, 4));
      expect(await admin.cancelScheduled(ids[4]!)).toBe("cancelled");
      expect(await admin.cancelScheduled(hexId(999))).toBe("unknown");
      expect((await admin.listScheduled({})).total).toBe(4);
      await expect(admin.cancelScheduled("xyz")).rejects.toMatchObject({ errorName: "MESSAGE_ID_INVALID" });
    } finally {
      await admin.close();
    }
  });
});
