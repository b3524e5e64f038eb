import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { spawnBrokerProcess, startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, pull, send, text, waitFor } from "./helpers.ts";

afterAll(removeTempDirs);

const query = (client: Parameters<typeof call>[0], queueId = 0, group = "g") => call(client, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic: "t", queueId });

describe("Broker: consumer offsets", () => {
  test("QUERY_CONSUMER_OFFSET is -1 before any commit, then what UPDATE_CONSUMER_OFFSET stored", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "x");
    expect(await query(client)).toMatchObject({ queueOffset: -1 });
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 1 });
    expect(await query(client)).toMatchObject({ queueOffset: 1 });
    expect(await query(client, 0, "other")).toMatchObject({ queueOffset: -1 });
  });

  test("a pull's commitOffset is stored like UPDATE_CONSUMER_OFFSET", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "x");
    await pull(client, "t", { group: "g", queueOffset: 1, commitOffset: 1 });
    expect(await query(client)).toMatchObject({ queueOffset: 1 });
  });

  test("offsets are written every offsetPersistIntervalMs (injected clock) and survive a restart", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, config: { offsetPersistIntervalMs: 5_000 } });
    const client = await connectTo(broker);
    await send(client, "t", "x");
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 1 });
    const path = join(broker.dataDir, "config", "consumerOffsets.json");
    clock.advance(5_000);
    await waitFor("the offsets file", () => {
      try {
        return JSON.parse(readFileSync(path, "utf8")).offsets["t@g"]["0"] === 1;
      } catch {
        return false;
      }
    });
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 2 });
    await broker.restart(); // a clean stop writes the latest offsets
    const again = await connectTo(broker);
    expect(await query(again)).toMatchObject({ queueOffset: 2 });
  });

  test("RESET_OFFSET moves every queue to first, last or a time and tells the group's clients", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "t", readQueues: 2, writeQueues: 2 });
    await send(client, "t", "a", { queueId: 0 });
    await send(client, "t", "b", { queueId: 0 });
    await send(client, "t", "c", { queueId: 1 });
    const resets: unknown[] = [];
    client.handle(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (request) => void resets.push(request.fields));
    await call(client, RequestCode.HEARTBEAT, { clientId: "c1", consumers: [{ consumerGroup: "g", consumeType: "push", messageModel: "clustering", consumeFromWhere: "last", subscriptions: [{ topic: "t", expressionType: "TAG", expression: "*" }] }] });
    const last = await call(client, RequestCode.RESET_OFFSET, { consumerGroup: "g", topic: "t", to: "last" });
    expect(last.queues).toEqual([{ topic: "t", queueId: 0, queueOffset: 2 }, { topic: "t", queueId: 1, queueOffset: 1 }]);
    expect(await query(client, 0)).toMatchObject({ queueOffset: 2 });
    await waitFor("the reset notice", () => resets.length === 1);
    expect(resets[0]).toEqual({ consumerGroup: "g", topic: "t", queues: [{ queueId: 0, queueOffset: 2 }, { queueId: 1, queueOffset: 1 }] });
    await call(client, RequestCode.RESET_OFFSET, { consumerGroup: "g", topic: "t", to: "first" });
    expect(await query(client, 1)).toMatchObject({ queueOffset: 0 });
    await call(client, RequestCode.RESET_OFFSET, { consumerGroup: "g", topic: "t", timestampMs: Date.now() + 60_000 });
    expect(await query(client, 0)).toMatchObject({ queueOffset: 2 });
    await call(client, RequestCode.RESET_OFFSET, { consumerGroup: "g", topic: "t", timestampMs: 0 });
    expect(await query(client, 0)).toMatchObject({ queueOffset: 0 });
  });
});

describe("Broker: a separate process", () => {
  test("offsets and messages survive SIGTERM and a restart on the same data dir", async () => {
    const first = await spawnBrokerProcess();
    let client = await connectTo(first);
    for (let index = 0; index < 10; index++) await send(client, "t", `m${index}`);
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 7 });
    client.destroy();
    expect(await first.stop()).toBe(0);
    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    client = await connectTo(second);
    expect(await query(client)).toMatchObject({ queueOffset: 7 });
    const pulled = await pull(client, "t", { queueOffset: 7 });
    expect(pulled.messages.map((message) => text(message.body))).toEqual(["m7", "m8", "m9"]);
  });

  test("after kill -9 every acknowledged message and the last persisted offsets are back", async () => {
    const first = await spawnBrokerProcess({ env: { MQ_OFFSET_PERSIST_INTERVAL_MS: "100" } });
    let client = await connectTo(first);
    for (let index = 0; index < 20; index++) await send(client, "t", `m${index}`);
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 12 });
    const path = join(first.dataDir, "config", "consumerOffsets.json");
    await waitFor("the offsets to be persisted", () => {
      try {
        return JSON.parse(readFileSync(path, "utf8")).offsets["t@g"]["0"] === 12;
      } catch {
        return false;
      }
    });
    client.destroy();
    await first.kill();
    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    client = await connectTo(second);
    expect(await query(client)).toMatchObject({ queueOffset: 12 });
    expect((await pull(client, "t", { maxMessages: 100 })).messages.length).toBe(20);
  });
});
