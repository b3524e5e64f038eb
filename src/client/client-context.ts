/**
 * What every client instance (Producer, PushConsumer, Admin) is made of: its identity, its own
 * connection pool, typed broker requests, and a RouteResolver. `ClientOptions` are the settings
 * they share. The resolver is a seam: today a single broker address; a NameServer-backed resolver
 * comes later and is passed as `routeResolver` without any other change.
 */

import { type Clock, systemClock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { topicNamePattern } from "../common/limits.ts";
import { BrokerClient } from "./broker-client.ts";
import { type ClientIdentity, createClientIdentity } from "./client-identity.ts";
import { ConnectionPool, parseAddress } from "./connection-pool.ts";
import { BrokerRouteResolver, type RouteResolver } from "./route-resolver.ts";

export interface ClientOptions {
  /** The broker, `host:port` (default port 10911). */
  readonly broker?: string;
  /** Builds the route resolver instead of the single-broker one (NameServer support plugs in here). */
  readonly routeResolver?: (broker: BrokerClient) => RouteResolver;
  /** Names this instance in the group; default `ip@pid@random`. */
  readonly clientId?: string;
  readonly connectTimeoutMs?: number;
  /** Timeout of requests that set none of their own (admin, offsets, heartbeats). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export const brokerAddressDefault = "127.0.0.1:10911";

export interface ClientContext {
  readonly identity: ClientIdentity;
  readonly pool: ConnectionPool;
  readonly broker: BrokerClient;
  readonly routes: RouteResolver;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function createClientContext(options: ClientOptions, scope: string): ClientContext {
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? silentLogger).child(scope);
  const pool = new ConnectionPool({ clock, logger, connectTimeoutMs: options.connectTimeoutMs, requestTimeoutMs: options.requestTimeoutMs });
  const broker = new BrokerClient(pool);
  let routes: RouteResolver;
  if (options.routeResolver !== undefined) {
    routes = options.routeResolver(broker);
  } else {
    const address = options.broker ?? brokerAddressDefault;
    parseAddress(address); // fail at construction on a malformed address
    routes = new BrokerRouteResolver(address, broker, clock);
  }
  return { identity: createClientIdentity(options.clientId), pool, broker, routes, clock, logger };
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
