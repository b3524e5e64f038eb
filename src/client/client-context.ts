/**
 * What every client instance (Producer, PushConsumer, Admin) is made of: its identity, its own
 * connection pool, typed broker requests, and a RouteResolver. `ClientOptions` are the settings
 * they share. The resolver is the seam between the two ways to find brokers: one broker address
 * (`broker`, the local sandbox) or the NameServers of a cluster (`namesrv`); a test may pass its
 * own as `routeResolver`.
 */

import { type Clock, systemClock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { topicNamePattern } from "../common/limits.ts";
import { BrokerClient } from "./broker-client.ts";
import type { TraceSetting } from "./trace-dispatcher.ts";
import { type ClientIdentity, createClientIdentity } from "./client-identity.ts";
import { ConnectionPool, parseAddress } from "./connection-pool.ts";
import { NamesrvClient, parseNamesrvList } from "./namesrv-client.ts";
import { NamesrvRouteResolver } from "./namesrv-route-resolver.ts";
import { BrokerRouteResolver, type RouteResolver, routeTtlMsDefault } from "./route-resolver.ts";

export interface ClientOptions {
  /** The broker, `host:port` (default 127.0.0.1:10911); give this or `namesrv`, not both. */
  readonly broker?: string;
  /** The cluster's NameServers, `"host:port;host:port"`: routes come from them instead of one broker. */
  readonly namesrv?: string;
  /** How long a topic route is used before it is asked for again; default 30000. */
  readonly routeRefreshIntervalMs?: number;
  /** Builds the route resolver instead of the single-broker one (NameServer support plugs in here). */
  readonly routeResolver?: (broker: BrokerClient) => RouteResolver;
  /** Names this instance in the group; default `ip@pid@random`. */
  readonly clientId?: string;
  readonly connectTimeoutMs?: number;
  /** Timeout of requests that set none of their own (admin, offsets, heartbeats). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * Message trace (trace-dispatcher.ts): on by default for producers and consumers; `false` turns
   * it off, `{ topic }` writes to another trace topic than RMQ_SYS_TRACE_TOPIC.
   */
  readonly trace?: TraceSetting;
}

export const brokerAddressDefault = "127.0.0.1:10911";

export interface ClientContext {
  readonly identity: ClientIdentity;
  readonly pool: ConnectionPool;
  readonly broker: BrokerClient;
  readonly routes: RouteResolver;
  /** Set in cluster mode (`namesrv`): cluster-wide views for Admin. */
  readonly namesrv: NamesrvClient | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createClientContext(options: ClientOptions, scope: string): ClientContext {
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger).child(scope);
  const pool = new ConnectionPool({ clock, logger, connectTimeoutMs: options.connectTimeoutMs, requestTimeoutMs: options.requestTimeoutMs });
  const broker = new BrokerClient(pool);
  const routeTtlMs = checkPositiveInteger(options.routeRefreshIntervalMs, "routeRefreshIntervalMs", routeTtlMsDefault);
  let routes: RouteResolver;
  let namesrv: NamesrvClient | undefined;
  if (options.broker !== undefined && options.namesrv !== undefined) {
    throw new MqError("BAD_REQUEST", { reason: `give a broker or NameServers, not both (broker "${options.broker}", namesrv "${options.namesrv}")` });
  }
  if (options.routeResolver !== undefined) {
    routes = options.routeResolver(broker);
  } else if (options.namesrv !== undefined) {
    namesrv = new NamesrvClient({ addresses: parseNamesrvList(options.namesrv), broker, timeoutMs: options.requestTimeoutMs });
    routes = new NamesrvRouteResolver({ namesrv, clock, logger, routeTtlMs });
  } else {
    const address = options.broker ?? brokerAddressDefault;
    parseAddress(address); // fail at construction on a malformed address
    routes = new BrokerRouteResolver(address, broker, clock, routeTtlMs);
  }
  return { identity: createClientIdentity(options.clientId), pool, broker, routes, namesrv, clock, logger };
}

export function checkGroupName(group: string, what: string): void {
  if (!topicNamePattern.test(group)) {
    throw new MqError("INVALID_FIELD", { field: what, reason: `must match ${topicNamePattern.source}, got "${group}"` });
  }
}

export function checkPositiveInteger(value: number | undefined, field: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new MqError("INVALID_FIELD", { field, reason: `must be an integer in 1..${max}, got ${value}` });
  }
  return value;
}
