/**
 * The NameServer's whole state: which broker groups carry which topics, and which brokers are
 * alive. Pure and synchronous (STYLE.md §9): every method runs to completion, time comes from
 * the injected Clock, so tests drive registration and expiry step by step.
 *
 * Model (RocketMQ's RouteInfoManager):
 *   topics:  topic → brokerName → queue data (read/write queue counts, perm, order)
 *   groups:  brokerName → cluster + member addresses by brokerId (0 = master, any other a slave:
 *            routes and cluster info name each member's role, broker-role.ts)
 *   brokers: brokerAddr → identity, haAddr, version, dataVersion, last heartbeat, topic count,
 *            store size and disk use (as last reported)
 *
 * A group's queue data comes from its master's registration (a slave's only while the group has
 * no master), and is replaced whole when the dataVersion changes: a topic missing from the new
 * table is gone from that group. A registration with an unchanged dataVersion only refreshes the
 * heartbeat. A broker silent for `brokerExpiryMs` or more is dropped by `expire()`.
 *
 * Invariants (`checkInvariants`): every queue data names a live group; every group member is a
 * live broker of that group and every live broker is a member of its group; no topic is empty.
 */

import { assert } from "../common/assert.ts";
import type { Clock } from "../common/clock.ts";
import type { BrokerIdentity, BrokerRegistration } from "../protocol/broker-registration.ts";
import { type BrokerRole, brokerRoleOf } from "../protocol/broker-role.ts";
import type { BrokerData, ClusterInfo, QueueData, TopicRouteData } from "../protocol/responses.ts";

export interface RouteTableOptions {
  readonly clock: Clock;
  /** A broker silent this long (or longer) is dropped at the next `expire()`. */
  readonly brokerExpiryMs: number;
}

interface LiveBroker {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: number;
  readonly brokerAddr: string;
  haAddr: string | undefined;
  version: string;
  dataVersion: number;
  /** As the last registration reported; undefined from brokers that report none. */
  storeBytes: number | undefined;
  diskUsedRatio: number | undefined;
  /** Monotonic ms of the last registration. */
  lastHeartbeatMs: number;
  topicCount: number;
}

interface BrokerGroup {
  clusterName: string;
  readonly brokerName: string;
  /** brokerId → brokerAddr. */
  readonly addrs: Map<number, string>;
}

export interface RegisterResult {
  /** True when the topic table was applied; false when the dataVersion was already known. */
  readonly changed: boolean;
  /** True when this address was not a live broker before. */
  readonly joined: boolean;
}

export class RouteTable {
  private readonly topicQueues = new Map<string, Map<string, QueueData>>();
  private readonly groups = new Map<string, BrokerGroup>();
  private readonly brokers = new Map<string, LiveBroker>();

  constructor(private readonly options: RouteTableOptions) {}

  get brokerExpiryMs(): number {
    return this.options.brokerExpiryMs;
  }

  get brokerCount(): number {
    return this.brokers.size;
  }

