/**
 * Transactions across a restart, at each step of an end (issue 12, item 5), on one data dir:
 * - a half stored and never ended is checked back again after the restart;
 * - a commit whose one record (the committed message) cannot be appended leaves the transaction
 *   pending with nothing written, and the next commit stores it once;
 * - an outcome written whose job stayed open (the job re-opened by hand, as a crash before its
 *   DONE leaves it) is closed from what was written — the committed message, or a rollback's
 *   state record — without asking anyone, and never written again.
 * The same windows with real processes and kill -9 are in test/crash/transaction-kill.test.ts.
 */

import { describe, expect, test } from "bun:test";
import { Transactions } from "../../../src/broker/transactions.ts";
import { transactionCheckJobKind, transactionJobId } from "../../../src/broker/transaction-job.ts";
import { Admin } from "../../../src/client/admin.ts";
import { TransactionProducer } from "../../../src/client/transaction-producer.ts";
import { isMqError } from "../../../src/common/errors.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import type { OutgoingRecord } from "../../../src/broker/message-transform.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { MsgIdGenerator } from "../../../src/common/ids.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { track, waitFor } from "../client/helpers.ts";

describe("transactions across a restart", () => {
  test("a half stored and never ended is checked back again after the restart", async () => {
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 100 }, flush: "sync" });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const producer = track(new TransactionProducer({ broker: broker.address, group: "shop", checkListener: () => "unknown" }));
    await producer.start();
    const half = await producer.sendHalf({ topic: "Orders", body: "x", keys: "order-1" });
    await producer.shutdown();
    await broker.restart();
    const asked: string[] = [];
    const next = track(new TransactionProducer({ broker: broker.address, group: "shop", checkListener: (message) => (asked.push(message.transactionId), "commit") }));
    await next.start();
    await waitFor("the check-back after the restart", () => Transactions.of(broker.broker.context).unresolved === 0);
    expect(asked).toEqual([half.transactionId]);
    expect((await track(new Admin({ broker: broker.address })).queryByKey("Orders", "order-1")).map((message) => message.msgId)).toEqual([half.msgId]);
  });

  test("a commit whose append fails leaves it pending with nothing written; the next commit stores it once", async () => {
    const faults = new FaultPoints();
    // No trace records: the fault point counts appends, and only the commit's may pass through it.
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 60_000, traceEnabled: false }, store: { faults } });
    const admin = track(new Admin({ broker: broker.address }));
    await admin.createTopic("Orders", { queues: 1 });
    const producer = track(new TransactionProducer({ broker: broker.address, group: "shop", trace: false, checkListener: () => "unknown" }));
    await producer.start();
    const half = await producer.sendHalf({ topic: "Orders", body: "x" });
    faults.arm("append", 1); // the commit's one record
    const failed = await producer.endTransaction(half.transactionId, "commit").catch((error: unknown) => error);
    expect(isMqError(failed, "STORE_IO")).toBe(true);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(0);
    expect((await admin.listTransactions()).transactions.map((view) => view.transactionId)).toEqual([half.transactionId]);
    const committed = await producer.endTransaction(half.transactionId, "commit");
    expect([committed.state, committed.already]).toEqual(["committed", false]);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
  });

  test("a commit whose job stayed open is closed from the committed message after the restart: nobody asked, not written again", async () => {
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 100 } });
    const admin = track(new Admin({ broker: broker.address }));
    await admin.createTopic("Orders", { queues: 1 });
    const asked: string[] = [];
    const producer = track(new TransactionProducer({ broker: broker.address, group: "shop", checkListener: (message) => (asked.push(message.transactionId), "rollback") }));
    await producer.start();
    const committed = await producer.sendInTransaction({ topic: "Orders", body: "x" }, () => "commit");
    expect(committed.state).toBe("committed");
    // As a kill -9 between the committed message and the job's DONE leaves it: the job open again.
    const halfOffset = Number.parseInt(committed.transactionId.slice(16), 16);
    const { scheduler, clock } = broker.broker.context;
    scheduler.schedule({ kind: transactionCheckJobKind, id: transactionJobId(halfOffset), dueMs: clock.nowMs() + 60_000, payload: { halfOffset: halfOffset as never, checks: 0 } });
    await broker.restart();
    const transactions = Transactions.of(broker.broker.context);
    expect(transactions.unresolved).toBe(1);
    const again = await track(new Admin({ broker: broker.address })).commitTransaction(committed.transactionId);
    expect([again.state, again.already]).toEqual(["committed", true]);
    expect(transactions.unresolved).toBe(0);
    expect(isMqError(await admin.rollbackTransaction(committed.transactionId).catch((error: unknown) => error), "TRANSACTION_ALREADY_ENDED")).toBe(true);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
    expect(asked).toEqual([]);
  });

  test("an outcome whose job stayed open is closed from its state record after the restart, nobody asked", async () => {
    // No check-back may come due while the rollback travels, however slowly: nobody is to be asked.
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 60_000 } });
    await track(new Admin({ broker: broker.address })).createTopic("Orders", { queues: 1 });
    const asked: string[] = [];
    const producer = track(new TransactionProducer({ broker: broker.address, group: "shop", checkListener: (message) => (asked.push(message.transactionId), "commit") }));
    await producer.start();
    const rolledBack = await producer.sendInTransaction({ topic: "Orders", body: "x" }, () => "rollback");
    expect(rolledBack.state).toBe("rolled_back");
    // As a kill -9 between the state record and the job's DONE leaves it: the job open again.
    const halfOffset = Number.parseInt(rolledBack.transactionId.slice(16), 16);
    const { scheduler, clock } = broker.broker.context;
    scheduler.schedule({ kind: transactionCheckJobKind, id: transactionJobId(halfOffset), dueMs: clock.nowMs() + 60_000, payload: { halfOffset: halfOffset as never, checks: 0 } });
    await broker.restart();
    const transactions = Transactions.of(broker.broker.context);
    expect(transactions.unresolved).toBe(1);
    const answer = await track(new Admin({ broker: broker.address })).commitTransaction(rolledBack.transactionId).catch((error: unknown) => error);
    expect(isMqError(answer, "TRANSACTION_ALREADY_ENDED")).toBe(true);
    expect(transactions.unresolved).toBe(0);
    expect(broker.store.maxOffset("Orders", 0) as number).toBe(0);
    expect(asked).toEqual([]);
  });
});

