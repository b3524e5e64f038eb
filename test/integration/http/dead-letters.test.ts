/**
 * Dead letters through REST: `GET /api/v1/groups/{g}/dlq` (each entry's why, time and msgId
 * filters, paging) and `POST /api/v1/groups/{g}/dlq/redrive` (per-message results; a repeat
 * resends nothing; force does; a restart remembers), on a broker in this process.
 */

import { describe, expect, test } from "bun:test";
import { appendDeadLetter, originId } from "../../helpers/dead-letters.ts";
import { startHttpBroker } from "./helpers.ts";

describe("REST: /api/v1/groups/{group}/dlq", () => {
  test("lists entries with their origin, failures, client id and error text, pages, and filters by msgId and time", async () => {
    const server = await startHttpBroker();
    expect((await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 1 })).status).toBe(201);
    const stored: number[] = [];
    for (let index = 0; index < 3; index++) stored.push((await appendDeadLetter(server.broker.store, "billing", { originTopic: "Orders", originMsgId: originId(index), errorText: `Error: ${index}`, clientId: "10.0.0.9@w" })).storeTimestampMs);

    const first = await server.call("GET", "/api/v1/groups/billing/dlq?limit=2");
    expect(first.status).toBe(200);
    expect(first.json.entries).toHaveLength(2);
    expect(first.json.entries[0]).toMatchObject({ originTopic: "Orders", originMsgId: originId(0), reconsumeTimes: 16, firstFailureMs: 1_000, lastFailureMs: 2_000, clientId: "10.0.0.9@w", errorText: "Error: 0", redriven: false });
    const rest = await server.call("GET", `/api/v1/groups/billing/dlq?limit=2&after=${first.json.next}`);
    expect(rest.json.entries.map((entry: { originMsgId: string }) => entry.originMsgId)).toEqual([originId(2)]);
    expect(rest.json.next).toBeUndefined();

    const byMsgId = await server.call("GET", `/api/v1/groups/billing/dlq?msgId=${originId(1)}`);
    expect(byMsgId.json.entries.map((entry: { originMsgId: string }) => entry.originMsgId)).toEqual([originId(1)]);
    const future = await server.call("GET", `/api/v1/groups/billing/dlq?from=${stored.at(-1)! + 60_000}`);
    expect(future.json.entries).toEqual([]);
    const bad = await server.call("GET", "/api/v1/groups/billing/dlq?limit=0");
    expect(bad.status).toBe(400);
  });

  test("redrive by ids answers one result per id; a repeat resends nothing; force resends", async () => {
    const server = await startHttpBroker();
    await server.call("POST", "/api/v1/topics", { topic: "Orders", queues: 1 });
    for (let index = 0; index < 2; index++) await appendDeadLetter(server.broker.store, "billing", { originTopic: "Orders", originMsgId: originId(index), keys: [`k${index}`] });

    const redrive = await server.call("POST", "/api/v1/groups/billing/dlq/redrive", { ids: [originId(0), originId(9)] });
    expect(redrive.status).toBe(200);
    expect(redrive.json.results.map((result: { status: string }) => result.status)).toEqual(["resent", "failed"]);
    expect(redrive.json.results[0]).toMatchObject({ originMsgId: originId(0), topic: "Orders" });
    const found = await server.call("GET", "/api/v1/messages?topic=Orders&key=k0");
    expect(found.json.messages.map((message: { msgId: string }) => message.msgId)).toEqual([redrive.json.results[0].msgId]);

    const again = await server.call("POST", "/api/v1/groups/billing/dlq/redrive", { all: true });
    expect(again.json.results.map((result: { originMsgId: string; status: string }) => [result.originMsgId, result.status])).toEqual([
      [originId(0), "failed"],
      [originId(1), "resent"],
    ]);
    const forced = await server.call("POST", "/api/v1/groups/billing/dlq/redrive", { ids: [originId(0)], force: true, toTopic: "Orders", rate: 50 });
    expect(forced.json.results.map((result: { status: string }) => result.status)).toEqual(["resent"]);
    expect((await server.call("GET", "/api/v1/messages?topic=Orders&key=k0")).json.messages).toHaveLength(2);
    const listed = await server.call("GET", "/api/v1/groups/billing/dlq");
    expect(listed.json.entries.map((entry: { redriven: boolean }) => entry.redriven)).toEqual([true, true]);
  });

  test("a redrive naming nothing is a 400", async () => {
    const server = await startHttpBroker();
    const answer = await server.call("POST", "/api/v1/groups/billing/dlq/redrive", {});
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.json)).toContain("name ids, a time range (from, to), or all");
  });
});
