/**
 * The RouteResolver of cluster mode: routes come from the NameServers (GET_ROUTE) instead of one
 * broker. A topic route (DESIGN.md §7) lists queue data per broker group — read/write queue
 * counts and perm — and each group's addresses by broker id (0 = master). It becomes:
 * - writeQueues: (brokerName, queueId) for queueId < writeQueues of every group whose perm has the
 *   write bit (2) and that has a live master (only a master takes sends);
 * - readQueues: likewise with readQueues and the read bit (4), also only with a live master;
 * - brokerAddress(brokerName): the master's address.
 * A slave is never used: until replication exists it holds none of its master's messages or
 * offsets, so reading from it as if it were a replica would serve another log (broker-role.ts).
 *
 * Routes are cached per topic and fetched again once older than `routeTtlMs` (30 s, as RocketMQ
 * refreshes) or after `invalidate` (a send failed, a rebalance starts). When the NameServers
 * cannot be reached, the last route is kept and used: a NameServer outage must not stop traffic
 * to brokers that are still up. A topic every NameServer denies (NO_ROUTE) is forgotten.
 *
 * The creation route of a topic without one (route-resolver.ts) is queue 0 of every master the
 * NameServers list: the broker a first send reaches creates the topic and registers it.
 */

import type { Clock } from "../common/clock.ts";
import { MqError, isMqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { BrokerData, TopicRouteData } from "../protocol/responses.ts";
import type { MessageQueue } from "./message-queue.ts";
import type { NamesrvClient } from "./namesrv-client.ts";
import { type RouteResolver, type TopicRoute, creationRouteOf, permRead, permWrite, routeTtlMsDefault } from "./route-resolver.ts";

import { masterBrokerId as masterId } from "../protocol/broker-role.ts";

/** The master's key in a route's brokerAddrs. */
export const masterBrokerId = String(masterId);

export interface NamesrvRouteResolverOptions {
  readonly namesrv: NamesrvClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly routeTtlMs?: number;
}

interface CachedRoute {
  readonly route: TopicRoute;
  readonly data: TopicRouteData;
  readonly fetchedMs: number;
  stale: boolean;
}

export class NamesrvRouteResolver implements RouteResolver {
  private readonly routes = new Map<string, CachedRoute>();
  private readonly fetching = new Map<string, Promise<TopicRoute>>();
  /** brokerName → addresses by id, from the latest route that named the broker. */
  private readonly brokers = new Map<string, BrokerData>();
  private readonly routeTtlMs: number;

  constructor(private readonly options: NamesrvRouteResolverOptions) {
    this.routeTtlMs = options.routeTtlMs ?? routeTtlMsDefault;
  }

  get namesrv(): NamesrvClient {
    return this.options.namesrv;
  }

  async topicRoute(topic: string): Promise<TopicRoute> {
    const cached = this.cachedRoute(topic);
    if (cached !== undefined) return cached;
    const pending = this.fetching.get(topic);
    if (pending !== undefined) return pending;
    const fetching = this.fetch(topic).finally(() => this.fetching.delete(topic));
    this.fetching.set(topic, fetching);
    return fetching;
  }

  cachedRoute(topic: string): TopicRoute | undefined {
    const cached = this.routes.get(topic);
    return cached !== undefined && !cached.stale && this.options.clock.monotonicMs() - cached.fetchedMs < this.routeTtlMs ? cached.route : undefined;
  }

  /** The raw route of a topic as the NameServer gave it (fetched when not cached or expired). */
  async routeData(topic: string): Promise<TopicRouteData> {
    await this.topicRoute(topic);
    const cached = this.routes.get(topic);
    if (cached === undefined) throw new MqError("NO_ROUTE", { topic, namesrvs: this.namesrv.addresses.join(", ") });
    return cached.data;
  }

  brokerAddress(brokerName: string): string {
    const broker = this.brokers.get(brokerName);
    const address = broker?.brokerAddrs[masterBrokerId];
    if (address === undefined) throw new MqError("BROKER_NOT_FOUND", { broker: brokerName });
    return address;
  }

  /** The masters of every broker group in the cached routes: where heartbeats go. */
  brokerAddresses(): readonly string[] {
    const addresses = new Set<string>();
    for (const { data } of this.routes.values()) {
      for (const broker of data.brokerDatas) {
        const master = broker.brokerAddrs[masterBrokerId];
        if (master !== undefined) addresses.add(master);
      }
    }
    return [...addresses].sort();
  }

  invalidate(topic: string): void {
    const cached = this.routes.get(topic);
    if (cached !== undefined) cached.stale = true;
  }

  async creationRoute(topic: string): Promise<TopicRoute> {
    const cluster = await this.options.namesrv.clusterInfo();
    const masters = new Map<string, BrokerData>();
    for (const broker of cluster.brokers) {
      if (broker.brokerId !== Number(masterBrokerId) || broker.role === "slave") continue;
      masters.set(broker.brokerName, { clusterName: broker.clusterName, brokerName: broker.brokerName, brokerAddrs: { [masterBrokerId]: broker.brokerAddr } });
    }
    for (const [brokerName, data] of masters) if (!this.brokers.has(brokerName)) this.brokers.set(brokerName, data);
    return creationRouteOf(topic, [...masters.keys()]);
  }

  private async fetch(topic: string): Promise<TopicRoute> {
    let data: TopicRouteData;
    try {
      data = await this.options.namesrv.topicRoute(topic);
    } catch (error) {
      const cached = this.routes.get(topic);
      if (isMqError(error, "NAMESRV_UNAVAILABLE") && cached !== undefined) {
        this.options.logger.warn(`Keeping the last route of "${topic}": ${error.message}`);
        // Ask again after a full TTL, not on every send while the NameServers are down.
        this.routes.set(topic, { ...cached, fetchedMs: this.options.clock.monotonicMs(), stale: false });
        return cached.route;
      }
      if (isMqError(error, "NO_ROUTE")) this.routes.delete(topic);
      throw error;
    }
    for (const broker of data.brokerDatas) this.brokers.set(broker.brokerName, broker);
    const route = toTopicRoute(data);
    this.routes.set(topic, { route, data, fetchedMs: this.options.clock.monotonicMs(), stale: false });
    return route;
  }
}

/** A NameServer route as the queues producers and consumers work with (sorted, as compareQueues). */
export function toTopicRoute(data: TopicRouteData): TopicRoute {
  const brokers = new Map(data.brokerDatas.map((broker) => [broker.brokerName, broker]));
  const writeQueues: MessageQueue[] = [];
  const readQueues: MessageQueue[] = [];
  let perm = 0;
  let order = false;
  const queueDatas = [...data.queueDatas].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  for (const queueData of queueDatas) {
    const broker = brokers.get(queueData.brokerName);
    if (broker === undefined) continue; // the group has no live member: nothing to send to or read from
    perm |= queueData.perm;
    order ||= queueData.order;
    const queues = (count: number) => Array.from({ length: count }, (_, queueId) => ({ topic: data.topic, brokerName: queueData.brokerName, queueId }));
    if (broker.brokerAddrs[masterBrokerId] === undefined) continue; // only slaves left: they hold no replica yet
    if ((queueData.perm & permWrite) !== 0) writeQueues.push(...queues(queueData.writeQueues));
    if ((queueData.perm & permRead) !== 0) readQueues.push(...queues(queueData.readQueues));
  }
  return { topic: data.topic, writeQueues, readQueues, perm, order };
}
