/**
 * RouteTable: registration, routes, cluster info and expiry, driven step by step on a
 * ManualClock. Every test checks the table's invariants after each step.
 */

import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { RouteTable } from "../../../src/namesrv/route-table.ts";
import type { BrokerRegistration, RegisteredTopicConfig } from "../../../src/protocol/broker-registration.ts";

const expiryMs = 120_000;

function setup() {
  const clock = new ManualClock(0);
  const table = new RouteTable({ clock, brokerExpiryMs: expiryMs });
  const step = <T>(action: () => T): T => {
    const result = action();
    table.checkInvariants();
    return result;
  };
  return { clock, table, step };
}

function topicConfig(topic: string, queues = 4, perm = 6): RegisteredTopicConfig {
  return { topic, readQueues: queues, writeQueues: queues, perm, order: false };
}

function registration(overrides: Partial<BrokerRegistration> & { brokerName: string }): BrokerRegistration {
  return {
    clusterName: "DefaultCluster",
    brokerId: 0,
    brokerAddr: `10.0.0.${overrides.brokerName === "broker-a" ? 1 : 2}:10911`,
    version: "1.0.0",
    dataVersion: 1,
    topicConfigs: [],
    ...overrides,
  };
}

describe("RouteTable: registration", () => {
  test("a registered broker's topics get routes naming its queues and address", () => {
    const { table, step } = setup();
    const result = step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders", 8)] })));
    expect(result).toEqual({ changed: true, joined: true });
    expect(table.route("Orders")).toEqual({
      topic: "Orders",
      queueDatas: [{ brokerName: "broker-a", readQueues: 8, writeQueues: 8, perm: 6, order: false }],
      brokerDatas: [{ clusterName: "DefaultCluster", brokerName: "broker-a", brokerAddrs: { "0": "10.0.0.1:10911" }, brokerRoles: { "0": "master" } }],
    });
  });

  test("an unknown topic has no route", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    expect(table.route("Nope")).toBeUndefined();
  });

  test("re-registering with the same dataVersion refreshes the heartbeat but does not re-apply the topics", () => {
    const { clock, table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 3, topicConfigs: [topicConfig("Orders")] })));
    clock.advance(20_000);
    // A stale table under the same version must be ignored: the version says nothing changed.
    const result = step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 3, topicConfigs: [] })));
    expect(result).toEqual({ changed: false, joined: false });
    expect(table.route("Orders")?.queueDatas).toHaveLength(1);
    expect(table.clusterInfo().brokers[0]?.lastHeartbeatAgeMs).toBe(0);
  });

  test("re-registering with a new dataVersion replaces the broker's topics", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 1, topicConfigs: [topicConfig("Orders", 4)] })));
    const result = step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 2, topicConfigs: [topicConfig("Orders", 16), topicConfig("Payments", 2)] })));
    expect(result.changed).toBe(true);
    expect(table.route("Orders")?.queueDatas[0]?.writeQueues).toBe(16);
    expect(table.route("Payments")?.queueDatas[0]?.writeQueues).toBe(2);
    expect(table.clusterInfo().brokers[0]?.topics).toBe(2);
  });

  test("a topic deleted on one broker stays routed to the other", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 1, topicConfigs: [topicConfig("Orders"), topicConfig("Payments")] })));
    step(() => table.register(registration({ brokerName: "broker-b", dataVersion: 1, topicConfigs: [topicConfig("Orders")] })));
    step(() => table.register(registration({ brokerName: "broker-a", dataVersion: 2, topicConfigs: [topicConfig("Payments")] })));
    expect(table.route("Orders")?.queueDatas.map((queueData) => queueData.brokerName)).toEqual(["broker-b"]);
    expect(table.route("Orders")?.brokerDatas.map((brokerData) => brokerData.brokerName)).toEqual(["broker-b"]);
    step(() => table.register(registration({ brokerName: "broker-b", dataVersion: 2, topicConfigs: [] })));
    expect(table.route("Orders")).toBeUndefined();
    expect(table.topics()).toEqual(["Payments"]);
  });

  test("a topic on two brokers merges into one route with both brokers' queues and addresses", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-b", topicConfigs: [topicConfig("Orders", 2, 4)] })));
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders", 4)] })));
    expect(table.route("Orders")).toEqual({
      topic: "Orders",
      queueDatas: [
        { brokerName: "broker-a", readQueues: 4, writeQueues: 4, perm: 6, order: false },
        { brokerName: "broker-b", readQueues: 2, writeQueues: 2, perm: 4, order: false },
      ],
      brokerDatas: [
        { clusterName: "DefaultCluster", brokerName: "broker-a", brokerAddrs: { "0": "10.0.0.1:10911" }, brokerRoles: { "0": "master" } },
        { clusterName: "DefaultCluster", brokerName: "broker-b", brokerAddrs: { "0": "10.0.0.2:10911" }, brokerRoles: { "0": "master" } },
      ],
    });
  });

  test("a slave joins its group's addresses; the master's table decides the queues", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders", 4)] })));
    step(() => table.register(registration({ brokerName: "broker-a", brokerId: 1, brokerAddr: "10.0.0.9:10911", dataVersion: 7, topicConfigs: [topicConfig("Orders", 1)] })));
    expect(table.route("Orders")?.queueDatas[0]?.writeQueues).toBe(4);
    expect(table.route("Orders")?.brokerDatas[0]?.brokerAddrs).toEqual({ "0": "10.0.0.1:10911", "1": "10.0.0.9:10911" });
  });

  test("routes and cluster info name each member's role: id 0 is the master, any other a slave", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    step(() => table.register(registration({ brokerName: "broker-a", brokerId: 2, brokerAddr: "10.0.0.9:10911", topicConfigs: [topicConfig("Orders")] })));
    expect(table.route("Orders")?.brokerDatas[0]?.brokerRoles).toEqual({ "0": "master", "2": "slave" });
    expect(table.clusterInfo().brokers.map((broker) => [broker.brokerId, broker.role])).toEqual([
      [0, "master"],
      [2, "slave"],
    ]);
  });

  test("cluster info carries each broker's store size and disk use as its last registration reported, and none for a broker that reports none", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", storeBytes: 1_000, diskUsedRatio: 0.25 })));
    step(() => table.register(registration({ brokerName: "broker-b" })));
    // A heartbeat with the same dataVersion still refreshes the figures.
    step(() => table.register(registration({ brokerName: "broker-a", storeBytes: 4_096, diskUsedRatio: 0.5 })));
    const brokers = table.clusterInfo().brokers;
    expect(brokers[0]).toMatchObject({ brokerName: "broker-a", storeBytes: 4_096, diskUsedRatio: 0.5 });
    expect(brokers[1]!.brokerName).toBe("broker-b");
    expect(brokers[1]!.storeBytes).toBeUndefined();
    expect(brokers[1]!.diskUsedRatio).toBeUndefined();
  });

  test("a broker id re-registering from a new address replaces the old address", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    step(() => table.register(registration({ brokerName: "broker-a", brokerAddr: "10.0.0.7:10911", topicConfigs: [topicConfig("Orders")] })));
    expect(table.route("Orders")?.brokerDatas[0]?.brokerAddrs).toEqual({ "0": "10.0.0.7:10911" });
    expect(table.clusterInfo().brokers.map((broker) => broker.brokerAddr)).toEqual(["10.0.0.7:10911"]);
  });
});

