/**
 * The compiled binary, end to end: `dist/mq` is built once, then started as real processes on
 * loopback. Waits poll the process or its HTTP probes with a deadline; every process started
 * here is killed by PID when its test ends.
 *
 * The tests run a private copy of `dist/mq`: another run of this suite (or `npm run build`)
 * rewriting `dist/mq` in place would otherwise make spawning it fail with ETXTBSY.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";

const root = resolve(import.meta.dir, "../..");
const builtBinary = join(root, "dist", "mq");
const binary = join(makeTempDir("mq-e2e-bin-"), "mq");
const buildTimeoutMs = 120_000;
const startTimeoutMs = 15_000;
const exitTimeoutMs = 15_000;
const pollIntervalMs = 20;

/** The parent's environment without MQ_* settings, so a developer's shell cannot change the outcome. */
const cleanEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined),
);

interface Started {
  process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  stdout: Promise<string>;
  stderr: Promise<string>;
}

const started: Started[] = [];

function spawnMq(args: string[], env: Record<string, string> = {}): Started {
  const child = Bun.spawn([binary, ...args], { cwd: root, env: { ...cleanEnv, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const entry = { process: child, stdout: new Response(child.stdout).text(), stderr: new Response(child.stderr).text() };
  started.push(entry);
  return entry;
}

function killAll(): void {
  for (const entry of started.splice(0)) {
    if (entry.process.exitCode !== null || entry.process.signalCode !== null) continue;
    try {
      process.kill(entry.process.pid, "SIGKILL");
    } catch {
      // Already gone between the check and the kill.
    }
  }
}

async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
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

/** Runs the binary to completion and returns its exit code and output. */
async function runMq(args: string[], env: Record<string, string> = {}) {
  const entry = spawnMq(args, env);
  const exitCode = await withDeadline(entry.process.exited, exitTimeoutMs, `mq ${args.join(" ")} to exit`);
  return { exitCode, stdout: await entry.stdout, stderr: await entry.stderr };
}

/** A port nothing listens on right now (the OS picks it; a race with other processes is retried by the caller). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

async function fetchOrUndefined(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(2_000) });
  } catch {
    return undefined;
  }
}

/** Polls `url` until it answers 200, failing early if the process exits. */
async function waitForOk(entry: Started, url: string): Promise<Response> {
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    if (entry.process.exitCode !== null) {
      throw new Error(`mq exited with ${entry.process.exitCode} before ${url} answered: ${await entry.stderr}${await entry.stdout}`);
    }
    const response = await fetchOrUndefined(url);
    if (response?.status === 200) return response;
    if (performance.now() > deadline) throw new Error(`Timed out after ${startTimeoutMs} ms waiting for 200 from ${url} (last: ${response?.status ?? "no answer"})`);
    await Bun.sleep(pollIntervalMs);
  }
}

function writeSmallConfig(dir: string): string {
  const path = join(dir, "mq.yaml");
  writeFileSync(path, "commitLogFileBytes: 65536\nconsumeQueueEntriesPerFile: 8\n");
  return path;
}

interface RunningMq {
  entry: Started;
  httpPort: number;
  dataDir: string;
}

/** Starts `mq start` on free ports and waits for /health; retries if a port was taken meanwhile. */
async function startMq(dataDir: string, config: string): Promise<RunningMq> {
  for (let attempt = 1; ; attempt++) {
    const httpPort = freePort();
    const port = freePort();
    const args = ["start", "--data", dataDir, "--http-port", String(httpPort), "--port", String(port), "--listen", "127.0.0.1", "--config", config];
    const entry = spawnMq(args);
    try {
      await waitForOk(entry, `http://127.0.0.1:${httpPort}/health`);
      return { entry, httpPort, dataDir };
    } catch (error) {
      const portTaken = /in use|EADDRINUSE/i.test(String(error));
      if (!portTaken || attempt >= 3) throw error;
    }
  }
}

async function stopMq(running: RunningMq): Promise<number> {
  running.entry.process.kill("SIGTERM");
  return withDeadline(running.entry.process.exited, exitTimeoutMs, "mq to exit after SIGTERM");
}

/** Builds dist/mq and copies it; a copy taken while a concurrent build rewrote it fails `--version` and is retried. */
function buildAndCopy(): void {
  let lastFailure = "";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const build = Bun.spawnSync([process.execPath, "scripts/build.ts"], { cwd: root, stdout: "pipe", stderr: "pipe", env: cleanEnv });
    if (build.exitCode !== 0) {
      lastFailure = `scripts/build.ts exited with ${build.exitCode}:\n${build.stdout.toString()}${build.stderr.toString()}`;
      continue;
    }
    if (!existsSync(builtBinary)) throw new Error(`scripts/build.ts did not write ${builtBinary}`);
    copyFileSync(builtBinary, binary);
    const probe = Bun.spawnSync([binary, "--version"], { stdout: "pipe", stderr: "pipe", env: cleanEnv });
    if (probe.exitCode === 0) return;
    lastFailure = `the copied binary's --version exited with ${probe.exitCode}: ${probe.stderr.toString()}`;
  }
  throw new Error(lastFailure);
}

beforeAll(buildAndCopy, buildTimeoutMs);

afterEach(killAll);
afterAll(() => {
  killAll();
  removeTempDirs();
});

describe("dist/mq: command line", () => {
  test("--version prints the version and exits 0", async () => {
    const { mqVersion } = await import("../../src/version.ts");
    const result = await runMq(["--version"]);
    expect({ exitCode: result.exitCode, stdout: result.stdout.trim() }).toEqual({ exitCode: 0, stdout: mqVersion });
  });

  test("an unknown command exits non-zero with a message naming the command", async () => {
    const result = await runMq(["nosuchcommand"]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('"nosuchcommand"');
  });

  test("no command prints the help and exits non-zero", async () => {
    const result = await runMq([]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toContain("start");
  });

  test("start --help exits 0 and lists --data", async () => {
    const result = await runMq(["start", "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("--data");
    expect(result.stdout).toContain("--http-port");
  });

  test("start with an unknown option exits non-zero naming it", async () => {
    const dataDir = join(makeTempDir("mq-e2e-"), "data");
    const result = await runMq(["start", "--data", dataDir, "--bogus", "1"]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("--bogus");
    expect(existsSync(dataDir)).toBe(false);
  });

  test('start --http-port notaport exits non-zero naming "httpPort"', async () => {
    const dataDir = join(makeTempDir("mq-e2e-"), "data");
    const result = await runMq(["start", "--data", dataDir, "--http-port", "notaport"]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("INVALID_CONFIG");
    expect(result.stderr).toContain('"httpPort"');
    expect(existsSync(dataDir)).toBe(false);
  });

  test('MQ_FLUSH=never exits non-zero naming "flush"', async () => {
    const dataDir = join(makeTempDir("mq-e2e-"), "data");
    const result = await runMq(["start", "--data", dataDir], { MQ_FLUSH: "never" });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("INVALID_CONFIG");
    expect(result.stderr).toContain('"flush"');
    expect(existsSync(dataDir)).toBe(false);
  });

  test("a config file with an unknown key exits non-zero naming the key", async () => {
    const dir = makeTempDir("mq-e2e-");
    const config = join(dir, "bad.yaml");
    writeFileSync(config, "httpPrt: 8080\n");
    const result = await runMq(["start", "--data", join(dir, "data"), "--config", config]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('"httpPrt"');
  });
});

describe("dist/mq start: lifecycle", () => {
  test(
    "serves /health and /ready, holds the data dir, refuses a second process, and shuts down cleanly on SIGTERM",
    async () => {
      const dir = makeTempDir("mq-e2e-");
      const dataDir = join(dir, "data");
      const config = writeSmallConfig(dir);
      const first = await startMq(dataDir, config);

      const health = await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/health`);
      expect(await health.json()).toMatchObject({ status: "ok" });
      const ready = await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      expect(await ready.json()).toMatchObject({ status: "ready" });

      for (const name of ["commitlog", "lock", "abort"]) expect({ name, exists: existsSync(join(dataDir, name)) }).toEqual({ name, exists: true });

      const second = await runMq(["start", "--data", dataDir, "--http-port", String(freePort()), "--port", String(freePort()), "--listen", "127.0.0.1", "--config", config]);
      expect(second.exitCode).not.toBe(0);
      expect(second.stderr).toContain("locked");
      // The refused process must not have disturbed the first one.
      expect((await fetchOrUndefined(`http://127.0.0.1:${first.httpPort}/ready`))?.status).toBe(200);
      expect(existsSync(join(dataDir, "abort"))).toBe(true);

      expect(await stopMq(first)).toBe(0);
      expect(existsSync(join(dataDir, "abort"))).toBe(false);
      const firstStderr = await first.entry.stderr;
      expect(firstStderr).not.toContain("Error");
    },
    startTimeoutMs * 3 + exitTimeoutMs * 2,
  );

  test(
    "starts again on the same data dir after a clean shutdown",
    async () => {
      const dir = makeTempDir("mq-e2e-");
      const dataDir = join(dir, "data");
      const config = writeSmallConfig(dir);
      const first = await startMq(dataDir, config);
      await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      expect(await stopMq(first)).toBe(0);

      const again = await startMq(dataDir, config);
      const ready = await waitForOk(again.entry, `http://127.0.0.1:${again.httpPort}/ready`);
      expect(await ready.json()).toMatchObject({ status: "ready" });
      expect(existsSync(join(dataDir, "abort"))).toBe(true);
      expect(await stopMq(again)).toBe(0);
      expect(existsSync(join(dataDir, "abort"))).toBe(false);
    },
    startTimeoutMs * 4 + exitTimeoutMs * 2,
  );

  test(
    "a SIGKILLed process leaves the abort marker behind and releases the lock",
    async () => {
      const dir = makeTempDir("mq-e2e-");
      const dataDir = join(dir, "data");
      const config = writeSmallConfig(dir);
      const first = await startMq(dataDir, config);
      await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      first.entry.process.kill("SIGKILL");
      await withDeadline(first.entry.process.exited, exitTimeoutMs, "mq to die after SIGKILL");
      expect(existsSync(join(dataDir, "abort"))).toBe(true);

      const again = await startMq(dataDir, config);
      const ready = await waitForOk(again.entry, `http://127.0.0.1:${again.httpPort}/ready`);
      expect(await ready.json()).toMatchObject({ status: "ready" });
      expect(await stopMq(again)).toBe(0);
      expect(existsSync(join(dataDir, "abort"))).toBe(false);
    },
    startTimeoutMs * 4 + exitTimeoutMs * 2,
  );
});
