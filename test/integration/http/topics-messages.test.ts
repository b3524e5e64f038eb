import { describe, expect, test } from "bun:test";
import { startHttpBroker } from "./helpers.ts";

describe("REST: cluster and topics", () => {
  test("GET /api/v1/cluster lists this broker when there is no NameServer", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("GET", "/api/v1/cluster");
    expect(status).toBe(200);
    expect(json.source).toBe("local");
    expect(json.brokers).toHaveLength(1);
    expect(json.brokers[0].brokerAddr).toBe(h.broker.address);
  });

  test("POST /api/v1/topics creates a topic with its queues, GET lists and describes it with per-queue min/max", async () => {
    const h = await startHttpBroker();
    const created = await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 3 });
    expect(created.status).toBe(201);
    expect(created.json.readQueues).toBe(3);
    await h.call("POST", "/api/v1/topics/orders/messages", { body: "one", shardingKey: "k" });
    const list = await h.call("GET", "/api/v1/topics");
    expect(list.json.topics.map((topic: { topic: string }) => topic.topic)).toContain("orders");
    const detail = await h.call("GET", "/api/v1/topics/orders");
    expect(detail.status).toBe(200);
    expect(detail.json.queues).toHaveLength(3);
    expect(detail.json.queues.reduce((sum: number, queue: { maxOffset: number }) => sum + queue.maxOffset, 0)).toBe(1);
    expect(detail.json.queues[0].minOffset).toBe(0);
    expect(detail.json.route.brokers[0].address).toBe(h.broker.address);
  });

  test("DELETE /api/v1/topics/{topic} removes it; a second delete is 404 TOPIC_NOT_FOUND", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "gone" });
    expect((await h.call("DELETE", "/api/v1/topics/gone")).status).toBe(200);
    const again = await h.call("DELETE", "/api/v1/topics/gone");
    expect(again.status).toBe(404);
    expect(again.json.code).toBe(2001);
  });

  test("creating an existing topic is 409 TOPIC_EXISTS", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "twice" });
    const again = await h.call("POST", "/api/v1/topics", { topic: "twice" });
    expect(again.status).toBe(409);
    expect(again.json.code).toBe(2003);
  });
});

describe("REST: sending", () => {
  test("one JSON message answers msgId, offsetMsgId, queueId and queueOffset", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("POST", "/api/v1/topics/t/messages", { body: "hello", tags: "a", keys: ["k1"], properties: { color: "red" } });
    expect(status).toBe(200);
    expect(json.msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(json.offsetMsgId).toMatch(/^[0-9A-F]{32}$/);
    expect(json.queueOffset).toBe(0);
    const got = await h.call("GET", `/api/v1/messages/${json.offsetMsgId}`);
    expect(got.json.body).toBe("hello");
    expect(got.json.tags).toBe("a");
    expect(got.json.keys).toEqual(["k1"]);
    expect(got.json.properties).toEqual({ color: "red" });
  });

  test("a JSON array is a batch: one answer per message, in one queue at consecutive offsets", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("POST", "/api/v1/topics/t/messages", [{ body: "a" }, { body: "Yg==", encoding: "base64" }, { body: "c" }]);
    expect(status).toBe(200);
    expect(json).toHaveLength(3);
    expect(new Set(json.map((answer: { queueId: number }) => answer.queueId)).size).toBe(1);
    expect(json.map((answer: { queueOffset: number }) => answer.queueOffset)).toEqual([0, 1, 2]);
    const second = await h.call("GET", `/api/v1/messages/${json[1].msgId}`);
    expect(second.json.body).toBe("b");
  });

  test("a raw octet-stream body takes tags and keys from mq-tags and mq-keys headers", async () => {
    const h = await startHttpBroker();
    const bytes = new Uint8Array([0, 255, 1, 254]);
    const { status, json } = await h.call("POST", "/api/v1/topics/raw/messages", bytes, { "content-type": "application/octet-stream", "mq-tags": "bin", "mq-keys": "k1,k2" });
    expect(status).toBe(200);
    const got = await h.call("GET", `/api/v1/messages/${json.msgId}`);
    expect(got.json.encoding).toBe("base64");
    expect(Buffer.from(got.json.body, "base64")).toEqual(Buffer.from(bytes));
    expect(got.json.tags).toBe("bin");
    expect(got.json.keys).toEqual(["k1", "k2"]);
  });

  test("under sync flush the answer comes only once the message is durable", async () => {
    // No trace writer: its records are appended after the answer without waiting for a flush.
    const h = await startHttpBroker({ flush: "sync", config: { traceEnabled: false } });
    const { status } = await h.call("POST", "/api/v1/topics/t/messages", { body: "durable" });
    expect(status).toBe(200);
    const commitLog = h.broker.store.commitLog;
    expect(commitLog.flushedPosition).toBe(commitLog.writePosition);
  });

  test("a sharding key sends every message carrying it to one queue", async () => {
    const h = await startHttpBroker();
    const queues = new Set<number>();
    for (let index = 0; index < 8; index++) queues.add((await h.call("POST", "/api/v1/topics/t/messages", { body: String(index), shardingKey: "order-7" })).json.queueId);
    expect(queues.size).toBe(1);
  });
});

