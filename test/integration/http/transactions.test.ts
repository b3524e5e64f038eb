/**
 * Transactions over REST: a send with `"transaction": true` answers a transaction id and stays
 * invisible; `POST /api/v1/transactions/{id}/commit|rollback` ends it (repeated: `already`, the
 * other way: 409); `GET /api/v1/transactions` lists pending and exhausted ones; a REST half left
 * unended moves to the exhausted list when its check-back falls due (nobody to ask).
 */

import { describe, expect, test } from "bun:test";
import { Transactions } from "../../../src/broker/transactions.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { startHttpBroker } from "./helpers.ts";

describe("REST: transactions", () => {
  test("a transactional send is invisible until committed by id; a repeated commit stores nothing; rollback after commit is 409", async () => {
    const server = await startHttpBroker();
    expect((await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 1 })).status).toBe(201);
    const sent = await server.call("POST", "/api/v1/topics/Orders/messages", { body: "paid", keys: ["order-7"], tags: "T", transaction: true });
    expect(sent.status).toBe(200);
    expect(sent.json.transactionId).toBe(sent.json.offsetMsgId);
    expect(server.broker.store.maxOffset("Orders", 0) as number).toBe(0);
    expect((await server.call("GET", "/api/v1/messages?topic=Orders&key=order-7")).json.messages).toEqual([]);
    const pending = await server.call("GET", "/api/v1/transactions?state=pending");
    expect(pending.status).toBe(200);
    expect(pending.json.transactions.map((view: { transactionId: string; producerGroup: string; topic: string; checks: number }) => [view.transactionId, view.producerGroup, view.topic, view.checks])).toEqual([[sent.json.transactionId, "MQ_REST_PRODUCER", "Orders", 0]]);
    const committed = await server.call("POST", `/api/v1/transactions/${sent.json.transactionId}/commit`);
    expect([committed.status, committed.json.state, committed.json.already, committed.json.committed.queueId]).toEqual([200, "committed", false, 0]);
    const again = await server.call("POST", `/api/v1/transactions/${sent.json.transactionId}/commit`);
    expect([again.status, again.json.already]).toEqual([200, true]);
    expect(server.broker.store.maxOffset("Orders", 0) as number).toBe(1);
    const refused = await server.call("POST", `/api/v1/transactions/${sent.json.transactionId}/rollback`);
    expect([refused.status, refused.json.code]).toEqual([409, 3041]);
    const found = await server.call("GET", `/api/v1/messages/${sent.json.msgId}`);
    expect([found.json.body, found.json.tags, found.json.keys]).toEqual(["paid", "T", ["order-7"]]);
    expect((await server.call("GET", "/api/v1/transactions")).json.transactions).toEqual([]);
  });

  test("a REST half left unended is exhausted when its check-back falls due, listed, and rolled back by id; a batch may not hold one", async () => {
    const clock = new ManualClock(Date.now());
    const server = await startHttpBroker({ clock, store: { clock }, config: { transactionTimeoutMs: 6_000 } });
    await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 1 });
    const sent = await server.call("POST", "/api/v1/topics/Orders/messages", { body: "x", transaction: true });
    const transactions = Transactions.of(server.broker.broker.context);
    clock.advance(7_000);
    expect((await server.call("GET", "/api/v1/transactions?state=exhausted")).json.transactions.map((view: { transactionId: string }) => view.transactionId)).toEqual([sent.json.transactionId]);
    expect(transactions.counters.exhausted).toBe(1);
    const rolledBack = await server.call("POST", `/api/v1/transactions/${sent.json.transactionId}/rollback`);
    expect([rolledBack.status, rolledBack.json.state]).toEqual([200, "rolled_back"]);
    expect((await server.call("GET", "/api/v1/transactions?state=exhausted")).json.transactions).toEqual([]);
    const batch = await server.call("POST", "/api/v1/topics/Orders/messages", [{ body: "a", transaction: true }, { body: "b" }]);
    expect([batch.status, batch.json.code]).toEqual([400, 1000]);
    const unknown = await server.call("POST", `/api/v1/transactions/${"0".repeat(32)}/commit`);
    expect([unknown.status, unknown.json.code]).toEqual([404, 3040]);
    expect(server.broker.store.maxOffset("Orders", 0) as number).toBe(0);
  });

  test("the OpenAPI document describes the transactions API", async () => {
    const server = await startHttpBroker();
    const document = (await server.call("GET", "/api/v1/openapi.json")).json;
    expect(Object.keys(document.paths["/api/v1/transactions"])).toEqual(["get"]);
    expect(document.paths["/api/v1/transactions/{id}/commit"].post.tags).toEqual(["transactions"]);
    expect(Object.keys(document.components.schemas)).toContain("TransactionListing");
  });
});
