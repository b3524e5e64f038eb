/**
 * Transactions across kill -9, with a real `mq start` process under sync flush (issue 12, item
 * 5). A producer runs thousands of transactions, 64 at a time: send the half, record the local
 * decision (commit or rollback, seeded) in its "database", end it. The broker is SIGKILLed in the
 * middle — so transactions are caught at every step: half stored and not ended, the committed
 * message written and its state record not, the state record written and its job not closed —
 * then restarted on the same data dir, twice. A restarted producer answers check-backs from the
 * database (a half it never recorded was never decided: rollback). At the end: every committed
 * transaction's message is in its topic exactly once, no rolled-back or undecided one is, and
 * nothing is left pending or exhausted.
 *
 * A commit writes one record, the committed message, which names its half: killed right after
 * commits (before any checkpoint, so replay walks every half and every message again), none of
 * them is pending after the restart, a repeated commit says `already` and stores nothing, and only
 * the halves never ended are pending.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { Admin, TransactionProducer } from "../../src/client/index.ts";
import { spawnBrokerProcess, type BrokerProcess } from "../helpers/broker.ts";
import { seededRandom } from "../helpers/seeded-random.ts";
import { untilValue } from "../helpers/wait-for.ts";

const topic = "Payments";
const queues = 2;
const inFlight = 64;
const group = "payments";
const clients: Array<{ shutdown(): Promise<void> } | { close(): Promise<void> }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await ("shutdown" in client ? client.shutdown() : client.close()).catch(() => undefined);
});

/** The producer's local database: msgId → what its local transaction decided. */
type Decisions = Map<string, "commit" | "rollback">;

function startProducer(broker: BrokerProcess, decisions: Decisions): TransactionProducer {
  const producer = new TransactionProducer({ broker: broker.address, group, retries: 0, checkListener: (message) => decisions.get(message.msgId) ?? "rollback" });
  clients.push(producer);
  return producer;
}

/** Runs transactions until `stop` says so; each records its decision before ending it. */
async function runTransactions(producer: TransactionProducer, decisions: Decisions, random: () => number, stop: { now: boolean }): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (!stop.now) {
      started += 1;
      try {
        const half = await producer.sendHalf({ topic, body: `payment-${started}` });
        const decision = random() < 0.7 ? "commit" : "rollback";
        decisions.set(half.msgId, decision);
        await producer.endTransaction(half.transactionId, decision);
      } catch {
        // The broker is gone: what it stored is settled by the check-back after the restart.
        await Bun.sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return started;
}

async function readTopic(admin: Admin): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  for (let queueId = 0; queueId < queues; queueId++) {
    let offset = 0;
    for (let page = 0; page < 10_000; page++) {
      const read = await admin.readQueue(topic, queueId, { offset, max: 512 });
      for (const message of read.messages) copies.set(message.msgId, (copies.get(message.msgId) ?? 0) + 1);
      if (read.nextOffset >= read.maxOffset) break;
      offset = read.nextOffset;
    }
  }
  return copies;
}

describe("transactions across kill -9", () => {
  test("killed twice while ending transactions: every commit stored once, no rollback stored, nothing left pending", async () => {
    const random = seededRandom();
    const decisions: Decisions = new Map();
    const env = { MQ_TRANSACTION_TIMEOUT_MS: "300" };
    let broker = await spawnBrokerProcess({ args: ["--flush", "sync"], env });
    const admin = new Admin({ broker: broker.address });
    clients.push(admin);
    await admin.createTopic(topic, { queues });
    for (let round = 0; round < 2; round++) {
      const producer = startProducer(broker, decisions);
      await producer.start();
      const stop = { now: false };
      const running = runTransactions(producer, decisions, () => random.next(), stop);
      const before = decisions.size;
      await untilValue(`500 decisions in round ${round + 1}`, 30_000, async () => (decisions.size >= before + 500 ? true : undefined));
      await broker.kill();
      stop.now = true;
      await running;
      await producer.shutdown();
      broker = await spawnBrokerProcess({ dataDir: broker.dataDir, port: broker.port, args: ["--flush", "sync"], env });
    }
    const last = startProducer(broker, decisions);
    await last.start();
    const after = new Admin({ broker: broker.address });
    clients.push(after);
    await untilValue("no transaction pending", 60_000, async () => ((await after.listTransactions()).total === 0 ? true : undefined));
    expect((await after.listTransactions({ state: "exhausted" })).total).toBe(0);
    const copies = await readTopic(after);
    const committed = [...decisions].filter(([, decision]) => decision === "commit").map(([msgId]) => msgId);
    const duplicated = [...copies].filter(([, count]) => count > 1).length;
    const notCommitted = [...copies.keys()].filter((msgId) => decisions.get(msgId) !== "commit").length;
    const lost = committed.filter((msgId) => !copies.has(msgId)).length;
    expect({ duplicated, notCommitted, lost }).toEqual({ duplicated: 0, notCommitted: 0, lost: 0 });
    expect(copies.size).toBe(committed.length);
    expect(committed.length).toBeGreaterThan(500);
    expect(broker.stderr()).not.toMatch(/\bERROR\b/);
  }, 120_000);

  test("killed right after commits: each committed message alone ends its half after the restart", async () => {
    // No check-back within the test: what is pending after the restart is what replay found.
    const env = { MQ_TRANSACTION_TIMEOUT_MS: "600000" };
    let broker = await spawnBrokerProcess({ args: ["--flush", "sync"], env });
    const admin = new Admin({ broker: broker.address });
    clients.push(admin);
    await admin.createTopic(topic, { queues });
    const producer = startProducer(broker, new Map());
    await producer.start();
    const committed = await Promise.all(Array.from({ length: 200 }, (_, index) => producer.sendInTransaction({ topic, body: `paid-${index}` }, () => "commit")));
    expect(committed.every((result) => result.state === "committed")).toBe(true);
    const pending = await Promise.all(Array.from({ length: 3 }, (_, index) => producer.sendHalf({ topic, body: `open-${index}` })));
    await broker.kill();
    await producer.shutdown();
    broker = await spawnBrokerProcess({ dataDir: broker.dataDir, port: broker.port, args: ["--flush", "sync"], env });
    const after = new Admin({ broker: broker.address });
    clients.push(after);
    const listed = await after.listTransactions({ limit: 100 });
    expect(listed.transactions.map((view) => view.transactionId).sort()).toEqual(pending.map((half) => half.transactionId).sort());
    const again = await Promise.all(committed.map((result) => after.commitTransaction(result.transactionId)));
    expect(again.every((answer) => answer.state === "committed" && answer.already)).toBe(true);
    const copies = await readTopic(after);
    expect(copies.size).toBe(200);
    expect([...copies.values()].every((count) => count === 1)).toBe(true);
    expect([...copies.keys()].sort()).toEqual(committed.map((result) => result.msgId).sort());
    expect(broker.stderr()).not.toMatch(/\bERROR\b/);
  }, 60_000);
});
