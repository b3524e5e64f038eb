/**
 * The REST API of an http-only `mq start` (no broker in the process) serving brokers elsewhere
 * through the SDK: against a NameServer and a broker running as real processes (`--role http
 * --namesrv`), with the NameServer in the HTTP process (`--role namesrv,http`), and against one
 * standalone broker (`--role http --broker`). The HTTP server runs in this process (startServer),
 * so a failing assertion shows the REST answer, not a child's log.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/common/logger.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { type RunningServer, startServer } from "../../../src/server.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { startBrokerProcess, startNamesrvProcess, stopClusterProcesses } from "../../helpers/cluster.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

afterAll(stopClusterProcesses);

interface Rest {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

async function startHttpOnly(flags: Record<string, unknown>): Promise<{ server: RunningServer; rest: Rest }> {
  const config = loadConfig({ flags: { httpPort: 0, listen: "127.0.0.1", logLevel: "silent", ...flags } });
  const server = await startServer(config, silentLogger);
  const url = `http://127.0.0.1:${server.httpPort}`;
  const rest: Rest = {
    async call(method, path, body) {
      const response = await fetch(url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": "application/json" } });
      const text = await response.text();
      return { status: response.status, json: text.length > 0 ? JSON.parse(text) : undefined };
    },
  };
  return { server, rest };
}

/** The REST walk-through every backend must pass: topic, send, lookups, browse, receive + ack, lag. */
async function walkThrough(rest: Rest, topic: string): Promise<void> {
  const created = await rest.call("POST", "/api/v1/topics", { topic, queues: 2 });
  expect(created.status).toBe(201);
  expect([created.json.readQueues, created.json.writeQueues]).toEqual([2, 2]);
  expect(created.json.route.brokers.length).toBeGreaterThan(0);
  expect((await rest.call("GET", "/api/v1/topics")).json.topics.map((config: { topic: string }) => config.topic)).toContain(topic);

  const one = await rest.call("POST", `/api/v1/topics/${topic}/messages`, { body: "hello", tags: "created", keys: ["order-1"] });
  expect(one.status).toBe(200);
  expect(one.json.msgId).toMatch(/^[0-9A-F]{32}$/);
  const batch = await rest.call("POST", `/api/v1/topics/${topic}/messages`, [{ body: "b1" }, { body: "b2", shardingKey: "s" }, { body: "b3" }]);
  expect(batch.status).toBe(200);
  expect(batch.json.length).toBe(3);

  const byMsgId = await rest.call("GET", `/api/v1/messages/${one.json.msgId}`);
  expect([byMsgId.status, byMsgId.json.body, byMsgId.json.tags, byMsgId.json.keys]).toEqual([200, "hello", "created", ["order-1"]]);
  expect((await rest.call("GET", `/api/v1/messages/${one.json.offsetMsgId}`)).json.msgId).toBe(one.json.msgId);
  const byKey = await rest.call("GET", `/api/v1/messages?topic=${topic}&key=order-1`);
  expect(byKey.json.messages.map((message: { body: string }) => message.body)).toEqual(["hello"]);
  const browsed = await rest.call("GET", `/api/v1/topics/${topic}/queues/${one.json.queueId}/messages`);
  expect(browsed.json.messages.map((message: { body: string }) => message.body)).toContain("hello");

  const received = await rest.call("POST", "/api/v1/groups/billing/receive", { topic, max: 10 });
  expect(received.status).toBe(200);
  expect(received.json.messages.map((message: { body: string }) => message.body).sort()).toEqual(["b1", "b2", "b3", "hello"]);
  const inFlight = await rest.call("GET", "/api/v1/groups/billing");
  expect([inFlight.json.totalLag, inFlight.json.inFlight]).toEqual([4, 4]);
  expect((await rest.call("POST", "/api/v1/groups/billing/receive", { topic })).json.messages).toEqual([]);
  const handles = received.json.messages.map((message: { receiptHandle: string }) => message.receiptHandle);
  expect((await rest.call("POST", "/api/v1/groups/billing/ack", { receiptHandles: handles })).json).toEqual({ acked: 4, failed: [] });
  const settled = await rest.call("GET", "/api/v1/groups/billing");
  expect([settled.json.totalLag, settled.json.inFlight]).toEqual([0, 0]);
  expect((await rest.call("GET", "/api/v1/groups")).json.groups.map((group: { group: string }) => group.group)).toContain("billing");

  const reset = await rest.call("POST", "/api/v1/groups/billing/offsets/reset", { topic, to: "first" });
  expect(reset.status).toBe(200);
  expect((await rest.call("GET", "/api/v1/groups/billing")).json.totalLag).toBe(4);

  const unknown = await rest.call("GET", "/api/v1/topics/NoSuchTopic");
  expect([unknown.status, unknown.json.code]).toEqual([404, 2001]);
  const badHandle = await rest.call("POST", "/api/v1/groups/billing/ack", { receiptHandles: ["nonsense"] });
  expect([badHandle.status, badHandle.json.code]).toEqual([400, 4004]);
  const deleted = await rest.call("DELETE", `/api/v1/topics/${topic}`);
  expect(deleted.json).toEqual({ deleted: topic });
}