describe("REST: reading messages", () => {
  test("browse returns a queue's messages from an offset with the next offset", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "b", queues: 1 });
    for (let index = 0; index < 5; index++) await h.call("POST", "/api/v1/topics/b/messages", { body: `m${index}` });
    const page = await h.call("GET", "/api/v1/topics/b/queues/0/messages?offset=1&max=3");
    expect(page.status).toBe(200);
    expect(page.json.messages.map((message: { body: string }) => message.body)).toEqual(["m1", "m2", "m3"]);
    expect(page.json.nextOffset).toBe(4);
    expect(page.json.maxOffset).toBe(5);
    const end = await h.call("GET", "/api/v1/topics/b/queues/0/messages?offset=5");
    expect(end.json.messages).toEqual([]);
  });

  test("browse outside the queue is 400 OFFSET_OUT_OF_RANGE; a missing queue is 404 QUEUE_NOT_FOUND", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "b", queues: 1 });
    const beyond = await h.call("GET", "/api/v1/topics/b/queues/0/messages?offset=9");
    expect([beyond.status, beyond.json.code]).toEqual([400, 4002]);
    const missing = await h.call("GET", "/api/v1/topics/b/queues/5/messages");
    expect([missing.status, missing.json.code]).toEqual([404, 2004]);
  });

  test("a message is found by msgId and by offsetMsgId; an unknown id is 404 MESSAGE_NOT_FOUND", async () => {
    const h = await startHttpBroker();
    const sent = (await h.call("POST", "/api/v1/topics/t/messages", { body: "find me" })).json;
    expect((await h.call("GET", `/api/v1/messages/${sent.msgId}`)).json.body).toBe("find me");
    expect((await h.call("GET", `/api/v1/messages/${sent.offsetMsgId}`)).json.msgId).toBe(sent.msgId);
    const unknown = await h.call("GET", `/api/v1/messages/${"0".repeat(32)}`);
    expect([unknown.status, unknown.json.code]).toEqual([404, 3003]);
  });

  test("query by key returns the topic's messages carrying it", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics/t/messages", { body: "x", keys: ["order-1"] });
    await h.call("POST", "/api/v1/topics/t/messages", { body: "y", keys: ["order-2"] });
    await h.call("POST", "/api/v1/topics/t/messages", { body: "z", keys: ["order-1", "other"] });
    const found = await h.call("GET", "/api/v1/messages?topic=t&key=order-1");
    expect(found.status).toBe(200);
    expect(found.json.messages.map((message: { body: string }) => message.body).sort()).toEqual(["x", "z"]);
  });
});

describe("REST: messages go through the message service", () => {
  test("a reserved property name is 400 PROPERTY_INVALID, single or in a batch, and nothing is stored", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "guarded", queues: 1 });
    for (const name of ["TAGS", "UNIQ_KEY", "DELAY", "DELIVER_AT", "TRAN_MSG", "REAL_TOPIC", "RECONSUME_TIME"]) {
      const single = await h.call("POST", "/api/v1/topics/guarded/messages", { body: "x", properties: { [name]: "1" } });
      expect({ name, status: single.status, code: single.json.code, error: single.json.error }).toEqual({ name, status: 400, code: 3008, error: `Cannot use property "${name}": the name is reserved for the broker` });
    }
    const batch = await h.call("POST", "/api/v1/topics/guarded/messages", [{ body: "a" }, { body: "b", properties: { KEYS: "k" } }]);
    expect([batch.status, batch.json.code]).toEqual([400, 3008]);
    const detail = await h.call("GET", "/api/v1/topics/guarded");
    expect(detail.json.queues[0].maxOffset).toBe(0);
    const traced = await h.call("POST", "/api/v1/topics/guarded/messages", { body: "x", properties: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    expect(traced.status).toBe(200);
  });

  test("a key holding a space is 400 PROPERTY_INVALID, as on every transport", async () => {
    const h = await startHttpBroker();
    const answer = await h.call("POST", "/api/v1/topics/spaced/messages", { body: "x", keys: ["two words"] });
    expect([answer.status, answer.json.code]).toEqual([400, 3008]);
    expect(answer.json.error).toContain('"KEYS"');
  });

  test("a raw body's mq-keys are comma separated: a key holding a space is 400 PROPERTY_INVALID, not two keys", async () => {
    const h = await startHttpBroker();
    const raw = { "content-type": "application/octet-stream" };
    const spaced = await h.call("POST", "/api/v1/topics/spaced/messages", "x", { ...raw, "mq-keys": "order 42" });
    expect([spaced.status, spaced.json.code]).toEqual([400, 3008]);
    expect(spaced.json.error).toContain('"KEYS"');
    const listed = await h.call("POST", "/api/v1/topics/spaced/messages", "y", { ...raw, "mq-keys": "order-42, order-43" });
    expect(listed.status).toBe(200);
    const found = await h.call("GET", "/api/v1/messages?topic=spaced&key=order-43");
    expect(found.json.messages.map((message: { keys: string[] }) => message.keys)).toEqual([["order-42", "order-43"]]);
  });

  test("a send to a topic that does not exist creates it with the default queues", async () => {
    const h = await startHttpBroker();
    expect((await h.call("POST", "/api/v1/topics/born/messages", { body: "x" })).status).toBe(200);
    expect((await h.call("GET", "/api/v1/topics/born")).json.writeQueues).toBe(4);
  });

  test("lookups by id and by key find what a send stored", async () => {
    const h = await startHttpBroker();
    const sent = (await h.call("POST", "/api/v1/topics/found/messages", { body: "hello", keys: ["order-7"] })).json;
    for (const id of [sent.msgId, sent.offsetMsgId]) {
      const byId = await h.call("GET", `/api/v1/messages/${id}`);
      expect({ id, status: byId.status, body: byId.json.body }).toEqual({ id, status: 200, body: "hello" });
    }
    const byKey = await h.call("GET", "/api/v1/messages?topic=found&key=order-7");
    expect(byKey.json.messages.map((message: { msgId: string }) => message.msgId)).toEqual([sent.msgId]);
  });
});
