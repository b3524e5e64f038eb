/**
 * The compiled binary as a user drives it: one `dist/mq start` process, then the CLI against it
 * — topic create, send, consume, lookups, group lag, errors and a short bench. Runs a private
 * copy of the binary (a concurrent build would otherwise rewrite it in place) and kills every
 * process it starts by PID.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { freePort } from "../helpers/free-port.ts";

const root = resolve(import.meta.dir, "../..");
const binary = join(makeTempDir("mq-e2e-rt-"), "mq");
const cleanEnv: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined),
);
let server: Bun.Subprocess | undefined;
let broker = "";


async function mq(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([binary, ...args], { env: cleanEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(9), 30_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

beforeAll(async () => {
  const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], { cwd: root, stdout: "ignore", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  copyFileSync(join(root, "dist", "mq"), binary);
  const dir = makeTempDir("mq-e2e-rt-data-");
  const config = join(dir, "mq.yaml");
  writeFileSync(config, "commitLogFileBytes: 16777216\ndiskMaxUsedSpaceRatio: 0.98\ndiskFullRatio: 0.99\n");
  const port = freePort();
  broker = `127.0.0.1:${port}`;
  server = Bun.spawn([binary, "start", "--data", join(dir, "data"), "--port", String(port), "--http-port", String(freePort()), "--namesrv-port", String(freePort()), "--listen", "127.0.0.1", "--config", config], { env: cleanEnv, stdout: "ignore", stderr: "pipe" });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await mq("topic", "list", "--broker", broker)).exitCode === 0) return;
    await Bun.sleep(50);
  }
  throw new Error("mq start did not answer within 15 s");
}, 120_000);

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    server.kill("SIGTERM");
    const timer = setTimeout(() => server?.kill(9), 10_000);
    await server.exited;
    clearTimeout(timer);
  }
  removeTempDirs();
});

describe("dist/mq: start, topic, send, consume", () => {
  test("creates a topic, sends, consumes exactly what was sent, and finds it by id and key", async () => {
    expect((await mq("topic", "create", "Orders", "--queues", "4", "--broker", broker)).exitCode).toBe(0);
    const listed = JSON.parse((await mq("topic", "list", "--json", "--broker", broker)).stdout) as { topic: string; readQueues: number }[];
    expect(listed.find((topic) => topic.topic === "Orders")?.readQueues).toBe(4);

    const sent = [];
    for (const body of ["first", "second", "third"]) {
      const result = await mq("send", "Orders", body, "--tag", "created", "--keys", "0042", "--prop", "region=eu", "--json", "--broker", broker);
      expect(result.exitCode).toBe(0);
      sent.push(JSON.parse(result.stdout) as { msgId: string; offsetMsgId: string; queueId: number; queueOffset: number });
    }
    expect(sent[0]!.msgId).toMatch(/^[0-9A-F]{32}$/);

    const consumed = await mq("consume", "Orders", "--group", "billing", "--from", "first", "--count", "3", "--json", "--broker", broker);
    expect(consumed.exitCode).toBe(0);
    const lines = consumed.stdout.trim().split("\n").map((line) => JSON.parse(line) as { body: string; tags: string; keys: string[]; properties: Record<string, string> });
    expect(lines.map((line) => line.body).sort()).toEqual(["first", "second", "third"]);
    expect(lines[0]).toMatchObject({ tags: "created", keys: ["0042"] });
    expect(lines[0]!.properties.region).toBe("eu");

    const byMsgId = JSON.parse((await mq("message", "get", sent[1]!.msgId, "--json", "--broker", broker)).stdout) as { body: string };
    expect(byMsgId.body).toBe("second");
    const byOffsetId = JSON.parse((await mq("message", "get", sent[2]!.offsetMsgId, "--json", "--broker", broker)).stdout) as { body: string };
    expect(byOffsetId.body).toBe("third");
    const byKey = JSON.parse((await mq("message", "query", "--topic", "Orders", "--key", "0042", "--json", "--broker", broker)).stdout) as unknown[];
    expect(byKey.length).toBe(3);

    const group = JSON.parse((await mq("group", "describe", "billing", "--json", "--broker", broker)).stdout) as { totalLag: number };
    expect(group.totalLag).toBe(0);
  }, 60_000);

  test("errors exit non-zero with a message and nothing on stdout", async () => {
    for (const args of [["nosuch"], ["topic", "frob"], ["send", "Orders", "x", "--nope"], ["topic", "create"], ["topic", "create", "T", "--queues", "abc"], ["consume", "Orders"], ["message", "get", "00000000000000000000000000000000"]]) {
      const result = await mq(...args, "--broker", broker);
      expect(`${args.join(" ")} → ${result.exitCode === 0 ? "exit 0" : "non-zero"}`).toBe(`${args.join(" ")} → non-zero`);
      expect(result.stdout).toBe("");
      expect(result.stderr.length).toBeGreaterThan(0);
    }
    const unreachable = await mq("topic", "list", "--broker", "127.0.0.1:1");
    expect(unreachable.exitCode).not.toBe(0);
    expect(unreachable.stderr).toContain("Cannot connect");
  }, 60_000);

  test("mq bench produce ends with one JSON line of figures", async () => {
    const result = await mq("bench", "produce", "--topic", "Bench", "--count", "2000", "--size", "64", "--window", "100", "--broker", broker);
    expect(result.exitCode).toBe(0);
    const last = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    for (const key of ["msgs_s", "mb_s", "p50_us", "p99_us", "p999_us"]) expect(typeof last[key]).toBe("number");
    expect(last.msgs).toBe(2000);
  }, 60_000);
});
