/**
 * REST receive with `"sql"`: through the in-process broker (PopService) and through the SDK of
 * an http-only server; a bad expression is a 400 with code 1020 naming line and column; a
 * receive over a backlog that matches nothing answers at once and the next one continues past it.
 */

import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/common/logger.ts";
import { filterScanEntriesPerRequestMax } from "../../../src/common/limits.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { startServer } from "../../../src/server.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { startHttpBroker } from "./helpers.ts";

interface Rest {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

const orders = [
  { body: "o1", properties: { region: "eu", price: "12.5" } },
  { body: "o2", properties: { region: "us", price: "40" } },
  { body: "o3", properties: { region: "eu", price: "31" } },
  { body: "o4", properties: { region: "eu", price: "n/a" } },
  { body: "o5" },
];

async function filteredReceive(rest: Rest, topic: string): Promise<void> {
  expect((await rest.call("POST", `/api/v1/topics/${topic}/messages`, orders)).status).toBe(200);
  const received = await rest.call("POST", "/api/v1/groups/billing/receive", { topic, max: 10, sql: "region = 'eu' AND price > 30" });
  expect(received.status).toBe(200);
  expect(received.json.messages.map((message: { body: string }) => message.body)).toEqual(["o3"]);
  const bad = await rest.call("POST", "/api/v1/groups/billing/receive", { topic, sql: "region = 'eu' AND\nprice >> 3" });
  expect([bad.status, bad.json.code]).toEqual([400, 1020]);
  expect(bad.json.error).toContain("at line 2, column 8");
  const both = await rest.call("POST", "/api/v1/groups/billing/receive", { topic, tags: "a", sql: "a = 1" });
  expect(both.status).toBe(400);
}

describe("REST: receive with a SQL92 filter", () => {
  test("through the in-process broker", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 });
    await filteredReceive(h, "orders");
  });

  test("through the SDK of an http-only server", async () => {
    const broker = await startTestBroker();
    const config = loadConfig({ flags: { httpPort: 0, listen: "127.0.0.1", logLevel: "silent", role: "http", broker: broker.address } });
    const server = await startServer(config, silentLogger);
    const url = `http://127.0.0.1:${server.httpPort}`;
    const rest: Rest = {
      async call(method, path, body) {
        const response = await fetch(url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": "application/json" } });
        const text = await response.text();
        return { status: response.status, json: text.length > 0 ? JSON.parse(text) : undefined };
      },
    };
    try {
      expect((await rest.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 })).status).toBe(201);
      await filteredReceive(rest, "orders");
    } finally {
      await server.stop();
    }
  });

  test("a receive over a backlog that matches nothing answers at once; the next continues past it", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "big", queues: 1 });
    const backlog = filterScanEntriesPerRequestMax + 1_000;
    for (let sent = 0; sent < backlog; sent += 1_000) {
      const batch = Array.from({ length: 1_000 }, () => ({ body: "x", properties: { region: "us" } }));
      expect((await h.call("POST", "/api/v1/topics/big/messages", batch)).status).toBe(200);
    }
    expect((await h.call("POST", "/api/v1/topics/big/messages", { body: "wanted", properties: { region: "eu" } })).status).toBe(200);
    const sql = "region = 'eu'";
    const first = await h.call("POST", "/api/v1/groups/g/receive", { topic: "big", sql, waitMs: 30_000 });
    expect(first.json.messages).toEqual([]);
    const second = await h.call("POST", "/api/v1/groups/g/receive", { topic: "big", sql, waitMs: 30_000 });
    expect(second.json.messages.map((message: { body: string }) => message.body)).toEqual(["wanted"]);
  });
});
