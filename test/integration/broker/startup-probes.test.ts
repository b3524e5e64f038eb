/**
 * `/health` during a long recovery: a real `mq start` process recovering a CommitLog (its
 * consume queues removed, so every byte is verified; recovery slowed by the test knob
 * MQ_RECOVERY_STEP_PAUSE_MS) answers `/health` 200 at once, `/ready` 503 with "verified X of Y
 * bytes" that grows, the API 503 STORE_NOT_READY — and `/ready` 200 once recovery is done, on
 * the same port.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { silentLogger } from "../../../src/common/logger.ts";
import { MiB } from "../../../src/common/limits.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { freePort } from "../../helpers/free-port.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

const root = resolve(import.meta.dir, "../../..");
const fileBytes = 4 * MiB;
const children: ReturnType<typeof Bun.spawn>[] = [];

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGKILL");
    await child.exited;
  }
  removeTempDirs();
});

async function get(url: string): Promise<{ status: number; json: any } | undefined> {
  try {
    const response = await fetch(url);
    return { status: response.status, json: await response.json() };
  } catch {
    return undefined; // not listening yet
  }
}

describe("mq start: probes during recovery", () => {
  test("/health answers 200 and /ready 503 with growing progress while the store recovers, then /ready 200", async () => {
    const dataDir = join(makeTempDir(), "data");
    const store = await MessageStore.open({ dataDir, commitLogFileBytes: fileBytes, logger: silentLogger, indexSlotsPerFile: 1024, indexEntriesPerFile: 4096 });
    const body = new Uint8Array(64 * 1024).fill(7);
    for (let index = 0; index < 400; index++) expect(store.append({ topic: "Big", queueId: index % 4, body }).status).toBe("ok");
    await store.close();
    rmSync(join(dataDir, "consumequeue"), { recursive: true });

    const httpPort = freePort();
    const child = Bun.spawn([process.execPath, join(root, "src/cli/main.ts"), "start", "--data", dataDir, "--port", "0", "--http-port", String(httpPort), "--listen", "127.0.0.1"], {
      cwd: root,
      env: { ...process.env, MQ_LOG_LEVEL: "warn", MQ_NAMESRV_PORT: "0", MQ_COMMIT_LOG_FILE_BYTES: String(fileBytes), MQ_RECOVERY_STEP_PAUSE_MS: "700" },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "inherit",
    });
    children.push(child);
    const base = `http://127.0.0.1:${httpPort}`;

    let health: { status: number; json: any } | undefined;
    await waitUntil("/health to answer", async () => (health = await get(`${base}/health`)) !== undefined, undefined, 20);
    expect(health!.status).toBe(200);
    const details: string[] = [];
    const recovering = async (): Promise<number | undefined> => {
      const ready = await get(`${base}/ready`);
      if (ready === undefined || ready.status !== 503) return undefined;
      const detail: string = ready.json.checks.find((check: { name: string }) => check.name === "store")?.detail ?? "";
      details.push(detail);
      const match = /verified (\d+) of (\d+) bytes/.exec(detail);
      return match === null ? undefined : Number(match[1]);
    };
    await waitUntil("/ready to show bytes verified", async () => ((await recovering()) ?? 0) > 0, undefined, 50);
    const api = await get(`${base}/api/v1/topics`);
    expect(api?.status).toBe(503);
    expect(api?.json.code).toBe(5006); // STORE_NOT_READY

    await waitUntil("/ready to answer 200", async () => (await get(`${base}/ready`))?.status === 200, 60_000, 50);
    expect((await get(`${base}/health`))?.status).toBe(200);
    const topics = await get(`${base}/api/v1/topics`);
    expect(topics?.status).toBe(200);
    expect(details.some((detail) => /verified [1-9]\d* of \d+ bytes/.test(detail))).toBe(true);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  }, 90_000);
});
