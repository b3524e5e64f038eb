/**
 * Shared by the end-to-end suites: build `dist/mq` once per file and run a private copy of it
 * (another run of the suite, or `npm run build`, rewriting `dist/mq` in place would make spawning
 * it fail with ETXTBSY), start `mq start` on free loopback ports, run CLI commands to completion
 * with a deadline, and kill by PID whatever a test started. Waits poll with a deadline; nothing
 * sleeps for a fixed time.
 */

import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeTempDir } from "../helpers/temp-dir.ts";
import { freePort } from "../helpers/free-port.ts";

export const repoRoot = resolve(import.meta.dir, "../..");
const builtBinary = join(repoRoot, "dist", "mq");

export const buildTimeoutMs = 120_000;
export const startTimeoutMs = 30_000;
export const exitTimeoutMs = 30_000;
const pollIntervalMs = 20;

/** The parent's environment without MQ_* settings, so a developer's shell cannot change the outcome. */
export const cleanEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined),
);

/** Builds dist/mq and copies it aside; a copy taken while a concurrent build rewrote it fails `--version` and is retried. */
export function buildBinaryCopy(prefix = "mq-e2e-bin-"): string {
  const binary = join(makeTempDir(prefix), "mq");
  let lastFailure = "";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const build = Bun.spawnSync([process.execPath, "scripts/build.ts"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe", env: cleanEnv });
    if (build.exitCode !== 0) {
      lastFailure = `scripts/build.ts exited with ${build.exitCode}:\n${build.stdout.toString()}${build.stderr.toString()}`;
      continue;
    }
    if (!existsSync(builtBinary)) throw new Error(`scripts/build.ts did not write ${builtBinary}`);
    copyFileSync(builtBinary, binary);
    const probe = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe", env: cleanEnv });
    if (probe.exitCode === 0) return binary;
    lastFailure = `the copied binary's --version exited with ${probe.exitCode}: ${probe.stderr.toString()}`;
  }
  throw new Error(lastFailure);
}

export { freePort };

export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Started {
  process: Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  stdout: Promise<string>;
  stderr: Promise<string>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Written to the process's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** The working directory (default: the repository root). */
  cwd?: string;
}

/** Processes of one binary, tracked so that a test's leftovers can be killed by PID. */
export class MqProcesses {
  private readonly started: Started[] = [];

  constructor(readonly binary: string) {}

  spawn(args: string[], options: SpawnOptions = {}): Started {
    const child = Bun.spawn([this.binary, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...cleanEnv, ...options.env },
      stdin: options.stdin === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    if (options.stdin !== undefined && child.stdin !== undefined && child.stdin !== null && typeof child.stdin !== "number") {
      child.stdin.write(options.stdin);
      void child.stdin.end();
    }
    const entry: Started = { process: child, stdout: new Response(child.stdout).text(), stderr: new Response(child.stderr).text() };
    this.started.push(entry);
    return entry;
  }

  /** Runs the binary to completion (killed if it outlives `timeoutMs`) and returns its exit code and output. */
  async run(args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
    const startMs = performance.now();
    const entry = this.spawn(args, options);
    const timeoutMs = options.timeoutMs ?? exitTimeoutMs;
    try {
      const exitCode = await withDeadline(entry.process.exited, timeoutMs, `mq ${args.join(" ")} to exit`);
      return { exitCode, stdout: await entry.stdout, stderr: await entry.stderr, elapsedMs: performance.now() - startMs };
    } catch (error) {
      killStarted(entry);
      const output = await withDeadline(Promise.all([entry.stdout, entry.stderr]), 2_000, "the killed process's output").catch(() => ["", ""]);
      throw new Error(`${(error as Error).message}\nstdout: ${output[0]}\nstderr: ${output[1]}`);
    }
  }

  /** SIGKILLs every process started here that is still running. */
  killAll(): void {
    for (const entry of this.started.splice(0)) killStarted(entry);
  }
}

function killStarted(entry: Started): void {
  if (entry.process.exitCode !== null || entry.process.signalCode !== null) return;
  try {
    process.kill(entry.process.pid, "SIGKILL");
  } catch {
    // Already gone between the check and the kill.
  }
}

export async function fetchOrUndefined(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(2_000) });
  } catch {
    return undefined;
  }
}

/** Polls `url` until it answers 200, failing early if the process exits. */
export async function waitForOk(entry: Started, url: string, timeoutMs = startTimeoutMs): Promise<Response> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (entry.process.exitCode !== null) {
      throw new Error(`mq exited with ${entry.process.exitCode} before ${url} answered: ${await entry.stderr}${await entry.stdout}`);
    }
    const response = await fetchOrUndefined(url);
    if (response?.status === 200) return response;
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for 200 from ${url} (last: ${response?.status ?? "no answer"})`);
    await Bun.sleep(pollIntervalMs);
  }
}

/** Writes `mq.yaml` in `dir` (small files: no 1 GiB CommitLog is allocated) and returns its path. */
export function writeConfig(dir: string, yaml = "commitLogFileBytes: 65536\nconsumeQueueEntriesPerFile: 8\ndiskMaxUsedSpaceRatio: 0.98\ndiskFullRatio: 0.99\n"): string {
  const path = join(dir, "mq.yaml");
  writeFileSync(path, yaml);
  return path;
}

export interface RunningMq {
  entry: Started;
  port: number;
  httpPort: number;
  dataDir: string;
  /** `127.0.0.1:<port>`, for `--broker`. */
  broker: string;
}

/**
 * Starts `mq start` on free loopback ports and waits for /ready; retries if a port was taken
 * meanwhile. `extraArgs` go after the others (e.g. `--role broker,http`).
 */
export async function startMq(processes: MqProcesses, dataDir: string, config: string, extraArgs: string[] = []): Promise<RunningMq> {
  for (let attempt = 1; ; attempt++) {
    const httpPort = freePort();
    const port = freePort();
    // A free NameServer port too: role all would otherwise take the fixed 9876.
    const args = ["start", "--data", dataDir, "--http-port", String(httpPort), "--port", String(port), "--namesrv-port", String(freePort()), "--listen", "127.0.0.1", "--config", config, ...extraArgs];
    const entry = processes.spawn(args);
    try {
      await waitForOk(entry, `http://127.0.0.1:${httpPort}/ready`);
      return { entry, port, httpPort, dataDir, broker: `127.0.0.1:${port}` };
    } catch (error) {
      const portTaken = /in use|EADDRINUSE/i.test(String(error));
      if (!portTaken || attempt >= 3) throw error;
    }
  }
}

/** SIGTERM, then the exit code (a clean shutdown is 0). */
export async function stopMq(running: Pick<RunningMq, "entry">): Promise<number> {
  running.entry.process.kill("SIGTERM");
  return withDeadline(running.entry.process.exited, exitTimeoutMs, "mq to exit after SIGTERM");
}
