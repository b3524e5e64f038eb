/** The SDK's TransactionProducer and Admin against a real broker: half messages, commit, rollback, repeats, check-back. */

import { describe, expect, test } from "bun:test";
import { Admin, isMqError, TransactionProducer, type TransactionCheckMessage, type TransactionProducerOptions } from "../../../src/client/index.ts";
import { Transactions } from "../../../src/broker/transactions.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { createTopic, track, uniqueName, waitFor } from "./helpers.ts";

async function startTransactionProducer(broker: string, options: Partial<TransactionProducerOptions> & { group: string }): Promise<TransactionProducer> {
  const producer = track(new TransactionProducer({ broker, checkListener: () => "unknown", ...options }));
  await producer.start();
  return producer;
}

describe("client: transactions", () => {
  test("a committed half appears once in its topic with msgId, keys, tags and properties; a rolled-back one never", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 2);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    const admin = track(new Admin({ broker: broker.address }));
    const committed = await producer.sendInTransaction({ topic, body: "paid", tags: "T", keys: ["order-1"], properties: { color: "red" } }, () => "commit");
    const rolledBack = await producer.sendInTransaction({ topic, body: "cancelled", keys: ["order-2"] }, () => "rollback");
    expect([committed.state, rolledBack.state]).toEqual(["committed", "rolled_back"]);
    expect(committed.transactionId).toBe(committed.offsetMsgId);
    const found = await admin.viewMessage(committed.msgId);
    expect([found.topic, found.text(), found.tags, found.keys, found.properties.color]).toEqual([topic, "paid", "T", ["order-1"], "red"]);
    expect(found.queueId).toBe(committed.committed!.queueId);
    expect((await admin.queryByKey(topic, "order-2")).length).toBe(0);
    const total = (await admin.topicOffsets(topic)).reduce((sum, queue) => sum + queue.maxOffset, 0);
    expect(total).toBe(1);
  });

  test("a half is invisible to consumers and key lookup until committed; repeated commits store it once; the other outcome is refused", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    const admin = track(new Admin({ broker: broker.address }));
    const pending = await producer.sendInTransaction({ topic, body: "later", keys: "k-later" }, () => "unknown");
    expect(pending.state).toBe("pending");
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(0);
    expect((await admin.queryByKey(topic, "k-later")).length).toBe(0);
    const listed = await admin.listTransactions();
    expect(listed.transactions.map((view) => [view.transactionId, view.topic, view.checks, view.state])).toEqual([[pending.transactionId, topic, 0, "pending"]]);
    const answers = await Promise.all([admin.commitTransaction(pending.transactionId), admin.commitTransaction(pending.transactionId), admin.commitTransaction(pending.transactionId)]);
    expect(answers.map((answer) => answer.already).sort()).toEqual([false, true, true]);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(1);
    const again = await admin.commitTransaction(pending.transactionId);
    expect([again.state, again.already]).toEqual(["committed", true]);
    const refused = await admin.rollbackTransaction(pending.transactionId).catch((error: unknown) => error);
    expect(isMqError(refused, "TRANSACTION_ALREADY_ENDED")).toBe(true);
    expect((refused as Error).message).toBe(`Cannot roll back transaction "${pending.transactionId}": it was already committed`);
    expect((await admin.listTransactions()).transactions.length).toBe(0);
    expect((await admin.queryByKey(topic, "k-later")).map((message) => message.text())).toEqual(["later"]);
  });

  test("commit after rollback is refused with TRANSACTION_ALREADY_ENDED; an unknown id is TRANSACTION_NOT_FOUND", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    const admin = track(new Admin({ broker: broker.address }));
    const sent = await producer.sendInTransaction({ topic, body: "x" }, () => "rollback");
    const refused = await admin.commitTransaction(sent.transactionId).catch((error: unknown) => error);
    expect(isMqError(refused, "TRANSACTION_ALREADY_ENDED")).toBe(true);
    expect((refused as Error).message).toBe(`Cannot commit transaction "${sent.transactionId}": it was already rolled back`);
    const unknown = await admin.commitTransaction(`${sent.transactionId.slice(0, 16)}00000000000FFFFF`).catch((error: unknown) => error);
    expect(isMqError(unknown, "TRANSACTION_NOT_FOUND")).toBe(true);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(0);
  });

  test("check-back asks a live producer of the group after transactionTimeoutMs and applies its answer", async () => {
    const broker = await startTestBroker({ config: { transactionTimeoutMs: 100 } });
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const asked: TransactionCheckMessage[] = [];
    const producer = await startTransactionProducer(broker.address, {
      group: uniqueName("pg"),
      checkListener: (message) => {
        asked.push(message);
        return new TextDecoder().decode(message.body) === "yes" ? "commit" : "rollback";
      },
    });
    const yes = await producer.sendInTransaction({ topic, body: "yes", tags: "Y" }, () => "unknown");
    const no = await producer.sendInTransaction({ topic, body: "no" }, () => "unknown");
    await waitFor("both checked back", () => asked.length >= 2);
    await waitFor("the committed one in its topic", () => broker.store.maxOffset(topic, 0) === 1);
    const admin = track(new Admin({ broker: broker.address }));
    await waitFor("both ended", () => Transactions.of(broker.broker.context).unresolved === 0);
    expect((await admin.listTransactions()).transactions.length).toBe(0);
    expect(asked.map((message) => [message.transactionId, message.topic, message.checkTimes]).sort()).toEqual([[yes.transactionId, topic, 0], [no.transactionId, topic, 0]].sort());
    expect(asked.find((message) => message.transactionId === yes.transactionId)!.tags).toBe("Y");
    expect((await admin.viewMessage(yes.msgId)).text()).toBe("yes");
  });

  test("concurrent transactions travel in batches (halves in SEND_BATCH, ends in END_TRANSACTION_BATCH) and each gets its own answer", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    const results = await Promise.all(Array.from({ length: 300 }, (_, index) => producer.sendInTransaction({ topic, body: `m${index}` }, () => (index % 3 === 0 ? "rollback" : "commit"))));
    expect(results.map((result) => result.state)).toEqual(results.map((_, index) => (index % 3 === 0 ? "rolled_back" : "committed")));
    expect(new Set(results.map((result) => result.transactionId)).size).toBe(300);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(200);
    // In one turn: a repeat of a commit, the other outcome of a rollback, and a fresh commit.
    const fresh = await producer.sendHalf({ topic, body: "fresh" });
    const [repeat, refused, ended] = await Promise.allSettled([
      producer.endTransaction(results[1]!.transactionId, "commit"),
      producer.endTransaction(results[0]!.transactionId, "commit"),
      producer.endTransaction(fresh.transactionId, "commit"),
    ]);
    expect(repeat.status === "fulfilled" && [repeat.value.state, repeat.value.already]).toEqual(["committed", true]);
    expect(refused.status === "rejected" && isMqError(refused.reason, "TRANSACTION_ALREADY_ENDED")).toBe(true);
    expect(ended.status === "fulfilled" && [ended.value.state, ended.value.already]).toEqual(["committed", false]);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(201);
    // The batch's answer says where the committed message is: its queue offset and offsetMsgId.
    const committed = ended.status === "fulfilled" ? ended.value.committed : undefined;
    expect([committed?.queueId, committed?.queueOffset]).toEqual([0, 200]);
    const stored = await track(new Admin({ broker: broker.address })).viewMessage(committed!.offsetMsgId);
    expect([stored.msgId, stored.topic, new TextDecoder().decode(stored.body)]).toEqual([fresh.msgId, topic, "fresh"]);
    expect(results[1]!.committed?.offsetMsgId).toBe((await track(new Admin({ broker: broker.address })).viewMessage(results[1]!.msgId)).offsetMsgId);
  });

  test("concurrent sendInTransaction calls on a cached route travel as one SEND_BATCH of halves and one END_TRANSACTION_BATCH; each commits to exactly one message", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    await producer.sendInTransaction({ topic, body: "warm-up" }, () => "commit"); // caches the route: the rest take the fast path
    // The requests the producer makes, counted at its broker client.
    const client = (producer as unknown as { context: { broker: Record<string, (...args: unknown[]) => Promise<unknown>> } }).context.broker;
    const calls: string[] = [];
    for (const name of ["sendMessage", "sendBatch", "endTransaction", "endTransactionBatch"] as const) {
      const original = client[name]!.bind(client);
      client[name] = (...args: unknown[]) => {
        const fields = args[1] as { topic?: string; messageCount?: number; transactionPrepared?: boolean; transactionIds?: string[] };
        // The producer's own trace records travel to their topic meanwhile: only this topic's sends count.
        if (fields.topic === undefined || fields.topic === topic) calls.push(`${name}:${fields.messageCount ?? fields.transactionIds?.length ?? 1}${fields.transactionPrepared === true ? ":half" : ""}`);
        return original(...args);
      };
    }
    let asyncAnswers = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        producer.sendInTransaction({ topic, body: `m${index}` }, (sent) => {
          expect(sent.transactionId).toBe(sent.offsetMsgId);
          if (index % 2 === 0) return "commit";
          asyncAnswers += 1;
          return Promise.resolve("commit" as const); // an async answer ends in the same batch when it settles in the same turn
        }),
      ),
    );
    expect(asyncAnswers).toBe(25);
    expect(calls).toEqual(["sendBatch:50:half", "endTransactionBatch:50"]);
    expect(results.every((result) => result.state === "committed")).toBe(true);
    expect(new Set(results.map((result) => result.committed!.queueOffset)).size).toBe(50);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(51);
    // Every commit repeated, all at once: answered from the first, nothing stored again.
    const repeats = await Promise.all(results.map((result) => producer.endTransaction(result.transactionId, "commit")));
    expect(repeats.every((repeat) => repeat.state === "committed" && repeat.already)).toBe(true);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(51);
    const admin = track(new Admin({ broker: broker.address }));
    for (const result of results.slice(0, 5)) expect((await admin.viewMessage(result.msgId)).offsetMsgId).toBe(result.committed!.offsetMsgId);
  });

  test("a local transaction that throws, synchronously or not, leaves its half pending for check-back", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orders");
    await createTopic(broker.address, topic, 1);
    const producer = await startTransactionProducer(broker.address, { group: uniqueName("pg") });
    const [thrown, rejected] = await Promise.all([
      producer.sendInTransaction({ topic, body: "a" }, () => {
        throw new Error("database down");
      }),
      producer.sendInTransaction({ topic, body: "b" }, () => Promise.reject(new Error("database down"))),
    ]);
    expect([thrown.state, thrown.resolution, rejected.state, rejected.resolution]).toEqual(["pending", "unknown", "pending", "unknown"]);
    expect(Transactions.of(broker.broker.context).unresolved).toBe(2);
    expect<number>(broker.store.maxOffset(topic, 0)).toBe(0);
  });
});
