/**
 * The NameServer: a RouteTable served on a net Server (REGISTER_BROKER, UNREGISTER_BROKER,
 * GET_ROUTE, GET_CLUSTER_INFO) and, when given the process's event bus, to a co-located broker
 * through "namesrv.register" / "namesrv.unregister" — same table, no serialization, no TCP hop.
 *
 * Every `scanIntervalMs` it drops brokers silent for `brokerExpiryMs` (DESIGN.md §7: 10 s and
 * 120 s), so a broker killed without unregistering leaves every route after at most
 * expiry + one scan. All timers run on the injected clock.
 *
 * Each applied registration is announced on the bus as "broker.registered" (the in-process
 * broker waits for that echo to know it is registered) and each removal as "broker.expired".
 */

import type { EventBus } from "../common/bus.ts";
import { type Clock, type TimerHandle, systemClock } from "../common/clock.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { clusterDefaults } from "../config/config-schema.ts";
import type { Server } from "../net/server.ts";
import { refuseRequestsFor } from "../net/wrong-service.ts";
import type { BrokerIdentity, BrokerRegistration, NamesrvBusEvents } from "../protocol/broker-registration.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import * as processors from "./namesrv-processors.ts";
import { type RegisterResult, RouteTable } from "./route-table.ts";

export interface NameServerOptions {
  /** A listening server; the NameServer registers its handlers and closes it on stop. */
  readonly server: Server;
  /** The process's bus, to serve a co-located broker in-process. */
  readonly bus?: EventBus<NamesrvBusEvents>;
  readonly scanIntervalMs?: number;
  readonly brokerExpiryMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export class NameServer {
  readonly table: RouteTable;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly scan: TimerHandle;
  private readonly unsubscribe: (() => void)[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(private readonly options: NameServerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.table = new RouteTable({ clock: this.clock, brokerExpiryMs: options.brokerExpiryMs ?? clusterDefaults.brokerExpiryMs });
    this.wire();
    this.scan = this.clock.setInterval(() => this.scanNow(), options.scanIntervalMs ?? clusterDefaults.namesrvScanIntervalMs);
  }

  /** Serves on `options.server` from now on. */
  static start(options: NameServerOptions): NameServer {
    const nameServer = new NameServer(options);
    nameServer.logger.info(`NameServer serving on port ${options.server.port}${options.bus === undefined ? "" : " and in-process"}`);
    return nameServer;
  }

  get port(): number {
    return this.options.server.port;
  }

  /** Open TCP connections (brokers and clients; a co-located broker uses none). */
  get connectionCount(): number {
    return this.options.server.connections.size;
  }

  /** Drops silent brokers now (the timer calls this every scan interval). */
  scanNow(): void {
    for (const broker of this.table.expire()) {
      this.logger.warn(`Dropped broker "${broker.brokerName}" (id ${broker.brokerId}) at ${broker.brokerAddr}: silent for ${this.table.brokerExpiryMs} ms or more`);
      this.options.bus?.emit("broker.expired", { ...broker, reason: "expired" });
    }
  }

  /** Stops the scan and the bus listeners, and closes the server. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.scan.cancel();
      for (const off of this.unsubscribe.splice(0)) off();
      await this.options.server.close();
    })();
    return this.stopping;
  }

  private wire(): void {
    const { server, bus } = this.options;
    const table = this.table;
    server.handle(RequestCode.REGISTER_BROKER, (request) => processors.registerBroker(table, request, (registration, result) => this.registered(registration, result)));
    server.handle(RequestCode.UNREGISTER_BROKER, (request) => processors.unregisterBroker(table, request, (removed) => this.unregistered(request.fields, removed)));
    server.handle(RequestCode.GET_ROUTE, (request) => processors.getRoute(table, request));
    server.handle(RequestCode.GET_CLUSTER_INFO, () => processors.getClusterInfo(table));
    refuseRequestsFor(server, "client→broker", { service: "an mq NameServer, not a broker", hint: "give it as a NameServer address (--namesrv, or the SDK's namesrv option)" });
    if (bus === undefined) return;
    this.unsubscribe.push(
      bus.on("namesrv.register", (registration) => this.registered(registration, table.register(registration))),
      bus.on("namesrv.unregister", (identity) => this.unregistered(identity, table.unregister(identity))),
    );
  }

  private registered(registration: BrokerRegistration, result: RegisterResult): void {
    const { clusterName, brokerName, brokerId, brokerAddr } = registration;
    if (result.joined) {
      this.logger.info(`Broker "${brokerName}" (id ${brokerId}, cluster "${clusterName}") registered from ${brokerAddr}: ${registration.topicConfigs.length} topics, version ${registration.version}`);
    } else if (result.changed) {
      this.logger.debug(`Broker "${brokerName}" at ${brokerAddr} changed its topics: ${registration.topicConfigs.length} topics, data version ${registration.dataVersion}`);
    }
    this.options.bus?.emit("broker.registered", { clusterName, brokerName, brokerId, brokerAddr, changed: result.changed });
  }

  private unregistered(identity: BrokerIdentity, removed: boolean): void {
    if (!removed) return;
    this.logger.info(`Broker "${identity.brokerName}" (id ${identity.brokerId}) at ${identity.brokerAddr} unregistered`);
    this.options.bus?.emit("broker.expired", { ...identity, reason: "unregistered" });
  }
}
