/**
 * A batch fails as a whole on every transport: when the store cannot append one entry of a
 * SEND_BATCH (TCP) or a JSON array (REST), the answer is one error and nothing of the batch is
 * stored, so the client's retry stores it exactly once.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { errorCatalog } from "../../../src/common/errors.ts";
import { encodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { startHttpBroker } from "../http/helpers.ts";
import { call, connectTo, nextMsgId, pull, rejection, text } from "./helpers.ts";

afterAll(removeTempDirs);
const encoder = new TextEncoder();

describe("Batches over TCP and REST", () => {
  test("SEND_BATCH failing at its fourth entry answers one STORE_IO error and stores nothing", async () => {
    const faults = new FaultPoints();
    const broker = await startTestBroker({ store: { faults } });
    const client = await connectTo(broker);
    const entries = Array.from({ length: 8 }, (_, index) => ({ msgId: nextMsgId(), keys: [`k${index}`], body: encoder.encode(`m${index}`) }));
    const fields = { producerGroup: "pg", topic: "b", queueId: 0, messageCount: entries.length, bornTimestampMs: Date.now() };
    faults.arm("append", 1, 3);
    const error = await rejection(call(client, RequestCode.SEND_BATCH, fields, encodeBatchBody(entries)));
    expect(error.code).toBe(errorCatalog.STORE_IO.code);
    expect<number>(broker.store.maxOffset("b", 0)).toBe(0);
    expect<number>(broker.store.stats().commitLogMaxOffset).toBe(0);

    const retried = await call(client, RequestCode.SEND_BATCH, fields, encodeBatchBody(entries));
    expect(retried.firstQueueOffset).toBe(0);
    const pulled = await pull(client, "b", { queueId: 0, maxMessages: 100 });
    expect(pulled.messages.map((message) => text(message.body))).toEqual(entries.map((_, index) => `m${index}`));
  });

  test("a REST batch failing midway answers one error and stores nothing", async () => {
    const faults = new FaultPoints();
    const h = await startHttpBroker({ store: { faults } });
    await h.call("POST", "/api/v1/topics", { topic: "r", queues: 1 });
    faults.arm("append", 1, 2);
    const failed = await h.call("POST", "/api/v1/topics/r/messages", [{ body: "a" }, { body: "b" }, { body: "c" }, { body: "d" }]);
    expect([failed.status, failed.json.code]).toEqual([errorCatalog.STORE_IO.http, errorCatalog.STORE_IO.code]);
    expect<number>(h.broker.store.maxOffset("r", 0)).toBe(0);
    const stored = await h.call("POST", "/api/v1/topics/r/messages", [{ body: "a" }, { body: "b" }, { body: "c" }, { body: "d" }]);
    expect(stored.status).toBe(200);
    expect<number>(h.broker.store.maxOffset("r", 0)).toBe(4);
  });
});
