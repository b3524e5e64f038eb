/**
 * `npm start` as Docker, systemd and pm2 run it (issue 9, item 15): one SIGTERM to the npm
 * process must stop mq too, releasing its ports and its data dir's lock — no orphan left behind.
 * Flags reach `mq start` through `npm start -- ...`.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "../helpers/wait-for.ts";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { cleanEnv, exitTimeoutMs, freePort, repoRoot, startTimeoutMs, waitForOk, withDeadline } from "./helpers.ts";

const started: number[] = [];

afterAll(() => {
  for (const pid of started.splice(0)) if (isRunning(pid)) process.kill(pid, "SIGKILL");
  removeTempDirs();
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  test("one SIGTERM to the npm process stops mq: the child is gone and the data dir's lock is free", async () => {
    const dataDir = join(makeTempDir("mq-npm-start-"), "data");
    const httpPort = freePort();
    const npm = Bun.spawn(["npm", "start", "--", "--data", dataDir, "--port", "0", "--namesrv-port", "0", "--http-port", String(httpPort), "--listen", "127.0.0.1"], {
      cwd: repoRoot,
      env: cleanEnv,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    started.push(npm.pid);
    const stderr = new Response(npm.stderr).text();
    void new Response(npm.stdout).text();
    await waitForOk({ process: npm, stdout: Promise.resolve(""), stderr }, `http://127.0.0.1:${httpPort}/ready`, startTimeoutMs * 2);
    // The lock file holds the pid of the process that runs the store: mq itself, not npm.
    const mqPid = Number(readFileSync(join(dataDir, "lock"), "utf8").trim());
    started.push(mqPid);
    expect({ mqIsAnotherProcess: mqPid !== npm.pid, running: isRunning(mqPid) }).toEqual({ mqIsAnotherProcess: true, running: true });

    npm.kill("SIGTERM");
    await withDeadline(npm.exited, exitTimeoutMs, "npm to exit after SIGTERM");
    await waitUntil(`mq (pid ${mqPid}) to exit`, () => !isRunning(mqPid), exitTimeoutMs, 20);
    const lock = spawnSync("flock", ["--nonblock", join(dataDir, "lock"), "true"]);
    expect({ lockFree: lock.status === 0, stderr: await stderr }).toEqual({ lockFree: true, stderr: await stderr });
    expect(await stderr).toContain("Received SIGTERM: shutting down");
  }, 60_000);
});
