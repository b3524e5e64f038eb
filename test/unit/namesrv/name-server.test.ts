/**
 * NameServer on a ManualClock: the expiry scan, and the in-process seam a co-located broker
 * registers through (bus events, answered synchronously).
 */

import { afterEach, describe, expect, test } from "bun:test";
import { InProcessNamesrvLink } from "../../../src/broker/namesrv-link.ts";
import { EventBus } from "../../../src/common/bus.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { isMqError } from "../../../src/common/errors.ts";
import { NameServer } from "../../../src/namesrv/name-server.ts";
import { Server } from "../../../src/net/server.ts";
import type { BrokerRegistration, NamesrvBusEvents } from "../../../src/protocol/broker-registration.ts";

const started: NameServer[] = [];
afterEach(async () => {
  for (const nameServer of started.splice(0)) await nameServer.stop();
});

async function startNameServer(clock: ManualClock, bus: EventBus<NamesrvBusEvents>): Promise<NameServer> {
  const server = await Server.listen({ host: "127.0.0.1", port: 0, clock, idleTimeoutMs: 0 });
  const nameServer = NameServer.start({ server, bus, clock, scanIntervalMs: 10_000, brokerExpiryMs: 120_000 });
  started.push(nameServer);
  return nameServer;
}

const registration: BrokerRegistration = {
  clusterName: "DefaultCluster",
  brokerName: "broker-a",
  brokerId: 0,
  brokerAddr: "10.0.0.1:10911",
  version: "1.0.0",
  dataVersion: 1,
  topicConfigs: [{ topic: "Orders", readQueues: 4, writeQueues: 4, perm: 6, order: false }],
};

describe("NameServer: expiry scan", () => {
  test("drops a silent broker at the first scan after brokerExpiryMs, and announces it on the bus", async () => {
    const clock = new ManualClock(0);
    const bus = new EventBus<NamesrvBusEvents>();
    const expired: string[] = [];
    bus.on("broker.expired", (broker) => expired.push(`${broker.brokerName}:${broker.reason}`));
    const nameServer = await startNameServer(clock, bus);
    new InProcessNamesrvLink(bus).register(registration);
    clock.advance(120_000 - 1);
    expect(nameServer.table.route("Orders")).toBeDefined();
    clock.advance(1); // 120 s is a scan tick (every 10 s) and exactly the expiry
    expect(nameServer.table.route("Orders")).toBeUndefined();
    expect(expired).toEqual(["broker-a:expired"]);
  });

  test("keeps a broker that heartbeats every 30 s for as long as it does", async () => {
    const clock = new ManualClock(0);
    const bus = new EventBus<NamesrvBusEvents>();
    const nameServer = await startNameServer(clock, bus);
    const link = new InProcessNamesrvLink(bus);
    for (let beat = 0; beat < 20; beat++) {
      link.register(registration);
      clock.advance(30_000);
    }
    expect(nameServer.table.clusterInfo().brokers.map((broker) => broker.brokerName)).toEqual(["broker-a"]);
  });

  test("stops scanning when stopped", async () => {
    const clock = new ManualClock(0);
    const bus = new EventBus<NamesrvBusEvents>();
    const nameServer = await startNameServer(clock, bus);
    new InProcessNamesrvLink(bus).register(registration);
    await nameServer.stop();
    clock.advance(600_000);
    expect(nameServer.table.brokerCount).toBe(1);
  });
});

describe("NameServer: in-process registration", () => {
  test("a registration on the bus is applied before emit returns, and echoed as broker.registered", async () => {
    const clock = new ManualClock(0);
    const bus = new EventBus<NamesrvBusEvents>();
    const outcomes: boolean[] = [];
    bus.on("broker.registered", (outcome) => outcomes.push(outcome.changed));
    const nameServer = await startNameServer(clock, bus);
    const link = new InProcessNamesrvLink(bus);
    link.register(registration);
    expect(nameServer.table.route("Orders")?.brokerDatas[0]?.brokerAddrs).toEqual({ "0": "10.0.0.1:10911" });
    link.register(registration);
    expect(outcomes).toEqual([true, false]);
    link.unregister(registration);
    expect(nameServer.table.brokerCount).toBe(0);
  });

  test("without a NameServer on the bus, registering fails with NAMESRV_UNAVAILABLE", () => {
    const link = new InProcessNamesrvLink(new EventBus<NamesrvBusEvents>());
    let failure: unknown;
    try {
      link.register(registration);
    } catch (error) {
      failure = error;
    }
    expect(isMqError(failure, "NAMESRV_UNAVAILABLE")).toBe(true);
  });

  test("after the NameServer stops, registering fails: it no longer listens on the bus", async () => {
    const bus = new EventBus<NamesrvBusEvents>();
    const nameServer = await startNameServer(new ManualClock(0), bus);
    await nameServer.stop();
    expect(() => new InProcessNamesrvLink(bus).register(registration)).toThrow(/NameServer/);
  });
});
