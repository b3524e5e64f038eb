/**
 * The full-disk trial as an operator saw it, on a real file system: a real `mq start` process
 * (sync flush, 2 MiB CommitLog files) on a tmpfs the test mounts (root only; skipped with the
 * reason printed where mounting is not permitted), four concurrent REST senders of 16 KiB
 * bodies. The broker must stay alive, refuse sends past the limit with 507 STORE_DISK_FULL and
 * nothing else, serve every acknowledged message, say so in /ready, and take sends again by
 * itself once space is freed.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../../helpers/free-port.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

const root = resolve(import.meta.dir, "../../..");
const mountPoint = join(makeTempDir("mq-disk-full-process-"), "fs");
mkdirSync(mountPoint);
// Room for the default index file (~84 MiB, allocated up front), two 2 MiB CommitLog files and
// about 15 MiB of messages before the 90 % limit.
const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=128m", "tmpfs", mountPoint]);
const skipReason = mounted.status === 0 ? undefined : `cannot mount a tmpfs here (${String(mounted.stderr).trim() || `exit ${mounted.status}`}): run as root to test a full disk`;
if (skipReason !== undefined) console.warn(`disk-full-process.test.ts skipped: ${skipReason}`);
const children: ReturnType<typeof Bun.spawn>[] = [];

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null) child.kill("SIGKILL");
    await child.exited;
  }
  if (skipReason === undefined) spawnSync("umount", ["-l", mountPoint]);
  removeTempDirs();
});

const sendersCount = 4;
const refusalsPerSender = 3;
const sendsPerSenderMax = 2_000;

function bodyOf(seq: number): string {
  return `${seq}:`.padEnd(16 * 1024, String.fromCharCode(97 + (seq % 26)));
}

describe.skipIf(skipReason !== undefined)("mq start: a disk filling fast (tmpfs)", () => {
  test("four REST senders fill the disk: 507 STORE_DISK_FULL, the broker lives, every acknowledged message is served, sends resume once space returns", async () => {
    const ballast = join(mountPoint, "ballast");
    writeFileSync(ballast, new Uint8Array(8 * 1024 * 1024).fill(1));
    const httpPort = freePort();
    const child = Bun.spawn([process.execPath, join(root, "src/cli/main.ts"), "start", "--data", join(mountPoint, "data"), "--port", "0", "--http-port", String(httpPort), "--listen", "127.0.0.1", "--flush", "sync"], {
      cwd: root,
      env: { ...process.env, MQ_LOG_LEVEL: "error", MQ_NAMESRV_PORT: "0", MQ_COMMIT_LOG_FILE_BYTES: String(2 * 1024 * 1024), MQ_CONSUME_QUEUE_ENTRIES_PER_FILE: "8192" },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    children.push(child);
    const base = `http://127.0.0.1:${httpPort}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(base + path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
      return { status: response.status, json: (await response.json()) as any };
    };
    await waitUntil("the broker to be ready", async () => (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200, 30_000, 50);
    expect((await call("POST", "/api/v1/topics", { topic: "fill", queues: 4 })).status).toBe(201);

    const acked = new Map<string, string>(); // "queueId:queueOffset" -> body
    const otherAnswers: string[] = [];
    let nextSeq = 0;
    const sender = async (): Promise<void> => {
      let refused = 0;
      for (let sends = 0; refused < refusalsPerSender && sends < sendsPerSenderMax && otherAnswers.length === 0; sends++) {
        const seq = nextSeq++;
        const answer = await call("POST", "/api/v1/topics/fill/messages", { body: bodyOf(seq) });
        if (answer.status === 200) acked.set(`${answer.json.queueId}:${answer.json.queueOffset}`, bodyOf(seq));
        else if (answer.status === 507 && answer.json.code === 5001) refused += 1;
        else otherAnswers.push(`${answer.status} ${JSON.stringify(answer.json)}`);
      }
    };
    await Promise.all(Array.from({ length: sendersCount }, () => sender()));
    expect(otherAnswers).toEqual([]);
    expect(child.exitCode).toBeNull();
    expect(acked.size).toBeGreaterThan(300); // the disk really filled

    const ready = await call("GET", "/ready");
    expect(ready.status).toBe(503);
    const disk = ready.json.checks.find((check: { name: string }) => check.name === "disk");
    expect(disk.ok).toBe(false);
    expect(disk.detail).toMatch(/^\d+% used as df counts, \d+% counting blocks reserved for root/);

    // Reads go on: every acknowledged message, by browsing each queue page by page.
    const served = new Map<string, string>();
    for (let queueId = 0; queueId < 4; queueId++) {
      for (let offset = 0, pages = 0; pages < 200; pages++) {
        const page = await call("GET", `/api/v1/topics/fill/queues/${queueId}/messages?offset=${offset}&max=32`);
        expect(page.status).toBe(200);
        for (const message of page.json.messages) served.set(`${queueId}:${message.queueOffset}`, message.body);
        if (page.json.nextOffset >= page.json.maxOffset) break;
        offset = page.json.nextOffset;
      }
    }
    const missing = [...acked].filter(([key, body]) => served.get(key) !== body).map(([key]) => key);
    expect(missing).toEqual([]);

    rmSync(ballast);
    // The broker re-reads the free space at most every diskFullRecheckIntervalMs while full.
    const refusedMeanwhile: number[] = [];
    await waitUntil("a send to succeed again", async () => {
      const answer = await call("POST", "/api/v1/topics/fill/messages", { body: "after" });
      if (answer.status !== 200) refusedMeanwhile.push(answer.status);
      return answer.status === 200;
    }, 15_000, 20);
    expect(refusedMeanwhile.filter((status) => status !== 507)).toEqual([]);
    await waitUntil("/ready to answer 200 again", async () => (await fetch(`${base}/ready`)).status === 200, undefined, 50);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  }, 120_000);
});
