/**
 * NameServers and clients for the namesrv integration tests, on 127.0.0.1: everything started
 * here is stopped after each test. `waitFor` is a bounded poll for a condition that another
 * process or a timer makes true (never a fixed sleep standing in for an event).
 */

import { EventBus } from "../../../src/common/bus.ts";
import { silentLogger, type Logger } from "../../../src/common/logger.ts";
import { NameServer } from "../../../src/namesrv/name-server.ts";
import { type Connection, connect } from "../../../src/net/connection.ts";
import { Server } from "../../../src/net/server.ts";
import type { NamesrvBusEvents } from "../../../src/protocol/broker-registration.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { waitTimeoutMs, waitUntil } from "../../helpers/wait-for.ts";

const cleanups: (() => Promise<void> | void)[] = [];

afterEachTest(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` after the current test, after everything registered later. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export interface TestNameServer {
  readonly nameServer: NameServer;
  /** Every applied registration, TCP or in-process: "brokerName:changed". */
  readonly registrations: string[];
  readonly bus: EventBus<NamesrvBusEvents>;
  readonly port: number;
  readonly address: string;
}

export async function startNameServer(options: { port?: number; scanIntervalMs?: number; brokerExpiryMs?: number; logger?: Logger } = {}): Promise<TestNameServer> {
  const bus = new EventBus<NamesrvBusEvents>();
  const registrations: string[] = [];
  bus.on("broker.registered", (outcome) => registrations.push(`${outcome.brokerName}:${outcome.changed}`));
  const server = await Server.listen({ host: "127.0.0.1", port: options.port ?? 0, logger: options.logger ?? silentLogger });
  const nameServer = NameServer.start({ server, bus, scanIntervalMs: options.scanIntervalMs ?? 100, brokerExpiryMs: options.brokerExpiryMs ?? 2_000, logger: options.logger ?? silentLogger });
  cleanups.push(() => nameServer.stop());
  return { nameServer, registrations, bus, port: server.port, address: `127.0.0.1:${server.port}` };
}

export async function connectTo(port: number): Promise<Connection> {
  const connection = await connect({ host: "127.0.0.1", port });
  cleanups.push(() => connection.destroy());
  return connection;
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = waitTimeoutMs): Promise<void> {
  return waitUntil(what, condition, timeoutMs, 10);
}
