/**
 * Transaction check-back against a broker in this process (issue 12): a producer killed while
 * it holds the check-back (the next live producer of the group answers, and only that one
 * counts), a long time with no producer on the ManualClock (nothing counted, nothing discarded),
 * the back-off and the transactionCheckMax limit (then the exhausted list), a check-back
 * racing a commit, and the `transaction.ended` event on the bus.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { TransactionEvents } from "../../../src/broker/transaction-events.ts";
import { TransactionChecks } from "../../../src/broker/transaction-check.ts";
import { Transactions } from "../../../src/broker/transactions.ts";
import { Admin } from "../../../src/client/admin.ts";
import { TransactionProducer, type TransactionCheckListener } from "../../../src/client/transaction-producer.ts";
import type { EventBus } from "../../../src/common/bus.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { track, uniqueName, waitFor } from "../client/helpers.ts";

async function producerOf(broker: TestBroker, group: string, checkListener: TransactionCheckListener): Promise<TransactionProducer> {
  const producer = track(new TransactionProducer({ broker: broker.address, group, checkListener }));
  await producer.start();
  return producer;
}

function endedEvents(broker: TestBroker): TransactionEvents["transaction.ended"][] {
  const events: TransactionEvents["transaction.ended"][] = [];
  (broker.store.options.bus as unknown as EventBus<TransactionEvents>).on("transaction.ended", (event) => void events.push(event));
  return events;
}

describe("transaction check-back", () => {
  test("a producer killed while it holds the check-back: the next producer of the group answers, and only its check counts", async () => {
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 200 } });
    const group = uniqueName("pg");
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "../../crash/dying-transaction-producer.ts"), broker.address, group], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let output = "";
    while (!output.includes("ready\n")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      output += new TextDecoder().decode(chunk.value);
    }
    expect(output).toBe("ready\n");
    const asked: string[] = [];
    const survivor = await producerOf(broker, group, (message) => {
      asked.push(message.transactionId);
      return "commit";
    });
    const events = endedEvents(broker);
    const sent = await survivor.sendInTransaction({ topic: "Orders", body: "x" }, () => "unknown");
    await waitFor("the survivor's commit", () => events.length === 1);
    await child.exited;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      output += new TextDecoder().decode(chunk.value);
    }
    expect({ output, signal: child.signalCode }).toEqual({ output: `ready\nchecked ${sent.transactionId}\n`, signal: "SIGKILL" });
    expect(asked).toEqual([sent.transactionId]);
    expect(events.map((event) => [event.transactionId, event.resolution, event.by, event.checks])).toEqual([[sent.transactionId, "commit", "check", 1]]);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
  });

  test("with no producer for two hours nothing is counted or discarded; a producer that comes back is asked and ends it", async () => {
    const clock = new ManualClock(Date.now());
    const broker = await startTestBroker({ clock, store: { clock }, config: { transactionTimeoutMs: 6_000, transactionCheckMax: 2 } });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const group = uniqueName("pg");
    const gone = await producerOf(broker, group, () => "unknown");
    const sent = await gone.sendInTransaction({ topic: "Orders", body: "x" }, () => "unknown");
    await gone.shutdown();
    const transactions = Transactions.of(broker.broker.context);
    await waitFor("the producer to leave", () => broker.broker.context.consumers.producerChannels(group).length === 0);
    for (let minute = 0; minute < 120; minute++) clock.advance(60_000);
    const entry = transactions.entry(Number.parseInt(sent.transactionId.slice(16), 16))!;
    expect([entry.kind, entry.job.checks]).toEqual(["transaction.check", 0]);
    const back = await producerOf(broker, group, () => "commit");
    expect(back.group).toBe(group);
    clock.advance(30_000);
    await waitFor("the commit", () => transactions.unresolved === 0);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
  });

  test("unknown answers back off (first after the timeout, then 1×, 5× it) and after transactionCheckMax the transaction is exhausted, then ended by an operator", async () => {
    const clock = new ManualClock(Date.now());
    const broker = await startTestBroker({ clock, store: { clock }, config: { transactionTimeoutMs: 1_000, transactionCheckMax: 3 } });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const checkTimes: number[] = [];
    const producer = await producerOf(broker, uniqueName("pg"), (message) => {
      checkTimes.push(message.checkTimes);
      return "unknown";
    });
    const sent = await producer.sendInTransaction({ topic: "Orders", body: "x" }, () => "unknown");
    const transactions = Transactions.of(broker.broker.context);
    const offset = Number.parseInt(sent.transactionId.slice(16), 16);
    const dues: number[] = [];
    for (const [waitMs, checks] of [[1_100, 1], [1_000, 2], [5_000, 3]] as const) {
      clock.advance(waitMs);
      await waitFor(`check ${checks}`, () => transactions.entry(offset)!.job.checks === checks);
      dues.push(transactions.entry(offset)!.dueMs - clock.nowMs());
    }
    expect(checkTimes).toEqual([0, 1, 2]);
    expect(dues.slice(0, 2)).toEqual([1_000, 5_000]);
    const admin = track(new Admin({ broker: broker.address }));
    const exhausted = await admin.listTransactions({ state: "exhausted" });
    expect(exhausted.transactions.map((view) => [view.transactionId, view.checks, view.state])).toEqual([[sent.transactionId, 3, "exhausted"]]);
    expect((await admin.listTransactions()).transactions).toEqual([]);
    // Its job stays within what a timer can wait (setTimeout fires at once past 2^31 - 1 ms).
    expect(transactions.entry(offset)!.dueMs - clock.nowMs()).toBeLessThan(2 ** 31);
    clock.advance(3_600_000);
    expect([transactions.entry(offset)!.kind, checkTimes.length]).toEqual(["transaction.exhausted", 3]);
    expect((await admin.commitTransaction(sent.transactionId)).state).toBe("committed");
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
  });

  test("a check-back answer racing the producer's own commit stores one message, and the late answer is ignored", async () => {
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 1 } });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    let checkArrived = false;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const producer = await producerOf(broker, uniqueName("pg"), async () => {
      checkArrived = true;
      await held;
      return "commit" as const;
    });
    const events = endedEvents(broker);
    // The local transaction outlasts the timeout: the check-back arrives first and waits for its answer.
    const sent = await producer.sendInTransaction({ topic: "Orders", body: "x" }, async () => {
      await waitFor("the check-back to arrive", () => checkArrived);
      return "commit" as const;
    });
    expect(sent.state).toBe("committed");
    release();
    const checks = TransactionChecks.of(broker.broker.context);
    await waitFor("the late check answer", () => checks.counters.received === 1);
    expect(events.map((event) => event.by)).toEqual(["producer"]);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
  });

  test("a message's own CHECK_IMMUNITY_TIME_IN_SECONDS delays its first check-back instead of transactionTimeoutMs", async () => {
    const clock = new ManualClock(Date.now());
    const broker = await startTestBroker({ clock, store: { clock }, config: { transactionTimeoutMs: 6_000 } });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const asked: string[] = [];
    const producer = await producerOf(broker, uniqueName("pg"), (message) => {
      asked.push(new TextDecoder().decode(message.body));
      return "commit";
    });
    await producer.sendHalf({ topic: "Orders", body: "default" });
    await producer.sendHalf({ topic: "Orders", body: "immune", properties: { CHECK_IMMUNITY_TIME_IN_SECONDS: "60" } });
    const transactions = Transactions.of(broker.broker.context);
    clock.advance(10_000);
    // The listener answers before the broker applies the commit: wait for both.
    await waitFor("the default one checked and committed", () => asked.length === 1 && transactions.unresolved === 1);
    expect(asked).toEqual(["default"]);
    clock.advance(55_000);
    await waitFor("the immune one checked", () => transactions.unresolved === 0);
    expect(asked).toEqual(["default", "immune"]);
  });
});
