/**
 * REST exactly-once produce: a dedupKey (JSON field, or the mq-dedup-key header for raw bytes)
 * repeated within the topic's window stores nothing and answers the original with duplicate: true.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { startHttpBroker } from "./helpers.ts";

afterAll(removeTempDirs);

async function stored(h: Awaited<ReturnType<typeof startHttpBroker>>, topic: string): Promise<number> {
  let count = 0;
  for (let queueId = 0; queueId < 4; queueId++) count += h.broker.store.maxOffset(topic, queueId);
  return count;
}

describe("REST: the dedup window", () => {
  test("JSON: a repeated dedupKey answers the original's msgId, queue and offsets with duplicate: true", async () => {
    const h = await startHttpBroker({ config: { dedup: true } });
    const first = await h.call("POST", "/api/v1/topics/t/messages", { body: "one", dedupKey: "order-42" });
    expect(first.status).toBe(200);
    expect(first.json.duplicate).toBeUndefined();
    const again = await h.call("POST", "/api/v1/topics/t/messages", { body: "one again", dedupKey: "order-42" });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...first.json, duplicate: true });
    expect(await stored(h, "t")).toBe(1);
  });

  test("a batch answers each entry: repeats of stored messages and of earlier entries are duplicates", async () => {
    const h = await startHttpBroker({ config: { dedup: true } });
    const first = await h.call("POST", "/api/v1/topics/t/messages", { body: "a", dedupKey: "a" });
    const { status, json } = await h.call("POST", "/api/v1/topics/t/messages", [{ body: "b", dedupKey: "b" }, { body: "a", dedupKey: "a" }, { body: "b", dedupKey: "b" }, { body: "plain" }]);
    expect(status).toBe(200);
    expect(json.map((answer: { duplicate?: boolean }) => answer.duplicate === true)).toEqual([false, true, true, false]);
    expect(json[1]).toEqual({ ...first.json, duplicate: true });
    expect(json[2].offsetMsgId).toBe(json[0].offsetMsgId);
    expect(await stored(h, "t")).toBe(3);
  });

  test("octet-stream: the mq-dedup-key header", async () => {
    const h = await startHttpBroker({ config: { dedup: true } });
    const headers = { "content-type": "application/octet-stream", "mq-dedup-key": "raw-1" };
    const first = await h.call("POST", "/api/v1/topics/raw/messages", new Uint8Array([1, 2, 3]), headers);
    const again = await h.call("POST", "/api/v1/topics/raw/messages", new Uint8Array([1, 2, 3]), headers);
    expect(first.status).toBe(200);
    expect(again.json).toEqual({ ...first.json, duplicate: true });
    expect(await stored(h, "raw")).toBe(1);
    const tooLong = await h.call("POST", "/api/v1/topics/raw/messages", new Uint8Array([1]), { ...headers, "mq-dedup-key": "k".repeat(256) });
    expect(tooLong.status).toBe(400);
  });

  test("without a window a repeated dedupKey is stored again (the key is kept on the message)", async () => {
    const h = await startHttpBroker({ config: { dedup: false } });
    await h.call("POST", "/api/v1/topics/t/messages", { body: "one", dedupKey: "k" });
    const again = await h.call("POST", "/api/v1/topics/t/messages", { body: "one", dedupKey: "k" });
    expect(again.json.duplicate).toBeUndefined();
    const got = await h.call("GET", `/api/v1/messages/${again.json.msgId}`);
    expect(got.json.properties.DEDUP_KEY).toBe("k");
    expect(await stored(h, "t")).toBe(2);
  });

  test("a topic created with its own dedupWindowMs deduplicates on a broker without the setting", async () => {
    const h = await startHttpBroker({ config: { dedup: false } });
    expect((await h.call("POST", "/api/v1/topics", { topic: "once", queues: 2, dedupWindowMs: 60_000 })).status).toBe(201);
    const first = await h.call("POST", "/api/v1/topics/once/messages", { body: "x", dedupKey: "k" });
    const again = await h.call("POST", "/api/v1/topics/once/messages", { body: "x", dedupKey: "k" });
    expect(again.json).toEqual({ ...first.json, duplicate: true });
    expect((await h.call("POST", "/api/v1/topics", { topic: "toolong", dedupWindowMs: 24 * 3_600_000 + 1 })).status).toBe(400);
  });

  test("PUT /api/v1/topics/{topic} without dedupWindowMs keeps the topic's window; with it, changes it", async () => {
    const h = await startHttpBroker();
    expect((await h.call("POST", "/api/v1/topics", { topic: "once", queues: 2, dedupWindowMs: 60_000 })).status).toBe(201);
    const changed = await h.call("PUT", "/api/v1/topics/once", { queues: 4 });
    expect(changed.status).toBe(200);
    expect([changed.json.writeQueues, changed.json.dedupWindowMs]).toEqual([4, 60_000]);
    const first = await h.call("POST", "/api/v1/topics/once/messages", { body: "x", dedupKey: "k" });
    expect((await h.call("POST", "/api/v1/topics/once/messages", { body: "x", dedupKey: "k" })).json).toEqual({ ...first.json, duplicate: true });
    const off = await h.call("PUT", "/api/v1/topics/once", { dedupWindowMs: 0 });
    expect([off.status, off.json.dedupWindowMs, off.json.writeQueues]).toEqual([200, 0, 4]);
    expect((await h.call("POST", "/api/v1/topics/once/messages", { body: "x", dedupKey: "k" })).json.duplicate).toBeUndefined();
  });
});
