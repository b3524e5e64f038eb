/**
 * Brokers registering with NameServers, through `startServer` as `mq start` runs it: at start,
 * on topic changes and on every heartbeat, with every NameServer; retried after a NameServer
 * comes back; unregistered on shutdown; in role all through the bus, never over TCP to itself.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/common/logger.ts";
import type { MqConfigInput } from "../../../src/config/config-schema.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { readResult } from "../../../src/protocol/response-body.ts";
import { topicRouteSchema } from "../../../src/protocol/responses.ts";
import { type RunningServer, startServer } from "../../../src/server.ts";
import { freePort, stopClusterProcesses } from "../../helpers/cluster.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { connectTo, onCleanup, startNameServer, waitFor } from "./helpers.ts";

afterAll(stopClusterProcesses);

afterAll(removeTempDirs);

async function startMq(flags: Record<string, unknown>): Promise<RunningServer> {
  const config = loadConfig({
    flags: {
      dataDir: makeTempDir("mq-registration-"),
      port: 0,
      httpPort: 0,
      haPort: 0,
      listen: "127.0.0.1",
      commitLogFileBytes: 16 * 1024 * 1024,
      consumeQueueEntriesPerFile: 4096,
      brokerHeartbeatIntervalMs: 100,
      brokerExpiryMs: 60_000,
      ...flags,
    } satisfies Partial<Record<keyof MqConfigInput, unknown>>,
  });
  const running = await startServer(config, silentLogger);
  onCleanup(() => running.stop());
  return running;
}

async function createTopic(brokerPort: number, topic: string): Promise<void> {
  const connection = await connectTo(brokerPort);
  await connection.request({ code: RequestCode.CREATE_TOPIC, fields: { topic, readQueues: 2, writeQueues: 2 } });
}

describe("Broker registration: with NameServers over TCP", () => {
  test("registers with every NameServer at start, with its identity, address and topics", async () => {
    const first = await startNameServer();
    const second = await startNameServer();
    const running = await startMq({ role: "broker", namesrv: `${first.address};${second.address}`, brokerName: "broker-x", clusterName: "c1" });
    for (const namesrv of [first, second]) {
      await waitFor(`registration with ${namesrv.address}`, () => namesrv.nameServer.table.brokerCount === 1);
      expect(namesrv.nameServer.table.clusterInfo().brokers[0]).toMatchObject({ clusterName: "c1", brokerName: "broker-x", brokerId: 0, brokerAddr: running.brokerAddr });
    }
    // The NameServer applies a registration before the broker reads the answer.
    await waitFor("the broker to see both answers", () => running.broker?.registrar?.registeredCount === 2);
  });

  test("re-registers as soon as a topic is created, so the topic gets a route", async () => {
    const namesrv = await startNameServer();
    const running = await startMq({ role: "broker", namesrv: namesrv.address, brokerHeartbeatIntervalMs: 30_000 });
    await waitFor("first registration", () => namesrv.nameServer.table.brokerCount === 1);
    await createTopic(running.brokerPort!, "Orders");
    await waitFor("a route for Orders", () => namesrv.nameServer.table.route("Orders") !== undefined);
    expect(namesrv.nameServer.table.route("Orders")?.queueDatas).toEqual([{ brokerName: "broker-a", readQueues: 2, writeQueues: 2, perm: 6, order: false }]);
  });

  test("heartbeats every brokerHeartbeatIntervalMs with an unchanged dataVersion", async () => {
    const namesrv = await startNameServer();
    await startMq({ role: "broker", namesrv: namesrv.address, brokerHeartbeatIntervalMs: 100 });
    await waitFor("three heartbeats after the first registration", () => namesrv.registrations.filter((entry) => entry === "broker-a:false").length >= 3);
    expect(namesrv.registrations[0]).toBe("broker-a:true");
  });

  test("a NameServer that is down does not hold up start; the broker registers once it is up", async () => {
    const port = freePort();
    const running = await startMq({ role: "broker", namesrv: `127.0.0.1:${port}` });
    expect(running.broker?.registrar?.registeredCount).toBe(0);
    await createTopic(running.brokerPort!, "Orders");
    const namesrv = await startNameServer({ port });
    await waitFor("registration on the next beat", () => namesrv.nameServer.table.route("Orders") !== undefined);
    await waitFor("the broker to see the answer", () => running.broker?.registrar?.registeredCount === 1);
  });

  test("re-registers all topics with a NameServer that restarted empty", async () => {
    const first = await startNameServer();
    const running = await startMq({ role: "broker", namesrv: first.address });
    await createTopic(running.brokerPort!, "Orders");
    await waitFor("a route for Orders", () => first.nameServer.table.route("Orders") !== undefined);
    await first.nameServer.stop();
    const restarted = await startNameServer({ port: first.port });
    await waitFor("a route for Orders after the restart", () => restarted.nameServer.table.route("Orders") !== undefined);
  });

  test("unregisters on graceful shutdown: routes are gone before the expiry", async () => {
    const namesrv = await startNameServer({ brokerExpiryMs: 60_000 });
    const running = await startMq({ role: "broker", namesrv: namesrv.address });
    await createTopic(running.brokerPort!, "Orders");
    await waitFor("a route for Orders", () => namesrv.nameServer.table.route("Orders") !== undefined);
    await running.stop();
    expect(namesrv.nameServer.table.brokerCount).toBe(0);
    expect(namesrv.nameServer.table.route("Orders")).toBeUndefined();
  });

  test("a broker killed without unregistering drops out after the expiry", async () => {
    const namesrv = await startNameServer({ brokerExpiryMs: 500, scanIntervalMs: 50 });
    const connection = await connectTo(namesrv.port);
    await connection.request({ code: RequestCode.REGISTER_BROKER, fields: { clusterName: "DefaultCluster", brokerName: "gone", brokerId: 0, brokerAddr: "127.0.0.1:1", dataVersion: 1 } });
    expect(namesrv.nameServer.table.brokerCount).toBe(1);
    await waitFor("the silent broker to expire", () => namesrv.nameServer.table.brokerCount === 0);
  });

  test("/ready answers 503 until the broker is registered with at least one NameServer", async () => {
    const port = freePort();
    const running = await startMq({ role: "broker,http", namesrv: `127.0.0.1:${port}` });
    const ready = async () => {
      const response = await fetch(`http://127.0.0.1:${running.httpPort}/ready`);
      return { status: response.status, body: (await response.json()) as { checks: { name: string; ok: boolean; detail: string }[] } };
    };
    const before = await ready();
    expect(before.status).toBe(503);
    expect(before.body.checks.find((check) => check.name === "registration")).toMatchObject({ ok: false });
    await startNameServer({ port });
    await waitFor("/ready to answer 200", async () => (await ready()).status === 200);
  });
});

describe("Broker registration: role all", () => {
  test("registers with the NameServer in its own process through the bus, never over TCP", async () => {
    const running = await startMq({});
    const nameServer = running.nameServer!;
    // In-process registration is synchronous: the broker is in the table as soon as start resolves.
    expect(nameServer.table.clusterInfo().brokers.map((broker) => broker.brokerAddr)).toEqual([running.brokerAddr!]);
    await createTopic(running.brokerPort!, "Orders");
    expect(nameServer.table.route("Orders")?.queueDatas.map((queueData) => queueData.brokerName)).toEqual(["broker-a"]);
    expect(running.broker?.registrar?.status().map((link) => link.name)).toEqual(["in-process"]);
    expect(nameServer.connectionCount).toBe(0);
  });

  test("the local NameServer listens for outside clients and serves the broker's routes", async () => {
    const running = await startMq({});
    await createTopic(running.brokerPort!, "Orders");
    const client = await connectTo(running.namesrvPort!);
    const route = topicRouteSchema.parse(readResult(await client.request({ code: RequestCode.GET_ROUTE, fields: { topic: "Orders" } })));
    expect(route.brokerDatas[0]?.brokerAddrs).toEqual({ "0": running.brokerAddr! });
    const ready = (await (await fetch(`http://127.0.0.1:${running.httpPort}/ready`)).json()) as { status: string; checks: { name: string; ok: boolean }[] };
    expect(ready.status).toBe("ready");
    expect(ready.checks.map((check) => check.name)).toEqual(["store", "flush", "disk", "broker", "registration", "namesrv"]);
  });

  test("also registers over TCP with extra --namesrv addresses, but not with its own NameServer's address", async () => {
    const remote = await startNameServer();
    const namesrvPort = freePort();
    const running = await startMq({ namesrvPort, namesrv: `${remote.address};127.0.0.1:${namesrvPort}` });
    expect(running.broker?.registrar?.status().map((link) => link.name)).toEqual(["in-process", remote.address]);
    await waitFor("registration with the remote NameServer", () => remote.nameServer.table.brokerCount === 1);
    expect(running.nameServer?.connectionCount).toBe(0);
  });

  test("unregisters from its own NameServer on shutdown before that NameServer stops", async () => {
    const running = await startMq({});
    const nameServer = running.nameServer!;
    await running.stop();
    expect(nameServer.table.brokerCount).toBe(0);
  });
});
