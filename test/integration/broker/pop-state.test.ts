/**
 * Pop state does not grow without bound: a (group, topic) with nothing in flight and no receive
 * held is dropped by the sweep (its cursor comes back from the stored offset on next use), and
 * the in-flight messages of a deleted topic are dropped with their scheduled redeliveries, and
 * so are those an admin reset of the group's offset moved past, even once their deadline passed.
 * The broker runs on a ManualClock, so the sweep is a clock step, not a wait.
 */

import { describe, expect, test } from "bun:test";
import { PopService } from "../../../src/broker/pop-service.ts";
import { Admin, Producer } from "../../../src/client/index.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { popStateSweepIntervalMs } from "../../../src/common/limits.ts";
import { startTestBroker } from "../../helpers/broker.ts";

const encoder = new TextEncoder();

async function brokerWith(topics: readonly string[], messages: number) {
  const clock = new ManualClock(Date.now());
  const broker = await startTestBroker({ clock });
  const admin = new Admin({ broker: broker.address });
  const producer = new Producer({ broker: broker.address });
  try {
    await producer.start();
    for (const topic of topics) {
      await admin.createTopic(topic, { queues: 2 });
      for (let index = 0; index < messages; index++) await producer.send({ topic, body: encoder.encode(`${topic}-${index}`) });
    }
  } finally {
    await producer.shutdown();
    await admin.close();
  }
  return { clock, broker, pop: PopService.of(broker.broker.context) };
}

describe("PopService: pruning and resets", () => {
  test("a hundred groups that received and acked everything leave no state after the sweep", async () => {
    const { clock, pop } = await brokerWith(["Orders"], 4);
    for (let group = 0; group < 100; group++) {
      const received = pop.tryReceive({ group: `g${group}`, topic: "Orders", maxMessages: 8, invisibleMs: 30_000 });
      expect(received.length).toBe(4);
      for (const item of received) pop.ack(`g${group}`, "Orders", item.receiptHandle);
    }
    const busy = pop.tryReceive({ group: "busy", topic: "Orders", maxMessages: 1, invisibleMs: 600_000 });
    expect(pop.stateCount).toBe(101);
    clock.advance(popStateSweepIntervalMs);
    expect(pop.stateCount).toBe(1); // "busy" still has a message in flight
    expect(pop.inFlight("busy")).toBe(1);
    // A swept group picks up where it left off: its offsets were committed.
    expect(pop.tryReceive({ group: "g7", topic: "Orders", maxMessages: 8, invisibleMs: 30_000 })).toEqual([]);
    pop.ack("busy", "Orders", busy[0]!.receiptHandle);
  });

  test("a deleted topic's in-flight messages are dropped with their scheduled redeliveries", async () => {
    const { clock, broker, pop } = await brokerWith(["Gone", "Kept"], 3);
    const context = broker.broker.context;
    expect(pop.tryReceive({ group: "g", topic: "Gone", maxMessages: 8, invisibleMs: 600_000 }).length).toBe(3);
    expect(pop.tryReceive({ group: "g", topic: "Kept", maxMessages: 8, invisibleMs: 600_000 }).length).toBe(3);
    expect(context.scheduler.open).toBe(6);
    context.topics.delete("Gone");
    clock.advance(popStateSweepIntervalMs);
    expect(pop.inFlight("g", "Gone")).toBe(0);
    expect(pop.inFlight("g", "Kept")).toBe(3);
    expect(context.scheduler.open).toBe(3);
    expect(pop.stateCount).toBe(1);
  });

  test("messages whose deadline passed after an admin reset moved the offset past them are not delivered again", async () => {
    const { clock, broker, pop } = await brokerWith(["Orders"], 4);
    const context = broker.broker.context;
    expect(pop.tryReceive({ group: "g", topic: "Orders", maxMessages: 8, invisibleMs: 1_000 }).length).toBe(4);
    for (let queueId = 0; queueId < 2; queueId++) context.offsets.commit("g", "Orders", queueId, context.store.maxOffset("Orders", queueId)); // reset to "last"
    clock.advance(1_000);
    expect(pop.tryReceive({ group: "g", topic: "Orders", maxMessages: 8, invisibleMs: 1_000 })).toEqual([]);
    expect(pop.inFlight("g")).toBe(0);
    expect(context.scheduler.open).toBe(0);
  });
});
