/**
 * Message trace along the broker's other paths (issue 13): a delayed message is scheduled and
 * delivered (its scheduled hop built from its timer record, before and after delivery); a message failed past its group's maxReconsumeTimes is dead-lettered with the error
 * text, and an admin's redrive records redriven (the resent copy has a trace of its own).
 */

import { describe, expect, test } from "bun:test";
import { Admin } from "../../../src/client/admin.ts";
import { TraceWriter } from "../../../src/broker/trace-writer.ts";
import type { TraceHop } from "../../../src/protocol/trace-record.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { waitUntil } from "../../helpers/wait-for.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

async function traceUntil(admin: Admin, id: string, wanted: readonly string[]): Promise<TraceHop[]> {
  let hops: TraceHop[] = [];
  await waitUntil(`trace of ${id} to hold ${wanted.join(", ")}`, async () => {
    hops = await admin.trace(id);
    return wanted.every((name) => hops.some((hop) => hop.hop === name));
  }, undefined, 20);
  return hops;
}

describe("message trace: scheduled, dead-lettered, redriven", () => {
  test("a delayed message is scheduled with its delivery time, then delivered into its topic", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("later");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "later", delayMs: 50 });
    const admin = track(new Admin({ broker: broker.address }));
    const hops = await traceUntil(admin, sent.msgId, ["publish", "scheduled", "delivered"]);
    expect(hops.map((hop) => hop.hop)).toEqual(["publish", "scheduled", "delivered"]);
    expect(hops[1]).toMatchObject({ topic, deliverAtMs: sent.deliverAtMs });
    expect(hops[2]).toMatchObject({ topic, queueId: 0, queueOffset: 0 });
    expect(hops[2]!.timeMs).toBeGreaterThanOrEqual(sent.deliverAtMs!);
  });

  test("a pending delayed message's scheduled hop is built from its timer record: the broker writes no hop for the send", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("pending");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "in an hour", keys: ["order-7"], tags: "late", delayMs: 3_600_000 });
    const admin = track(new Admin({ broker: broker.address }));
    const hops = await traceUntil(admin, sent.msgId, ["publish", "scheduled"]);
    expect(hops.map((hop) => hop.hop)).toEqual(["publish", "scheduled"]);
    expect(hops[1]).toMatchObject({ msgId: sent.msgId, topic, status: "ok", keys: ["order-7"], tags: "late", deliverAtMs: sent.deliverAtMs });
    expect(TraceWriter.of(broker.broker.context)!.counters.recorded).toBe(0);
  });

  test("a message failed past maxReconsumeTimes is dead-lettered with its error; a redrive records redriven", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("doomed");
    await createTopic(broker.address, topic, 1);
    const group = uniqueName("g");
    await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 0, backoff: { kind: "levels" } });
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "fails" });
    let attempts = 0;
    const push = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await push.start(() => {
      attempts++;
      throw new Error("cannot handle it");
    });
    await waitFor("the failure", () => attempts === 1);
    const admin = track(new Admin({ broker: broker.address }));
    const hops = await traceUntil(admin, sent.msgId, ["consume-after", "dead-lettered"]);
    expect(hops.find((hop) => hop.hop === "dead-lettered")).toMatchObject({ topic, group, reconsumeTimes: 1, detail: "Error: cannot handle it" });
    await push.shutdown();

    const [result] = await admin.redrive(group, { all: true });
    expect(result).toMatchObject({ status: "resent" });
    const redriven = await traceUntil(admin, sent.msgId, ["redriven"]);
    const resentId = (result as { msgId: string }).msgId;
    expect(redriven.find((hop) => hop.hop === "redriven")).toMatchObject({ group, topic, detail: `resent to "${topic}" as ${resentId}` });
    expect((await traceUntil(admin, resentId, ["stored"])).map((hop) => hop.hop)).toEqual(["stored"]);
  });
});
