/**
 * Real brokers for tests, on 127.0.0.1:
 * - `startTestBroker()` runs one in this process (store + net Server + Broker) on a random port
 *   with a temporary data dir; `restart()` reopens the same data dir on the same port, the way
 *   a client sees a broker bounce. Everything started is stopped after each test.
 * - `spawnBrokerProcess()` runs `src/cli/main.ts start` as a child process, for kill -9 and
 *   restart tests; it is killed by pid after each test.
 *
 * Both resolve only once the broker answers on its port, so tests need no sleeps.
 */

import { rmSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { Broker, type BrokerConfig } from "../../src/broker/broker.ts";
import type { MessageTransform } from "../../src/broker/message-transform.ts";
import { EventBus } from "../../src/common/bus.ts";
import type { Clock } from "../../src/common/clock.ts";
import { type Logger, silentLogger } from "../../src/common/logger.ts";
import { Server, type ServerOptions } from "../../src/net/server.ts";
import { MessageStore } from "../../src/store/message-store.ts";
import { type FlushMode, type MessageStoreOptions, type StoreEvents, tinyStoreProfile } from "../../src/store/store-options.ts";
import { makeTempDir } from "./temp-dir.ts";
import { afterEachTest } from "./cleanup-hooks.ts";
import { freePort } from "./free-port.ts";

export interface TestBrokerOptions {
  /** Reuse a data dir (default: a fresh temporary one). */
  readonly dataDir?: string;
  /** Small CommitLog and consume-queue files, so rolls happen within a few messages. */
  readonly tiny?: boolean;
  readonly flush?: FlushMode;
  /** Broker settings (auto-create, expiry times, long-poll bounds...). */
  readonly config?: Partial<BrokerConfig>;
  /** The broker's clock (heartbeat expiry, lock expiry, long-poll timeouts, offset persistence). */
  readonly clock?: Clock;
  readonly server?: Partial<Omit<ServerOptions, "host" | "port">>;
  readonly store?: Partial<MessageStoreOptions>;
  readonly logger?: Logger;
  /** The message service's transforms (message-transform.ts). */
  readonly transforms?: readonly MessageTransform[];
  /** The broker's trace queue bound (default traceQueueHopsMax). */
  readonly traceQueueHopsMax?: number;
}

export interface TestBroker {
  /** The bound port; kept across `restart()`. */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly dataDir: string;
  /** The current store (a new object after `restart()`). */
  readonly store: MessageStore;
  readonly broker: Broker;
  readonly server: Server;
  /** Stops the broker (offsets persisted), its server and its store. Idempotent. */
  stop(): Promise<void>;
  /** Stops, then starts again on the same data dir and port. */
  restart(): Promise<void>;
}

/**
 * Files small enough that dozens of test brokers fit on any disk (production defaults
 * preallocate a 1 GiB CommitLog file and an 80 MiB index each), yet large enough for a
 * largest (4 MiB) message.
 */
export const testStoreProfile = {
  commitLogFileBytes: 16 * 1024 * 1024,
  consumeQueueEntriesPerFile: 4_096,
  indexSlotsPerFile: 4_096,
  indexEntriesPerFile: 16_384,
  warmAheadBytes: 4 * 1024 * 1024,
  // The machine's disk is shared: its fill level must not refuse sends in tests about other
  // things (disk-full behaviour has its own tests with an injected probe).
  diskMaxUsedSpaceRatio: 0.98,
  diskFullRatio: 0.99,
} as const satisfies Partial<MessageStoreOptions>;

const running = new Set<{ stop(): Promise<void> }>();

const pendingRemovals = new Set<string>();

afterEachTest(async () => {
  for (const entry of [...running]) await entry.stop();
  for (const dir of pendingRemovals) rmSync(dir, { recursive: true, force: true });
  pendingRemovals.clear();
});

interface Parts {
  store: MessageStore;
  server: Server;
  broker: Broker;
}

async function startParts(options: TestBrokerOptions, dataDir: string, port: number): Promise<Parts> {
  const logger = options.logger ?? silentLogger;
  const bus = new EventBus<StoreEvents>();
  // Listen first, so records carry the real port as their store host (offsetMsgIds agree).
  const server = await Server.listen({ ...options.server, host: "127.0.0.1", port, logger });
  let store: MessageStore;
  try {
    store = await MessageStore.open({ dataDir, ...testStoreProfile, ...(options.tiny ? tinyStoreProfile : {}), flush: options.flush ?? "async", logger, ...options.store, storeHost: { ip: "127.0.0.1", port: server.port }, bus });
  } catch (error) {
    await server.close();
    throw error;
  }
  try {
    const broker = await Broker.start({ store, server, advertisedHost: "127.0.0.1", config: options.config, transforms: options.transforms, clock: options.clock, logger, traceQueueHopsMax: options.traceQueueHopsMax });
    return { store, server, broker };
  } catch (error) {
    await server.close();
    await store.close();
    throw error;
  }
}

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? makeTempDir("mq-broker-");
  let parts: Parts | undefined = await startParts(options, dataDir, 0);
  const port = parts.server.port;
  const current = (): Parts => {
    if (parts === undefined) throw new Error(`Test broker on 127.0.0.1:${port} is stopped`);
    return parts;
  };
  const stop = async (): Promise<void> => {
    const stopping = parts;
    parts = undefined;
    if (stopping === undefined) return;
    await stopping.broker.stop();
    await stopping.server.close();
    await stopping.store.close();
  };
  // After each test: stop, and remove the data dir this helper made (brokers are not small).
  const cleanup = {
    stop: async () => {
      running.delete(cleanup);
      await stop();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const handle: TestBroker = {
    port,
    address: `127.0.0.1:${port}`,
    dataDir,
    get store() {
      return current().store;
    },
    get broker() {
      return current().broker;
    },
    get server() {
      return current().server;
    },
    stop,
    async restart() {
      await stop();
      parts = await startParts(options, dataDir, port);
      running.add(cleanup);
    },
  };
  running.add(cleanup);
  return handle;
}

// --- A broker in its own process -------------------------------------------------------------

const root = resolve(import.meta.dir, "../..");
const processStartTimeoutMs = 20_000;

export interface BrokerProcessOptions {
  readonly dataDir?: string;
  /** Default: a port free right now. */
  readonly port?: number;
  /** Extra `mq start` flags. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface BrokerProcess {
  readonly pid: number;
  readonly port: number;
  readonly address: string;
  readonly dataDir: string;
  readonly exited: Promise<number>;
  /** What the process wrote to stderr so far (its log). */
  stderr(): string;
  /** SIGTERM and wait for a clean exit (offsets persisted). */
  stop(): Promise<number>;
  /** SIGKILL: no shutdown work at all. */
  kill(): Promise<number>;
}

export { freePort };

export async function spawnBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? makeTempDir("mq-broker-process-");
  const port = options.port ?? freePort();
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined),
  );
  const child = Bun.spawn(
    [process.execPath, join(root, "src/cli/main.ts"), "start", "--data", dataDir, "--port", String(port), "--http-port", "0", "--listen", "127.0.0.1", ...(options.args ?? [])],
    { cwd: root, env: { ...env, MQ_LOG_LEVEL: "warn", MQ_NAMESRV_PORT: "0", MQ_COMMIT_LOG_FILE_BYTES: String(testStoreProfile.commitLogFileBytes), MQ_CONSUME_QUEUE_ENTRIES_PER_FILE: String(testStoreProfile.consumeQueueEntriesPerFile), MQ_DISK_MAX_USED_SPACE_RATIO: "0.98", MQ_DISK_FULL_RATIO: "0.99", ...options.env }, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  let log = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) log = (log + decoder.decode(chunk, { stream: true })).slice(-65_536);
  })();
  const exited = child.exited;
  const signal = async (name: "SIGTERM" | "SIGKILL"): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, name);
      } catch {
        // Gone between the check and the signal.
      }
    }
    return exited;
  };
  const handle: BrokerProcess = {
    pid: child.pid,
    port,
    address: `127.0.0.1:${port}`,
    dataDir,
    exited,
    stderr: () => log,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
  const entry = {
    stop: async () => {
      running.delete(entry);
      await handle.kill();
      // A later process may reuse the dir (restart tests pass it on): remove only when it is ours and this was the last user.
      if (ownsDataDir) pendingRemovals.add(dataDir);
    },
  };
  running.add(entry);
  const deadline = performance.now() + processStartTimeoutMs;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Broker process exited with ${child.exitCode ?? child.signalCode} before listening on ${port}:\n${log}`);
    if (performance.now() > deadline) {
      await handle.kill();
      throw new Error(`Broker process did not listen on ${port} within ${processStartTimeoutMs} ms:\n${log}`);
    }
    await Bun.sleep(20);
  }
  return handle;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once("error", () => resolvePromise(false));
  });
}
