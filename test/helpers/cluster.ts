/**
 * Cluster members as real processes on 127.0.0.1, for multi-process tests (STYLE.md §14):
 * `startNamesrvProcess()` runs `mq start --role namesrv`, `startBrokerProcess()` runs
 * `mq start --role broker,http --namesrv ...`, both as `process.execPath src/cli/main.ts`.
 *
 * Settings come from a small YAML file passed with --config: 16 MiB CommitLog files (production
 * preallocates 1 GiB) and cluster intervals short enough that a broker expires within seconds
 * (heartbeat 500 ms, scan 250 ms, expiry 3 s unless told otherwise).
 *
 * Each start resolves once the process accepts TCP connections on its port; `waitReady()` then
 * waits for a broker's `/ready` (store recovered and registered with a NameServer). Waits are
 * bounded polls, never fixed sleeps. Every process still running when the test file ends is
 * killed by pid; tests should `stop()` what they start anyway.
 */

import { rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";
import { makeTempDir } from "./temp-dir.ts";
import { freePort } from "./free-port.ts";

const root = resolve(import.meta.dir, "../..");
const startTimeoutMs = 20_000;
const readyTimeoutMs = 20_000;
const pollIntervalMs = 20;

/** Cluster timings for tests: fast enough to expire a killed broker in a few seconds. */
export const testClusterTimings = {
  brokerHeartbeatIntervalMs: 500,
  namesrvScanIntervalMs: 250,
  brokerExpiryMs: 3_000,
} as const;

export interface ClusterProcess {
  readonly pid: number;
  readonly port: number;
  /** `127.0.0.1:<port>`: a NameServer address, or the broker's advertised address. */
  readonly address: string;
  readonly exited: Promise<number>;
  /** The process's log (stderr) so far, its last 64 KiB. */
  stderr(): string;
  /** SIGTERM and wait for the exit: a broker unregisters and flushes. Resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait for the exit: no shutdown work at all. */
  kill(): Promise<number>;
  /** Resolves once the process serves: a NameServer accepts connections, a broker's /ready answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
}

export interface BrokerClusterProcess extends ClusterProcess {
  readonly brokerName: string;
  readonly dataDir: string;
  readonly httpPort: number;
}

export interface NamesrvProcessOptions {
  /** Default: a port free right now. */
  readonly port?: number;
  readonly namesrvScanIntervalMs?: number;
  readonly brokerExpiryMs?: number;
  /** Extra `mq start` flags. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface BrokerProcessOptions {
  /** NameServer addresses ("host:port"); a string may hold several separated by ";". */
  readonly namesrv: string | readonly string[];
  readonly brokerName: string;
  readonly clusterName?: string;
  readonly brokerId?: number;
  /** Default: a port free right now. Pass the old one (and dataDir) to restart a broker. */
  readonly port?: number;
  /** Default: a fresh temporary directory, removed when the test file ends. */
  readonly dataDir?: string;
  readonly flush?: "async" | "sync";
  readonly brokerHeartbeatIntervalMs?: number;
  readonly brokerExpiryMs?: number;
  readonly autoCreateTopics?: boolean;
  readonly defaultTopicQueues?: number;
  /** Extra `mq start` flags. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const running = new Set<ClusterProcess>();
const ownedDirs: string[] = [];

/**
 * Kills every process started here and removes their dirs. Each test file that starts processes
 * calls `afterAll(stopClusterProcesses)` itself: a hook registered at a helper module's top
 * level binds only to the first file that imports it (see cleanup-hooks.ts).
 */
export async function stopClusterProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill()));
  running.clear();
  for (const dir of ownedDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function startNamesrvProcess(options: NamesrvProcessOptions = {}): Promise<ClusterProcess> {
  const port = options.port ?? freePort();
  const configFile = writeConfig({
    logLevel: "info",
    namesrvScanIntervalMs: options.namesrvScanIntervalMs ?? testClusterTimings.namesrvScanIntervalMs,
    brokerExpiryMs: options.brokerExpiryMs ?? testClusterTimings.brokerExpiryMs,
    // The expiry must stay above the heartbeat interval, which the schema checks on every role.
    brokerHeartbeatIntervalMs: Math.min(testClusterTimings.brokerHeartbeatIntervalMs, (options.brokerExpiryMs ?? testClusterTimings.brokerExpiryMs) - 1),
  });
  const child = spawnMq(["--role", "namesrv", "--port", String(port), "--listen", "127.0.0.1", "--config", configFile, ...(options.args ?? [])], options.env);
  const handle = wrap(child, port, () => waitForPort(port, child, readyTimeoutMs));
  await waitForPort(port, child, startTimeoutMs).catch(async (error: unknown) => {
    await handle.kill();
    throw error;
  });
  return handle;
}

/**
 * Starts a broker process and waits until its broker and HTTP ports accept connections. A port
 * picked free can be taken by someone else before the process binds it: such a start (it exits
 * with LISTEN_FAILED) is retried on fresh ports, a few times.
 */
export async function startBrokerProcess(options: BrokerProcessOptions): Promise<BrokerClusterProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBrokerProcessOnce(options);
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes("LISTEN_FAILED")) throw error;
    }
  }
}

