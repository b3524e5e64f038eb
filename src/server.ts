/**
 * Wires the roles of `mq start` together in one process: the store, the broker on the main TCP
 * port (roles "broker" or "all") and the admin HTTP probes; the NameServer and HA roles plug in
 * here as they are built, talking through the in-process bus when co-located.
 *
 * Shutdown runs in reverse: HTTP, then the broker (held pulls answered, connections closed,
 * consumer offsets written), then the store (flush, checkpoint) — so no request reaches a
 * closing store and persisted offsets never run ahead of the messages they name.
 */

import { resolve } from "node:path";
import { EventBus } from "./common/bus.ts";
import { MqError } from "./common/errors.ts";
import { createLogger, type Logger } from "./common/logger.ts";
import type { MqConfig } from "./config/config-schema.ts";
import { Broker } from "./broker/broker.ts";
import { createHttpApp } from "./http/app.ts";
import { Server } from "./net/server.ts";
import { MessageStore } from "./store/message-store.ts";
import type { StoreEvents } from "./store/store-options.ts";
import { mqVersion } from "./version.ts";

export interface RunningServer {
  readonly store: MessageStore;
  readonly httpPort: number;
  /** The broker's bound TCP port (the real one when configured as 0); undefined without the role. */
  readonly brokerPort: number | undefined;
  readonly startedInMs: number;
  stop(): Promise<void>;
}

export async function startServer(config: MqConfig, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningServer> {
  const startMs = performance.now();
  const bus = new EventBus<StoreEvents>((name, error) => logger.error(`Listener of "${name}" failed: ${String(error)}`));
  const dataDir = resolve(config.dataDir);
  const brokerRole = config.role.includes("all") || config.role.includes("broker");
  // On a random port (tests, sandboxes) bind first, so records carry the real port as their
  // store host; on a fixed port open the store first, so no client is answered during recovery.
  let listening = brokerRole && config.port === 0 ? await listenBroker(config, logger) : undefined;
  const store = await MessageStore.open({
    dataDir,
    flush: config.flush,
    flushIntervalMs: config.flushIntervalMs,
    commitLogFileBytes: config.commitLogFileBytes,
    consumeQueueEntriesPerFile: config.consumeQueueEntriesPerFile,
    fileReservedTimeHours: config.fileReservedTimeHours,
    deleteWhenHour: config.deleteWhenHour,
    diskMaxUsedSpaceRatio: config.diskMaxUsedSpaceRatio,
    diskFullRatio: config.diskFullRatio,
    storeHost: { ip: advertisedHost(config), port: listening?.port ?? config.port },
    logger: logger.child("store"),
    bus,
  }).catch(async (error: unknown) => {
    await listening?.close();
    throw error;
  });
  let http: ReturnType<typeof Bun.serve> | undefined;
  let broker: Broker | undefined;
  try {
    if (brokerRole) {
      listening ??= await listenBroker(config, logger);
      broker = await Broker.start({ store, server: listening, config, advertisedHost: advertisedHost(config), logger: logger.child("broker") });
    }
    const app = createHttpApp({
      version: mqVersion,
      readiness: () => [
        { name: "store", ok: store.isOpen, detail: store.isOpen ? `recovered in ${store.recovery.durationMs.toFixed(0)} ms` : "closed" },
        { name: "disk", ok: !store.retention.diskFull, detail: `${Math.round(store.retention.usedRatio * 100)}% used` },
        ...(broker === undefined ? [] : [{ name: "broker", ok: true, detail: `serving on port ${broker.port}` }]),
      ],
    });
    try {
      http = Bun.serve({ hostname: config.listen, port: config.httpPort, fetch: app.fetch });
    } catch (error) {
      throw new MqError("LISTEN_FAILED", { address: `${config.listen}:${config.httpPort}`, reason: (error as Error).message });
    }
  } catch (error) {
    await broker?.stop();
    await listening?.close();
    await store.close();
    throw error;
  }
  const startedInMs = performance.now() - startMs;
  let stopping: Promise<void> | undefined;
  return {
    store,
    httpPort: http.port ?? config.httpPort,
    brokerPort: broker?.port,
    startedInMs,
    stop() {
      stopping ??= (async () => {
        await http?.stop(true);
        await broker?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}

async function listenBroker(config: MqConfig, logger: Logger): Promise<Server> {
  try {
    return await Server.listen({ host: config.listen, port: config.port, logger: logger.child("net") });
  } catch (error) {
    throw new MqError("LISTEN_FAILED", { address: `${config.listen}:${config.port}`, reason: (error as Error).message.replace(/^Cannot connect to \S+: /, "") });
  }
}

/** The address clients reach this process at: --advertise, else the listen address, else loopback. */
function advertisedHost(config: MqConfig): string {
  if (config.advertise !== undefined) return config.advertise;
  return config.listen === "0.0.0.0" || config.listen === "::" ? "127.0.0.1" : config.listen;
}
