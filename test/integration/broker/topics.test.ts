import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { systemTopics } from "../../../src/common/system-topics.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, pull, rejection, send, text } from "./helpers.ts";

afterAll(removeTempDirs);

describe("Broker: topics", () => {
  test("CREATE_TOPIC stores the settings; GET_TOPIC and LIST_TOPICS report them", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const created = await call(client, RequestCode.CREATE_TOPIC, { topic: "orders", readQueues: 8, writeQueues: 8, order: true });
    expect(created).toMatchObject({ topic: "orders", readQueues: 8, writeQueues: 8, perm: 6, order: true });
    await send(client, "orders", "x", { queueId: 3 });
    const detail = await call(client, RequestCode.GET_TOPIC, { topic: "orders" });
    expect(detail).toMatchObject({ topic: "orders", readQueues: 8, perm: 6, order: true });
    expect((detail.queues as unknown[]).length).toBe(8);
    expect((detail.queues as { queueId: number; minOffset: number; maxOffset: number }[])[3]).toEqual({ queueId: 3, minOffset: 0, maxOffset: 1 });
    const list = await call(client, RequestCode.LIST_TOPICS, {});
    // The trace topic appears once the broker has written the send's stored hop.
    expect((list.topics as { topic: string }[]).map((topic) => topic.topic).filter((topic) => topic !== systemTopics.trace)).toEqual(["orders"]);
  });

  test("CREATE_TOPIC of an existing topic is TOPIC_EXISTS; UPDATE_TOPIC changes it in place", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "t", readQueues: 2, writeQueues: 2 });
    expect((await rejection(call(client, RequestCode.CREATE_TOPIC, { topic: "t", readQueues: 2, writeQueues: 2 }))).errorName).toBe("TOPIC_EXISTS");
    await call(client, RequestCode.UPDATE_TOPIC, { topic: "t", readQueues: 6, writeQueues: 6, perm: 4 });
    expect(await call(client, RequestCode.GET_TOPIC, { topic: "t" })).toMatchObject({ readQueues: 6, writeQueues: 6, perm: 4 });
  });

  test("DELETE_TOPIC forgets the topic; GET_TOPIC is then TOPIC_NOT_FOUND", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "gone", "x");
    await call(client, RequestCode.DELETE_TOPIC, { topic: "gone" });
    const error = await rejection(call(client, RequestCode.GET_TOPIC, { topic: "gone" }));
    expect(error.errorName).toBe("TOPIC_NOT_FOUND");
    expect(error.message).toBe('Cannot find topic "gone"');
    expect((await rejection(call(client, RequestCode.DELETE_TOPIC, { topic: "gone" }))).errorName).toBe("TOPIC_NOT_FOUND");
  });

  test("a send to an unknown topic creates it with the default 4 queues", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "fresh", "x");
    expect(await call(client, RequestCode.GET_TOPIC, { topic: "fresh" })).toMatchObject({ readQueues: 4, writeQueues: 4, perm: 6, order: false });
  });

  test("with autoCreateTopics off a send to an unknown topic is TOPIC_NOT_FOUND", async () => {
    const broker = await startTestBroker({ config: { autoCreateTopics: false } });
    const client = await connectTo(broker);
    expect((await rejection(send(client, "fresh", "x"))).errorName).toBe("TOPIC_NOT_FOUND");
  });

  test("a send to a topic without write permission is TOPIC_NOT_WRITABLE, a pull without read TOPIC_NOT_READABLE", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "readonly", readQueues: 1, writeQueues: 1, perm: 4 });
    const sendError = await rejection(send(client, "readonly", "x"));
    expect(sendError.errorName).toBe("TOPIC_NOT_WRITABLE");
    expect(sendError.message).toBe('Cannot write to topic "readonly": its permission is R-- (4)');
    await call(client, RequestCode.CREATE_TOPIC, { topic: "writeonly", readQueues: 1, writeQueues: 1, perm: 2 });
    await send(client, "writeonly", "x");
    expect((await rejection(pull(client, "writeonly"))).errorName).toBe("TOPIC_NOT_READABLE");
  });

  test("a send to a queue past the topic's write queues is QUEUE_NOT_FOUND", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "small", readQueues: 2, writeQueues: 2 });
    const error = await rejection(send(client, "small", "x", { queueId: 2 }));
    expect(error.errorName).toBe("QUEUE_NOT_FOUND");
    expect(error.message).toBe('Cannot find queue 2 of topic "small": it has 2 queues');
  });

  test("topics survive a restart, persisted in config/topics.json", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "kept", readQueues: 3, writeQueues: 3, perm: 6 });
    await broker.restart();
    expect(existsSync(join(broker.dataDir, "config", "topics.json"))).toBe(true);
    expect(JSON.parse(readFileSync(join(broker.dataDir, "config", "topics.json"), "utf8")).topics[0].topic).toBe("kept");
    const again = await connectTo(broker);
    expect(await call(again, RequestCode.GET_TOPIC, { topic: "kept" })).toMatchObject({ readQueues: 3, writeQueues: 3 });
  });
});