  /** Applies a registration (or heartbeat). */
  register(registration: BrokerRegistration): RegisterResult {
    const now = this.options.clock.monotonicMs();
    let existing = this.brokers.get(registration.brokerAddr);
    if (existing !== undefined && !sameIdentity(existing, registration)) {
      // The address now belongs to another broker (a restart under a new name): forget the old one.
      this.removeBroker(existing.brokerAddr);
      existing = undefined;
    }
    const group = this.groupFor(registration);
    const previousAddr = group.addrs.get(registration.brokerId);
    if (previousAddr !== undefined && previousAddr !== registration.brokerAddr) {
      // Same broker id at a new address (moved host, new advertised address): the new one wins.
      this.removeBroker(previousAddr);
      return this.register(registration);
    }
    group.clusterName = registration.clusterName;
    group.addrs.set(registration.brokerId, registration.brokerAddr);
    const changed = existing === undefined || existing.dataVersion !== registration.dataVersion;
    const broker: LiveBroker = existing ?? {
      clusterName: registration.clusterName,
      brokerName: registration.brokerName,
      brokerId: registration.brokerId,
      brokerAddr: registration.brokerAddr,
      haAddr: undefined,
      version: registration.version,
      dataVersion: registration.dataVersion,
      storeBytes: undefined,
      diskUsedRatio: undefined,
      lastHeartbeatMs: now,
      topicCount: 0,
    };
    broker.haAddr = registration.haAddr;
    broker.version = registration.version;
    broker.storeBytes = registration.storeBytes;
    broker.diskUsedRatio = registration.diskUsedRatio;
    broker.lastHeartbeatMs = now;
    if (changed) {
      broker.dataVersion = registration.dataVersion;
      broker.topicCount = registration.topicConfigs.length;
      if (registration.brokerId === 0 || !group.addrs.has(0)) this.applyTopics(registration);
    }
    this.brokers.set(broker.brokerAddr, broker);
    return { changed, joined: existing === undefined };
  }

  /** Removes a broker that shut down; false if it was not registered (already expired). */
  unregister(identity: BrokerIdentity): boolean {
    const broker = this.brokers.get(identity.brokerAddr);
    if (broker === undefined || !sameIdentity(broker, identity)) return false;
    this.removeBroker(identity.brokerAddr);
    return true;
  }

  /** Drops every broker silent for `brokerExpiryMs` or more; returns those dropped. */
  expire(): BrokerIdentity[] {
    const now = this.options.clock.monotonicMs();
    const expired: BrokerIdentity[] = [];
    for (const broker of [...this.brokers.values()]) {
      if (now - broker.lastHeartbeatMs < this.options.brokerExpiryMs) continue;
      this.removeBroker(broker.brokerAddr);
      expired.push(identityOf(broker));
    }
    return expired;
  }

  /** Where `topic` lives, or undefined when no live broker carries it. */
  route(topic: string): TopicRouteData | undefined {
    const byBroker = this.topicQueues.get(topic);
    if (byBroker === undefined || byBroker.size === 0) return undefined;
    const queueDatas = [...byBroker.values()].sort((a, b) => compareText(a.brokerName, b.brokerName));
    const brokerDatas: BrokerData[] = queueDatas.map((queueData) => {
      const group = this.groups.get(queueData.brokerName);
      assert(group !== undefined, `route of "${topic}" names broker group "${queueData.brokerName}", which is not registered`);
      const brokerAddrs: Record<string, string> = {};
      const brokerRoles: Record<string, BrokerRole> = {};
      for (const [brokerId, addr] of [...group.addrs].sort((a, b) => a[0] - b[0])) {
        brokerAddrs[String(brokerId)] = addr;
        brokerRoles[String(brokerId)] = brokerRoleOf(brokerId);
      }
      return { clusterName: group.clusterName, brokerName: group.brokerName, brokerAddrs, brokerRoles };
    });
    return { topic, queueDatas: queueDatas.map((queueData) => ({ ...queueData })), brokerDatas };
  }

  /** Every live broker, ordered by cluster, broker name and id. */
  clusterInfo(): ClusterInfo {
    const now = this.options.clock.monotonicMs();
    const brokers = [...this.brokers.values()]
      .sort((a, b) => compareText(a.clusterName, b.clusterName) || compareText(a.brokerName, b.brokerName) || a.brokerId - b.brokerId)
      .map((broker) => ({
        clusterName: broker.clusterName,
        brokerName: broker.brokerName,
        brokerId: broker.brokerId,
        role: brokerRoleOf(broker.brokerId),
        brokerAddr: broker.brokerAddr,
        ...(broker.haAddr === undefined ? {} : { haAddr: broker.haAddr }),
        version: broker.version,
        lastHeartbeatAgeMs: Math.max(0, Math.round(now - broker.lastHeartbeatMs)),
        topics: broker.topicCount,
        ...(broker.storeBytes === undefined ? {} : { storeBytes: broker.storeBytes }),
        ...(broker.diskUsedRatio === undefined ? {} : { diskUsedRatio: broker.diskUsedRatio }),
      }));
    return { brokers };
  }