async function startBrokerProcessOnce(options: BrokerProcessOptions): Promise<BrokerClusterProcess> {
  const port = options.port ?? freePort();
  const httpPort = freePort();
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = makeTempDir(`mq-${options.brokerName}-`);
    ownedDirs.push(dataDir);
  }
  const namesrv = typeof options.namesrv === "string" ? options.namesrv : options.namesrv.join(";");
  const configFile = writeConfig({
    logLevel: "info",
    commitLogFileBytes: 16 * 1024 * 1024,
    // A shared disk's fill level must not refuse sends in tests about other things.
    diskMaxUsedSpaceRatio: 0.98,
    diskFullRatio: 0.99,
    consumeQueueEntriesPerFile: 4_096,
    brokerHeartbeatIntervalMs: options.brokerHeartbeatIntervalMs ?? testClusterTimings.brokerHeartbeatIntervalMs,
    brokerExpiryMs: options.brokerExpiryMs ?? testClusterTimings.brokerExpiryMs,
    ...(options.flush === undefined ? {} : { flush: options.flush }),
    ...(options.autoCreateTopics === undefined ? {} : { autoCreateTopics: options.autoCreateTopics }),
    ...(options.defaultTopicQueues === undefined ? {} : { defaultTopicQueues: options.defaultTopicQueues }),
  });
  const args = [
    "--role", "broker,http",
    "--namesrv", namesrv,
    "--broker-name", options.brokerName,
    "--cluster", options.clusterName ?? "DefaultCluster",
    "--broker-id", String(options.brokerId ?? 0),
    "--port", String(port),
    "--http-port", String(httpPort),
    "--ha-port", "0",
    "--listen", "127.0.0.1",
    "--data", dataDir,
    "--config", configFile,
    ...(options.args ?? []),
  ];
  const child = spawnMq(args, options.env);
  const handle = wrap(child, port, (timeoutMs) => waitForReady(httpPort, child, timeoutMs));
  try {
    await waitForPort(port, child, startTimeoutMs);
    await waitForPort(httpPort, child, startTimeoutMs);
  } catch (error) {
    await handle.kill();
    throw error;
  }
  return { ...handle, brokerName: options.brokerName, dataDir, httpPort };
}

export { freePort };

interface Child {
  readonly process: Bun.Subprocess<"ignore", "ignore", "pipe">;
  log: string;
}

function spawnMq(args: readonly string[], env: Readonly<Record<string, string>> | undefined): Child {
  // The parent's MQ_* settings must not change what a test starts.
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined));
  const subprocess = Bun.spawn([process.execPath, join(root, "src/cli/main.ts"), "start", ...args], {
    cwd: root,
    env: { ...cleanEnv, ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const child: Child = { process: subprocess, log: "" };
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of subprocess.stderr) child.log = (child.log + decoder.decode(chunk, { stream: true })).slice(-65_536);
  })();
  return child;
}

function wrap(child: Child, port: number, ready: (timeoutMs: number) => Promise<void>): ClusterProcess {
  const exited = child.process.exited;
  const signal = async (name: "SIGTERM" | "SIGKILL"): Promise<number> => {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      try {
        process.kill(child.process.pid, name);
      } catch {
        // Gone between the check and the signal.
      }
    }
    const code = await exited;
    running.delete(handle);
    return code;
  };
  const handle: ClusterProcess = {
    pid: child.process.pid,
    port,
    address: `127.0.0.1:${port}`,
    exited,
    stderr: () => child.log,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    waitReady: (timeoutMs = readyTimeoutMs) => ready(timeoutMs),
  };
  running.add(handle);
  return handle;
}

function writeConfig(settings: Record<string, unknown>): string {
  const dir = makeTempDir("mq-cluster-config-");
  ownedDirs.push(dir);
  const file = join(dir, "mq.yaml");
  writeFileSync(file, Object.entries(settings).map(([key, value]) => `${key}: ${JSON.stringify(value)}\n`).join(""));
  return file;
}

function exitedEarly(child: Child): string | undefined {
  const { exitCode, signalCode } = child.process;
  if (exitCode === null && signalCode === null) return undefined;
  return `mq start (pid ${child.process.pid}) exited with ${exitCode ?? signalCode}:\n${child.log}`;
}

async function waitForPort(port: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await canConnect(port))) {
    const early = exitedEarly(child);
    if (early !== undefined) throw new Error(early);
    if (performance.now() > deadline) throw new Error(`mq start (pid ${child.process.pid}) did not listen on ${port} within ${timeoutMs} ms:\n${child.log}`);
    await Bun.sleep(pollIntervalMs);
  }
}

async function waitForReady(httpPort: number, child: Child, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/ready`);
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    const early = exitedEarly(child);
    if (early !== undefined) throw new Error(early);
    if (performance.now() > deadline) throw new Error(`mq start (pid ${child.process.pid}) was not ready within ${timeoutMs} ms (last /ready: ${last}):\n${child.log}`);
    await Bun.sleep(pollIntervalMs);
  }
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