describe("REST without a local broker: through the SDK", () => {
  test("--role http --namesrv serves the cluster of a NameServer and a broker running as processes", async () => {
    const namesrv = await startNamesrvProcess();
    const broker = await startBrokerProcess({ namesrv: namesrv.address, brokerName: "broker-a" });
    await broker.waitReady();
    const { server, rest } = await startHttpOnly({ role: "http", namesrv: namesrv.address });
    try {
      expect(server.store).toBeUndefined();
      const cluster = await rest.call("GET", "/api/v1/cluster");
      expect(cluster.json.source).toBe("namesrv");
      expect(cluster.json.brokers.map((entry: { brokerName: string }) => entry.brokerName)).toEqual(["broker-a"]);
      const ready = await rest.call("GET", "/ready");
      expect(ready.json.checks.find((check: { name: string }) => check.name === "backend")?.ok).toBe(true);
      await walkThrough(rest, "orders");
    } finally {
      await server.stop();
      await broker.stop();
      await namesrv.stop();
    }
  }, 60_000);

  test("--role namesrv,http serves the cluster that registers with the NameServer in the same process", async () => {
    const { server, rest } = await startHttpOnly({ role: "namesrv,http", port: 0 });
    const broker = await startBrokerProcess({ namesrv: `127.0.0.1:${server.namesrvPort}`, brokerName: "broker-b" });
    try {
      await broker.waitReady();
      await walkThrough(rest, "payments");
    } finally {
      await broker.stop();
      await server.stop();
    }
  }, 60_000);

  test("--role http --broker serves one standalone broker; a receive over REST and an ack by its handle settle on that broker", async () => {
    const broker = await startTestBroker();
    const { server, rest } = await startHttpOnly({ role: "http", broker: broker.address });
    try {
      expect((await rest.call("GET", "/api/v1/cluster")).json).toMatchObject({ source: "broker", brokers: [{ brokerAddr: broker.address }] });
      await walkThrough(rest, "single");
    } finally {
      await server.stop();
    }
  });

  test("a send to a topic that does not exist creates it on the broker, as through the in-process backend", async () => {
    const broker = await startTestBroker();
    const { server, rest } = await startHttpOnly({ role: "http", broker: broker.address });
    try {
      const sent = await rest.call("POST", "/api/v1/topics/BornOverRest/messages", { body: "first" });
      expect(sent.status).toBe(200);
      expect(broker.broker.context.topics.get("BornOverRest")?.writeQueues).toBe(4);
      const refused = await rest.call("POST", "/api/v1/topics/BornOverRest/messages", { body: "x", properties: { DELAY: "3" } });
      expect([refused.status, refused.json.code]).toEqual([400, 3008]);
    } finally {
      await server.stop();
    }
  });

  test("with nothing to serve (--role http alone) the API answers 503 saying how to point it at brokers", async () => {
    const alone = await startHttpOnly({ role: "http", port: 0, dataDir: makeTempDir("mq-http-only-"), commitLogFileBytes: 16 * 1024 * 1024 });
    try {
      const answer = await alone.rest.call("GET", "/api/v1/topics");
      expect([answer.status, answer.json.code]).toEqual([503, 5006]);
      expect(answer.json.error).toContain("--namesrv or --broker");
    } finally {
      await alone.server.stop();
    }
  });
});