  /** Topics with at least one live broker group, sorted. */
  topics(): string[] {
    return [...this.topicQueues.keys()].sort(compareText);
  }

  /** Asserts the invariants in the file header; tests call it after each step. */
  checkInvariants(): void {
    for (const [topic, byBroker] of this.topicQueues) {
      assert(byBroker.size > 0, `topic "${topic}" is kept with no queue data`);
      for (const brokerName of byBroker.keys()) assert(this.groups.has(brokerName), `topic "${topic}" names unknown broker group "${brokerName}"`);
    }
    for (const group of this.groups.values()) {
      assert(group.addrs.size > 0, `broker group "${group.brokerName}" is kept with no members`);
      for (const [brokerId, addr] of group.addrs) {
        const broker = this.brokers.get(addr);
        assert(broker !== undefined && broker.brokerName === group.brokerName && broker.brokerId === brokerId, `member ${brokerId} of "${group.brokerName}" at ${addr} is not a live broker of that group`);
      }
    }
    for (const broker of this.brokers.values()) {
      assert(this.groups.get(broker.brokerName)?.addrs.get(broker.brokerId) === broker.brokerAddr, `live broker ${broker.brokerAddr} is not a member of "${broker.brokerName}"`);
    }
  }

  private groupFor(identity: BrokerIdentity): BrokerGroup {
    let group = this.groups.get(identity.brokerName);
    if (group === undefined) {
      group = { clusterName: identity.clusterName, brokerName: identity.brokerName, addrs: new Map() };
      this.groups.set(identity.brokerName, group);
    }
    return group;
  }

  /** Replaces the group's queue data with the registration's topic table. */
  private applyTopics(registration: BrokerRegistration): void {
    const brokerName = registration.brokerName;
    const present = new Set<string>();
    for (const config of registration.topicConfigs) {
      present.add(config.topic);
      let byBroker = this.topicQueues.get(config.topic);
      if (byBroker === undefined) {
        byBroker = new Map();
        this.topicQueues.set(config.topic, byBroker);
      }
      byBroker.set(brokerName, { brokerName, readQueues: config.readQueues, writeQueues: config.writeQueues, perm: config.perm, order: config.order });
    }
    for (const [topic, byBroker] of this.topicQueues) {
      if (present.has(topic) || !byBroker.has(brokerName)) continue;
      byBroker.delete(brokerName);
      if (byBroker.size === 0) this.topicQueues.delete(topic);
    }
  }

  /** Forgets a broker; the last member of a group takes the group's queue data with it. */
  private removeBroker(brokerAddr: string): void {
    const broker = this.brokers.get(brokerAddr);
    if (broker === undefined) return;
    this.brokers.delete(brokerAddr);
    const group = this.groups.get(broker.brokerName);
    if (group === undefined) return;
    if (group.addrs.get(broker.brokerId) === brokerAddr) group.addrs.delete(broker.brokerId);
    if (group.addrs.size > 0) return;
    this.groups.delete(group.brokerName);
    for (const [topic, byBroker] of this.topicQueues) {
      byBroker.delete(group.brokerName);
      if (byBroker.size === 0) this.topicQueues.delete(topic);
    }
  }
}

function sameIdentity(broker: LiveBroker, identity: BrokerIdentity): boolean {
  return broker.brokerName === identity.brokerName && broker.brokerId === identity.brokerId && broker.clusterName === identity.clusterName;
}

function identityOf(broker: LiveBroker): BrokerIdentity {
  return { clusterName: broker.clusterName, brokerName: broker.brokerName, brokerId: broker.brokerId, brokerAddr: broker.brokerAddr };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
