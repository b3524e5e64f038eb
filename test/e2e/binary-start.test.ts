/**
 * The compiled binary, end to end: `dist/mq` is built once, then started as real processes on
 * loopback. Waits poll the process or its HTTP probes with a deadline; every process started
 * here is killed by PID when its test ends.
 *
 * The tests run a private copy of `dist/mq`: another run of this suite (or `npm run build`)
 * rewriting `dist/mq` in place would otherwise make spawning it fail with ETXTBSY.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { buildBinaryCopy, buildTimeoutMs, exitTimeoutMs, fetchOrUndefined, freePort, MqProcesses, startMq, startTimeoutMs, stopMq, waitForOk, withDeadline, writeConfig } from "./helpers.ts";

let processes: MqProcesses;

function runMq(args: string[], env: Record<string, string> = {}) {
  return processes.run(args, { env });
}

beforeAll(() => {
  processes = new MqProcesses(buildBinaryCopy());
}, buildTimeoutMs);

afterEach(() => processes.killAll());
afterAll(() => {
  processes.killAll();
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
    "--data 0042 uses the directory named 0042, as typed (not 42)",
    async () => {
      const dir = makeTempDir("mq-e2e-");
      const config = writeConfig(dir);
      const httpPort = freePort();
      const entry = processes.spawn(["start", "--data", "0042", "--port", "0", "--namesrv-port", "0", "--http-port", String(httpPort), "--listen", "127.0.0.1", "--config", config], { cwd: dir });
      await waitForOk(entry, `http://127.0.0.1:${httpPort}/ready`);
      expect({ typed: existsSync(join(dir, "0042", "lock")), coerced: existsSync(join(dir, "42")) }).toEqual({ typed: true, coerced: false });
      expect(await stopMq({ entry })).toBe(0);
    },
    startTimeoutMs + exitTimeoutMs,
  );
  test(
    "serves /health and /ready, holds the data dir, refuses a second process, and shuts down cleanly on SIGTERM",
    async () => {
      const dir = makeTempDir("mq-e2e-");
      const dataDir = join(dir, "data");
      const config = writeConfig(dir);
      const first = await startMq(processes, dataDir, config);

      const health = await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/health`);
      expect(await health.json()).toMatchObject({ status: "ok" });
      const ready = await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      expect(await ready.json()).toMatchObject({ status: "ready" });

      for (const name of ["commitlog", "lock", "abort"]) expect({ name, exists: existsSync(join(dataDir, name)) }).toEqual({ name, exists: true });

      const second = await runMq(["start", "--data", dataDir, "--http-port", String(freePort()), "--port", String(freePort()), "--namesrv-port", "0", "--listen", "127.0.0.1", "--config", config]);
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
      const config = writeConfig(dir);
      const first = await startMq(processes, dataDir, config);
      await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      expect(await stopMq(first)).toBe(0);

      const again = await startMq(processes, dataDir, config);
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
      const config = writeConfig(dir);
      const first = await startMq(processes, dataDir, config);
      await waitForOk(first.entry, `http://127.0.0.1:${first.httpPort}/ready`);
      first.entry.process.kill("SIGKILL");
      await withDeadline(first.entry.process.exited, exitTimeoutMs, "mq to die after SIGKILL");
      expect(existsSync(join(dataDir, "abort"))).toBe(true);

      const again = await startMq(processes, dataDir, config);
      const ready = await waitForOk(again.entry, `http://127.0.0.1:${again.httpPort}/ready`);
      expect(await ready.json()).toMatchObject({ status: "ready" });
      expect(await stopMq(again)).toBe(0);
      expect(existsSync(join(dataDir, "abort"))).toBe(false);
    },
    startTimeoutMs * 4 + exitTimeoutMs * 2,
  );
});
