/**
 * Deterministic simulation of the NameServer's route table (STYLE.md §14): brokers of three
 * groups (masters and slaves) register, heartbeat with changing topic tables, unregister, go
 * silent and come back, at random on a ManualClock, with the scan running now and then. After
 * every step the table's own invariants hold (`checkInvariants`), and against a model:
 *   - a broker is listed exactly when it registered and was not unregistered or silent for the
 *     expiry at the last scan;
 *   - a topic's route names exactly the groups with a live member whose table (the master's, or
 *     a slave's while the group has no master) carries it, and each group's members with their
 *     roles.
 * A failure prints the seed; replay with SEED=<seed>.
 */

import { describe, test } from "bun:test";
import { assert } from "../../src/common/assert.ts";
import { ManualClock } from "../../src/common/clock.ts";
import { RouteTable } from "../../src/namesrv/route-table.ts";
import { brokerRoleOf } from "../../src/protocol/broker-role.ts";
import { type SeededRandom, withSeed } from "../helpers/seeded-random.ts";

const expiryMs = 120_000;
const topics = ["Orders", "Payments", "Audit", "Mail"];

interface ModelBroker {
  readonly brokerName: string;
  readonly brokerId: number;
  readonly brokerAddr: string;
  live: boolean;
  lastHeartbeatMs: number;
  dataVersion: number;
  topics: string[];
  /** The table the NameServer applied last for this broker (it skips unchanged dataVersions). */
  applied: string[];
}

function simulate(random: SeededRandom): void {
  const clock = new ManualClock(0);
  const table = new RouteTable({ clock, brokerExpiryMs: expiryMs });
  const brokers: ModelBroker[] = [];
  for (const brokerName of ["broker-a", "broker-b", "broker-c"]) {
    for (const brokerId of [0, 1]) brokers.push({ brokerName, brokerId, brokerAddr: `${brokerName}-${brokerId}:10911`, live: false, lastHeartbeatMs: 0, dataVersion: 0, topics: [], applied: [] });
  }
  /** Which broker's table a group's route comes from: the group's table is replaced whole by it. */
  const groupTables = new Map<string, string[]>();
  const register = (broker: ModelBroker) => {
    const changed = !broker.live || broker.applied !== broker.topics;
    table.register({
      clusterName: "c",
      brokerName: broker.brokerName,
      brokerId: broker.brokerId,
      brokerAddr: broker.brokerAddr,
      version: "1",
      dataVersion: broker.dataVersion,
      topicConfigs: broker.topics.map((topic) => ({ topic, readQueues: 2, writeQueues: 2, perm: 6, order: false })),
    });
    const masterLive = brokers.some((other) => other.brokerName === broker.brokerName && other.brokerId === 0 && other.live);
    broker.live = true;
    broker.lastHeartbeatMs = clock.monotonicMs();
    if (changed) {
      broker.applied = broker.topics;
      if (broker.brokerId === 0 || !masterLive) groupTables.set(broker.brokerName, broker.topics);
    }
  };
  const drop = (broker: ModelBroker) => {
    broker.live = false;
    if (!brokers.some((other) => other.brokerName === broker.brokerName && other.live)) groupTables.delete(broker.brokerName);
  };
  const check = () => {
    table.checkInvariants();
    const listed = table.clusterInfo().brokers.map((broker) => `${broker.brokerAddr}:${broker.role}`).sort();
    const expected = brokers.filter((broker) => broker.live).map((broker) => `${broker.brokerAddr}:${brokerRoleOf(broker.brokerId)}`).sort();
    assert(JSON.stringify(listed) === JSON.stringify(expected), `cluster lists ${listed.join(", ")}, the model ${expected.join(", ")}`);
    for (const topic of topics) {
      const route = table.route(topic);
      const groups = (route?.queueDatas.map((queueData) => queueData.brokerName) ?? []).sort();
      const carrying = [...groupTables].filter(([, tableTopics]) => tableTopics.includes(topic)).map(([name]) => name).sort();
      assert(JSON.stringify(groups) === JSON.stringify(carrying), `route of "${topic}" names ${groups.join(", ") || "no group"}, the model ${carrying.join(", ") || "none"}`);
      for (const data of route?.brokerDatas ?? []) {
        const members = brokers.filter((broker) => broker.brokerName === data.brokerName && broker.live);
        for (const member of members) {
          assert(data.brokerAddrs[String(member.brokerId)] === member.brokerAddr, `route of "${topic}" misses ${member.brokerAddr}`);
          assert(data.brokerRoles?.[String(member.brokerId)] === brokerRoleOf(member.brokerId), `route of "${topic}" gives ${member.brokerAddr} the wrong role`);
        }
        assert(Object.keys(data.brokerAddrs).length === members.length, `route of "${topic}" lists ${Object.keys(data.brokerAddrs).length} members of ${data.brokerName}, ${members.length} are live`);
      }
    }
  };
  for (let step = 0; step < 3_000; step++) {
    const broker = brokers[random.int(brokers.length)]!;
    const action = random.int(10);
    if (action < 4) {
      register(broker); // a heartbeat, or a (re)start
    } else if (action < 5) {
      broker.topics = topics.filter(() => random.int(2) === 0);
      broker.dataVersion += 1;
      if (broker.live) register(broker);
    } else if (action < 6 && broker.live) {
      table.unregister({ clusterName: "c", brokerName: broker.brokerName, brokerId: broker.brokerId, brokerAddr: broker.brokerAddr });
      drop(broker);
    } else if (action < 8) {
      clock.advance(random.int(60_000));
    } else {
      const expired = new Set(table.expire().map((identity) => identity.brokerAddr));
      for (const candidate of brokers) {
        const silent = candidate.live && clock.monotonicMs() - candidate.lastHeartbeatMs >= expiryMs;
        assert(silent === expired.has(candidate.brokerAddr), `${candidate.brokerAddr}: silent ${silent}, expired ${expired.has(candidate.brokerAddr)}`);
        if (silent) drop(candidate);
      }
    }
    check();
  }
}

describe("simulation: the NameServer's route table", () => {
  test("brokers registering, changing topics, unregistering and going silent at random keep routes and cluster info true to the model", () => {
    withSeed(simulate);
  });
});