describe("RouteTable: cluster info", () => {
  test("lists every live broker with its identity, addresses, version, heartbeat age and topic count", () => {
    const { clock, table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-b", haAddr: "10.0.0.2:10912", topicConfigs: [topicConfig("Orders")] })));
    clock.advance(1_500);
    step(() => table.register(registration({ brokerName: "broker-a", version: "2.0.0", topicConfigs: [topicConfig("Orders"), topicConfig("Payments")] })));
    clock.advance(500);
    expect(table.clusterInfo()).toEqual({
      brokers: [
        { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, role: "master", brokerAddr: "10.0.0.1:10911", version: "2.0.0", lastHeartbeatAgeMs: 500, topics: 2 },
        { clusterName: "DefaultCluster", brokerName: "broker-b", brokerId: 0, role: "master", brokerAddr: "10.0.0.2:10911", haAddr: "10.0.0.2:10912", version: "1.0.0", lastHeartbeatAgeMs: 2_000, topics: 1 },
      ],
    });
  });
});

describe("RouteTable: unregistration and expiry", () => {
  test("an unregistered broker leaves every route; its topics go when no other broker has them", () => {
    const { table, step } = setup();
    const a = registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders"), topicConfig("OnlyA")] });
    step(() => table.register(a));
    step(() => table.register(registration({ brokerName: "broker-b", topicConfigs: [topicConfig("Orders")] })));
    expect(step(() => table.unregister(a))).toBe(true);
    expect(table.route("OnlyA")).toBeUndefined();
    expect(table.route("Orders")?.brokerDatas.map((brokerData) => brokerData.brokerName)).toEqual(["broker-b"]);
    expect(table.clusterInfo().brokers).toHaveLength(1);
  });

  test("unregistering a broker that is not registered changes nothing", () => {
    const { table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    expect(step(() => table.unregister({ clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr: "10.9.9.9:10911" }))).toBe(false);
    expect(table.route("Orders")).toBeDefined();
  });

  test("a broker expires after exactly brokerExpiryMs of silence, not a millisecond before", () => {
    const { clock, table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    clock.advance(expiryMs - 1);
    expect(step(() => table.expire())).toEqual([]);
    expect(table.route("Orders")).toBeDefined();
    clock.advance(1);
    expect(step(() => table.expire())).toEqual([{ clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr: "10.0.0.1:10911" }]);
    expect(table.route("Orders")).toBeUndefined();
    expect(table.clusterInfo().brokers).toEqual([]);
  });

  test("each heartbeat restarts the expiry, even with an unchanged dataVersion", () => {
    const { clock, table, step } = setup();
    const a = registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] });
    step(() => table.register(a));
    for (let beat = 0; beat < 10; beat++) {
      clock.advance(30_000);
      step(() => table.register(a));
      expect(step(() => table.expire())).toEqual([]);
    }
    expect(table.route("Orders")).toBeDefined();
  });

  test("only the silent broker expires; a topic both carry keeps the live one", () => {
    const { clock, table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    clock.advance(60_000);
    const b = registration({ brokerName: "broker-b", topicConfigs: [topicConfig("Orders")] });
    step(() => table.register(b));
    clock.advance(60_000);
    expect(step(() => table.expire()).map((broker) => broker.brokerName)).toEqual(["broker-a"]);
    expect(table.route("Orders")?.queueDatas.map((queueData) => queueData.brokerName)).toEqual(["broker-b"]);
  });

  test("a broker that comes back after expiring re-applies its topics under the same dataVersion", () => {
    const { clock, table, step } = setup();
    const a = registration({ brokerName: "broker-a", dataVersion: 5, topicConfigs: [topicConfig("Orders")] });
    step(() => table.register(a));
    clock.advance(expiryMs);
    step(() => table.expire());
    expect(step(() => table.register(a))).toEqual({ changed: true, joined: true });
    expect(table.route("Orders")).toBeDefined();
  });

  test("a group keeps its queues while a slave lives after the master expired", () => {
    const { clock, table, step } = setup();
    step(() => table.register(registration({ brokerName: "broker-a", topicConfigs: [topicConfig("Orders")] })));
    clock.advance(60_000);
    step(() => table.register(registration({ brokerName: "broker-a", brokerId: 1, brokerAddr: "10.0.0.9:10911", topicConfigs: [topicConfig("Orders")] })));
    clock.advance(60_000);
    step(() => table.expire());
    expect(table.route("Orders")?.brokerDatas[0]?.brokerAddrs).toEqual({ "1": "10.0.0.9:10911" });
  });
});