describe("transactions: retention (ManualClock)", () => {
  test("retention keeps the CommitLog file of a pending half (files expire at once here) until the transaction ends", async () => {
    const clock = new ManualClock();
    const hourMs = 3_600_000;
    const broker = await startTestBroker({
      clock,
      tiny: true,
      config: { transactionTimeoutMs: 24 * hourMs },
      store: { clock, fileReservedTimeHours: 0, deleteWhenHour: new Date(clock.nowMs()).getHours(), flushIntervalMs: 60_000, retentionCheckIntervalMs: 60_000 },
    });
    const { messages, topics } = broker.broker.context;
    topics.create({ topic: "Orders", readQueues: 1, writeQueues: 1, perm: 6, order: false });
    const msgIds = new MsgIdGenerator({ ip: "127.0.0.1", pid: 1, instanceHash: 2 }, () => clock.nowMs());
    const body = new Uint8Array(4_096);
    const send = (extra: Partial<OutgoingRecord> = {}) => messages.send({ topic: "Orders", queueId: 0, body, msgId: msgIds.next(), ...extra });
    for (let index = 0; index < 20; index++) await send();
    const half = await send({ transactionPrepared: true, producerGroup: "shop" });
    for (let index = 0; index < 80; index++) await send();
    const fileBytes = broker.store.commitLog.fileBytes;
    await broker.store.checkpointNow();
    clock.advance(120_000);
    expect<number>(broker.store.commitLog.minOffset).toBe(half.physicalOffset - (half.physicalOffset % fileBytes));
    expect(broker.store.retention.filesKeptForTimersTotal).toBeGreaterThan(0);
    await Transactions.of(broker.broker.context).end(messages.offsetMsgId(half.physicalOffset), "rollback", "operator");
    clock.advance(120_000);
    expect<number>(broker.store.commitLog.minOffset).toBeGreaterThan(half.physicalOffset);
  });
});

