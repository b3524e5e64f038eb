/**
 * Where a topic's queues live. Producers and consumers ask a RouteResolver, never a broker
 * address directly, so the NameServer resolver of a later issue plugs in without touching them.
 *
 * `BrokerRouteResolver` serves the single-broker setup: every queue is on the one configured
 * broker, and the queue counts come from GET_TOPIC (`writeQueues` for sends, `readQueues` for
 * consumers; none of either when the topic's perm lacks the write (2) or read (4) bit). Routes are
 * cached for `routeTtlMs` (RocketMQ refreshes every 30 s) and dropped early by `invalidate`.
 *
 * A topic nobody knows yet has no route, but a broker with `autoCreateTopics` creates it on its
 * first send (as RocketMQ's brokers do behind its default-topic route): `creationRoute` names the
 * queue such a first send goes to. The broker then creates the topic, or answers TOPIC_NOT_FOUND.
 */

import type { Clock } from "../common/clock.ts";
import type { BrokerClient } from "./broker-client.ts";
import type { MessageQueue } from "./message-queue.ts";

export interface TopicRoute {
  readonly topic: string;
  /** Queues a producer may send to, sorted. */
  readonly writeQueues: readonly MessageQueue[];
  /** Queues a consumer reads, sorted. */
  readonly readQueues: readonly MessageQueue[];
  readonly perm: number;
  readonly order: boolean;
}

export interface RouteResolver {
  topicRoute(topic: string): Promise<TopicRoute>;
  /**
   * The route `topicRoute` would answer at once from its cache, or undefined (not cached,
   * expired): lets a send pick its queue without awaiting. Optional for resolvers of one's own.
   */
  cachedRoute?(topic: string): TopicRoute | undefined;
  /** The address requests about queues of `brokerName` go to. */
  brokerAddress(brokerName: string): string;
  /** Every broker the client should heartbeat to. */
  brokerAddresses(): readonly string[];
  /** Forgets a cached route (after a send failed with TOPIC_NOT_FOUND, say). */
  invalidate(topic: string): void;
  /** Where the first send to a topic without a route goes, so a broker may create it; never cached. */
  creationRoute(topic: string): Promise<TopicRoute>;
}

/** Queue 0 of each of `brokerNames`: what a first send to an unknown topic may be sent to. */
export function creationRouteOf(topic: string, brokerNames: readonly string[]): TopicRoute {
  const writeQueues = [...brokerNames].sort().map((brokerName) => ({ topic, brokerName, queueId: 0 }));
  return { topic, writeQueues, readQueues: [], perm: permRead | permWrite, order: false };
}

export const routeTtlMsDefault = 30_000;
export const permRead = 4;
export const permWrite = 2;

export class BrokerRouteResolver implements RouteResolver {
  private readonly routes = new Map<string, { route: TopicRoute; fetchedMs: number }>();
  private readonly fetching = new Map<string, Promise<TopicRoute>>();

  constructor(
    private readonly address: string,
    private readonly broker: BrokerClient,
    private readonly clock: Clock,
    private readonly routeTtlMs = routeTtlMsDefault,
  ) {}

  /** With one broker, its address doubles as its name. */
  get brokerName(): string {
    return this.address;
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
    return cached !== undefined && this.clock.monotonicMs() - cached.fetchedMs < this.routeTtlMs ? cached.route : undefined;
  }

  brokerAddress(_brokerName: string): string {
    return this.address;
  }

  brokerAddresses(): readonly string[] {
    return [this.address];
  }

  invalidate(topic: string): void {
    this.routes.delete(topic);
  }

  async creationRoute(topic: string): Promise<TopicRoute> {
    return creationRouteOf(topic, [this.address]);
  }

  private async fetch(topic: string): Promise<TopicRoute> {
    const detail = await this.broker.getTopic(this.address, topic);
    const queues = (count: number, bit: number): MessageQueue[] =>
      (detail.perm & bit) === 0 ? [] : Array.from({ length: count }, (_, queueId) => ({ topic, brokerName: this.address, queueId }));
    const route: TopicRoute = {
      topic,
      writeQueues: queues(detail.writeQueues, permWrite),
      readQueues: queues(detail.readQueues, permRead),
      perm: detail.perm,
      order: detail.order,
    };
    this.routes.set(topic, { route, fetchedMs: this.clock.monotonicMs() });
    return route;
  }
}