describe("Broker: topics across restarts and limits", () => {
  test("a deleted topic stays deleted after a restart, though recovery replays its records", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "gone", "old-1");
    await send(client, "gone", "old-2");
    await call(client, RequestCode.DELETE_TOPIC, { topic: "gone" });
    await broker.restart();
    const again = await connectTo(broker);
    expect((await rejection(call(again, RequestCode.GET_TOPIC, { topic: "gone" }))).errorName).toBe("TOPIC_NOT_FOUND");
    // No topic is left: plain sends give the broker no trace hop to write (their stored hop is built at query time).
    expect(((await call(again, RequestCode.LIST_TOPICS, {})).topics as { topic: string }[]).map((config) => config.topic)).toEqual([]);
    expect(broker.store.topics().map((info) => info.topic)).toEqual([]);
  });

  test("a topic deleted and created again shows none of the old messages, before and after a restart", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "again", "old-1");
    await send(client, "again", "old-2");
    await call(client, RequestCode.DELETE_TOPIC, { topic: "again" });
    await send(client, "again", "new-1");
    const bodies = async (connection: Awaited<ReturnType<typeof connectTo>>) => (await pull(connection, "again", { maxMessages: 16 })).messages.map((message) => text(message.body));
    expect(await bodies(client)).toEqual(["new-1"]);
    await broker.restart();
    const again = await connectTo(broker);
    expect(await bodies(again)).toEqual(["new-1"]);
    expect(await call(again, RequestCode.GET_TOPIC, { topic: "again" })).toMatchObject({ readQueues: 4, writeQueues: 4 });
  });

  test("a topic whose settings were never written is adopted from the store at start", async () => {
    // No trace writer: its trace topic, made after the send, would write the table again at stop.
    const broker = await startTestBroker({ config: { traceEnabled: false } });
    const client = await connectTo(broker);
    await send(client, "kept", "x", { queueId: 2 });
    await broker.broker.context.topics.flush();
    // A crash before the table is written: the table lacks the topic, the CommitLog holds it.
    rmSync(join(broker.dataDir, "config", "topics.json"));
    await broker.restart();
    const again = await connectTo(broker);
    expect(await call(again, RequestCode.GET_TOPIC, { topic: "kept" })).toMatchObject({ readQueues: 3, writeQueues: 3 });
  });

  test("past topicsMax a create or an auto-create is TOPIC_LIMIT_REACHED; deleting one makes room", async () => {
    // No trace writer: its trace topic would take one of the two places.
    const broker = await startTestBroker({ config: { topicsMax: 2, traceEnabled: false } });
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "a", readQueues: 1, writeQueues: 1 });
    await send(client, "b", "x");
    const created = await rejection(call(client, RequestCode.CREATE_TOPIC, { topic: "c", readQueues: 1, writeQueues: 1 }));
    expect(created.errorName).toBe("TOPIC_LIMIT_REACHED");
    expect(created.message).toBe('Cannot create topic "c": the broker holds 2 topics, limit is 2');
    expect((await rejection(send(client, "c", "x"))).errorName).toBe("TOPIC_LIMIT_REACHED");
    await call(client, RequestCode.UPDATE_TOPIC, { topic: "a", readQueues: 2, writeQueues: 2 });
    await call(client, RequestCode.DELETE_TOPIC, { topic: "a" });
    await send(client, "c", "x");
  });
});
