/**
 * Wires the roles of `mq start` together in one process. In this first cut the process runs
 * the store and the admin HTTP probes; the broker, NameServer and HA roles plug in here as they
 * are built, talking through the in-process bus when co-located.
 */

import { resolve } from "node:path";
import { EventBus } from "./common/bus.ts";
import { MqError } from "./common/errors.ts";
import { createLogger, type Logger } from "./common/logger.ts";
import type { MqConfig } from "./config/config-schema.ts";
import { createHttpApp } from "./http/app.ts";
import { MessageStore } from "./store/message-store.ts";
import type { StoreEvents } from "./store/store-options.ts";
import { mqVersion } from "./version.ts";

export interface RunningServer {
  readonly store: MessageStore;
  readonly httpPort: number;
  readonly startedInMs: number;
  stop(): Promise<void>;
}

export async function startServer(config: MqConfig, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningServer> {
  const startMs = performance.now();
  const bus = new EventBus<StoreEvents>((name, error) => logger.error(`Listener of "${name}" failed: ${String(error)}`));
  const dataDir = resolve(config.dataDir);
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
    storeHost: { ip: config.advertise ?? "127.0.0.1", port: config.port },
    logger: logger.child("store"),
    bus,
  });
  let http: ReturnType<typeof Bun.serve> | undefined;
  try {
    const app = createHttpApp({
      version: mqVersion,
      readiness: () => [
        { name: "store", ok: store.isOpen, detail: store.isOpen ? `recovered in ${store.recovery.durationMs.toFixed(0)} ms` : "closed" },
        { name: "disk", ok: !store.retention.diskFull, detail: `${Math.round(store.retention.usedRatio * 100)}% used` },
      ],
    });
    try {
      http = Bun.serve({ hostname: config.listen, port: config.httpPort, fetch: app.fetch });
    } catch (error) {
      throw new MqError("LISTEN_FAILED", { address: `${config.listen}:${config.httpPort}`, reason: (error as Error).message });
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  const startedInMs = performance.now() - startMs;
  let stopping: Promise<void> | undefined;
  return {
    store,
    httpPort: http.port ?? config.httpPort,
    startedInMs,
    stop() {
      stopping ??= (async () => {
        await http?.stop(true);
        await store.close();
      })();
      return stopping;
    },
  };
}
