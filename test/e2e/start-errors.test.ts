/**
 * `mq start` given bad input (issue 9, items 8 and 10): an unknown flag, a port out of range, an
 * --advertise that is no address, a data dir that is a file, lies under a file, or sits on a
 * read-only file system. Each is a real process
 * that must exit non-zero with one catalogue-style line on stderr naming the problem, and no
 * stack trace.
 *
 * The read-only case mounts a small tmpfs and remounts it read-only: as root, permission bits
 * do not stop writes, a read-only mount does. Where mounting is not permitted the case is
 * skipped with the reason printed.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { cleanEnv, exitTimeoutMs, repoRoot, withDeadline } from "./helpers.ts";

const mounts: string[] = [];

afterAll(() => {
  for (const mount of mounts.splice(0)) spawnSync("umount", [mount]);
  removeTempDirs();
});

/** Runs `mq start ARGS` from source to completion; a start that does not fail is killed and reported. */
async function startFails(args: string[]): Promise<{ exitCode: number; stderr: string; stdout: string }> {
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/cli/main.ts"), "start", "--listen", "127.0.0.1", "--port", "0", "--http-port", "0", ...args], {
    cwd: makeTempDir("mq-start-errors-cwd-"),
    env: cleanEnv,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const exitCode = await withDeadline(child.exited, exitTimeoutMs, `mq start ${args.join(" ")} to fail`);
    return { exitCode, stderr: await new Response(child.stderr).text(), stdout: await new Response(child.stdout).text() };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

/** Non-zero exit, exactly one line on stderr in the catalogue's form, mentioning `names`, no stack. */
function expectOneLine(result: { exitCode: number; stderr: string }, errorName: string, names: string): void {
  const lines = result.stderr.trim().split("\n");
  expect({ failed: result.exitCode !== 0, lines: lines.length, stack: /^\s+at /m.test(result.stderr) }).toEqual({ failed: true, lines: 1, stack: false });
  expect(lines[0]).toMatch(new RegExp(`^Error \\d+ ${errorName}: `));
  expect(lines[0]).toContain(names);
}

/** A failure after start-up began: log lines may come first, the error is the last line, no stack. */
function expectEndsWithLine(result: { exitCode: number; stderr: string }, errorName: string, names: string): void {
  const last = result.stderr.trim().split("\n").at(-1) ?? "";
  expect({ failed: result.exitCode !== 0, stack: /^\s+at /m.test(result.stderr) }).toEqual({ failed: true, stack: false });
  expect(last).toMatch(new RegExp(`^Error \\d+ ${errorName}: `));
  expect(last).toContain(names);
}

describe("mq start: bad input is one line, no stack trace", () => {
  test("an unknown flag is named", async () => {
    expectOneLine(await startFails(["--data", join(makeTempDir(), "data"), "--nosuch"]), "INVALID_CONFIG", '"--nosuch"');
  });

  test("a negative port is refused as a port, not read as a flag", async () => {
    expectOneLine(await startFails(["--data", join(makeTempDir(), "data"), "--port", "-1"]), "INVALID_CONFIG", '"port" must be a port number');
  });

  test("an --advertise that is neither an IP address nor a host name is refused before anything starts", async () => {
    expectOneLine(await startFails(["--data", join(makeTempDir(), "data"), "--advertise", "not a host!"]), "INVALID_CONFIG", '"advertise" must be an IPv4 address, an IPv6 address or a host name, got "not a host!"');
  });

  test("a data dir that is a file", async () => {
    const file = join(makeTempDir(), "file");
    writeFileSync(file, "x");
    expectOneLine(await startFails(["--data", file]), "STORE_IO", "it is a file, not a directory");
  });

  test("a data dir under a file names the file", async () => {
    const file = join(makeTempDir(), "file");
    writeFileSync(file, "x");
    expectOneLine(await startFails(["--data", join(file, "data")]), "STORE_IO", `"${file}" is a file`);
  });

  test("a busy port names the flag that changes it", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const busy = String(holder.port);
      const dir = makeTempDir();
      expectEndsWithLine(await startFails(["--data", join(dir, "a"), "--http-port", busy]), "LISTEN_FAILED", "choose another port with --http-port");
      expectEndsWithLine(await startFails(["--data", join(dir, "b"), "--port", busy, "--namesrv-port", "0"]), "LISTEN_FAILED", "choose another port with --port");
      expectEndsWithLine(await startFails(["--data", join(dir, "c"), "--namesrv-port", busy]), "LISTEN_FAILED", "choose another port with --namesrv-port");
    } finally {
      holder.stop(true);
    }
  });

  test("a --listen address this host does not have says so", async () => {
    // 198.51.100.0/24 is TEST-NET-2 (RFC 5737): never a real host's address.
    expectEndsWithLine(await startFails(["--data", join(makeTempDir(), "data"), "--listen", "198.51.100.77"]), "LISTEN_FAILED", "--listen must be an address of this host");
  });

  test("a data dir on a read-only file system", async () => {
    const mount = makeTempDir("mq-start-errors-ro-");
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], { encoding: "utf8" });
    if (mounted.status !== 0) {
      console.log(`skipped: cannot mount a tmpfs to make a read-only file system (${(mounted.stderr || mounted.error?.message || "").trim()})`);
      return;
    }
    mounts.push(mount);
    mkdirSync(join(mount, "data"));
    const remounted = spawnSync("mount", ["-o", "remount,ro", mount], { encoding: "utf8" });
    expect({ remount: remounted.status, stderr: remounted.stderr }).toEqual({ remount: 0, stderr: "" });
    expectOneLine(await startFails(["--data", join(mount, "data")]), "STORE_IO", "read-only");
    expectOneLine(await startFails(["--data", join(mount, "missing")]), "STORE_IO", "read-only");
  });
});
