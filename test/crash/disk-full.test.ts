/**
 * A disk that fills fast, for real: the test mounts a 16 MiB tmpfs (root only; skipped with the
 * reason printed where mounting is not permitted), puts a 4 MiB ballast file on it, and runs a
 * store in a child process (disk-full-writer.ts) whose four concurrent senders fill it. The
 * process must stay alive (no SIGBUS from a page written past the disk's end), sends past the
 * limit must get STORE_DISK_FULL (disk_full) and nothing else, every acknowledged message must
 * read back intact, and once the ballast is removed sends must succeed again by themselves.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";

const writerPath = join(import.meta.dir, "disk-full-writer.ts");
const mountPoint = join(makeTempDir("mq-disk-full-"), "fs");
mkdirSync(mountPoint);
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
const skipReason = mounted.status === 0 ? undefined : `cannot mount a tmpfs here (${String(mounted.stderr).trim() || `exit ${mounted.status}`}): run as root to test a full disk`;
if (skipReason !== undefined) console.warn(`disk-full.test.ts skipped: ${skipReason}`);

afterAll(() => {
  if (skipReason === undefined) spawnSync("umount", ["-l", mountPoint]);
  removeTempDirs();
});

async function readLine(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, state: { buffer: string }): Promise<string> {
  const decoder = new TextDecoder();
  for (;;) {
    const newline = state.buffer.indexOf("\n");
    if (newline >= 0) {
      const line = state.buffer.slice(0, newline);
      state.buffer = state.buffer.slice(newline + 1);
      return line;
    }
    const chunk = await reader.read();
    if (chunk.done) return state.buffer;
    state.buffer += decoder.decode(chunk.value, { stream: true });
  }
}

describe.skipIf(skipReason !== undefined)("MessageStore: a full disk (16 MiB tmpfs)", () => {
  test("refuses sends with disk_full, stays alive, keeps every acknowledged message readable, and resumes when space returns", async () => {
    const ballast = join(mountPoint, "ballast");
    writeFileSync(ballast, new Uint8Array(4 * 1024 * 1024).fill(1));
    const dataDir = join(mountPoint, "data");
    const child = Bun.spawn([process.execPath, writerPath, dataDir], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    try {
      const reader = child.stdout.getReader();
      const state = { buffer: "" };
      const full = await readLine(reader, state);
      expect(full.startsWith("full ")).toBe(true);
      const report = JSON.parse(full.slice(5)) as { acked: number; refusals: number; otherFailures: string[]; unreadable: number };
      expect(report.otherFailures).toEqual([]);
      expect(report.refusals).toBe(20);
      expect(report.acked).toBeGreaterThan(100); // the disk really filled: ~10 MiB of 16 KiB bodies
      expect(report.unreadable).toBe(0);
      expect(child.exitCode).toBeNull();

      rmSync(ballast);
      child.stdin.write("freed\n");
      await child.stdin.flush();
      const resumed = await readLine(reader, state);
      expect(resumed).toMatch(/^resumed \d+$/);
      expect(await child.exited).toBe(0);
      expect(child.signalCode).toBeNull();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
    }
  }, 60_000);
});
