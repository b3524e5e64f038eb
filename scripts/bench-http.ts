/**
 * Benchmark of the REST API (not a test): a broker with its HTTP app runs in a child process
 * (so the load generator does not share its event loop); this process drives it over keep-alive
 * connections with fixed sizes and counts:
 *
 *   1. POST /api/v1/topics/{topic}/messages, one 128 B message per request, 50 concurrent connections
 *   2. the same with batches of 100 messages per request
 *   3. receive + ack, batches of 32, over the messages sent above
 *
 * Prints req/s, messages/s, MB/s and p50/p99 per phase against the targets; the last
 * line is one JSON object of the figures. `--quick` runs a tenth of the counts.
 */

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBenchBroker } from "./bench-broker.ts";

const quick = process.argv.includes("--quick");
const scale = quick ? 0.1 : 1;
const connections = 50;
const bodyBytes = 128;
const topic = "bench-http";

if (process.argv[2] === "serve") await serve();
else await drive();

async function serve(): Promise<void> {
  const { startHttp } = await import("../src/http/start-http.ts");
  const dataDir = join(tmpdir(), `mq-bench-http-${process.pid}`);
  const { server, store, broker } = await startBenchBroker({ dataDir, commitLogFileBytes: 256 * 1024 * 1024 });
  const http = startHttp({ hostname: "127.0.0.1", port: 0, version: "bench", readiness: () => [], broker: broker.context });
  console.log(http.port);
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => {
    void (async () => {
      await http.stop();
      await broker.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

interface PhaseResult {
  requests: number;
  messages: number;
  seconds: number;
  requestsPerSecond: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function drive(): Promise<void> {
  const child = Bun.spawn([process.execPath, import.meta.path, "serve"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const { value } = await child.stdout.getReader().read();
  const base = `http://127.0.0.1:${Number(new TextDecoder().decode(value).trim())}/api/v1`;
  const post = async (path: string, body: unknown): Promise<any> => {
    const response = await fetch(base + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    const json = await response.json();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  await post("/topics", { topic, queues: 8 });
  const payload = "x".repeat(bodyBytes);

  // Warm-up: JIT and connection pool.
  await runPhase(2_000, connections, () => post(`/topics/${topic}/messages`, { body: payload }).then(() => 1));

  const single = await runPhase(Math.round(100_000 * scale), connections, () => post(`/topics/${topic}/messages`, { body: payload }).then(() => 1));
  report("send, 1 message per request", single, bodyBytes, "≥ 20,000 requests/s", single.requestsPerSecond, 20_000);

  const batch = Array.from({ length: 100 }, () => ({ body: payload }));
  const batched = await runPhase(Math.round(3_000 * scale), connections, () => post(`/topics/${topic}/messages`, batch).then(() => 100));
  report("send, batches of 100", batched, bodyBytes, "≥ 200,000 messages/s", batched.messagesPerSecond, 200_000);

  const available = single.messages + batched.messages + 2_000;
  const receiveRounds = Math.floor(available / 32) - connections; // stop before queues run dry
  const consumed = await runPhase(receiveRounds, connections, async () => {
    const { messages } = await post("/groups/bench-group/receive", { topic, max: 32, invisibleMs: 60_000 });
    if (messages.length > 0) await post("/groups/bench-group/ack", { receiptHandles: messages.map((message: { receiptHandle: string }) => message.receiptHandle) });
    return messages.length;
  });
  report("receive + ack, batches of 32", consumed, bodyBytes, "≥ 50,000 messages/s", consumed.messagesPerSecond, 50_000);

  child.stdin.end();
  await child.exited;
  console.log(JSON.stringify({ bench: "http", quick, connections, bodyBytes, sendSingle: single, sendBatch100: batched, receiveAck32: consumed }));
}

/** Runs `total` operations on `concurrency` workers; each operation returns how many messages it moved. */
async function runPhase(total: number, concurrency: number, operation: () => Promise<number>): Promise<PhaseResult> {
  const latencies: number[] = [];
  let started = 0;
  let messages = 0;
  const startMs = performance.now();
  const worker = async () => {
    while (started < total) {
      started += 1;
      const opStart = performance.now();
      const moved = await operation(); // not `messages += await ...`: that reads messages before the await
      messages += moved;
      latencies.push(performance.now() - opStart);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - startMs) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (fraction: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))] ?? 0).toFixed(2));
  return {
    requests: total,
    messages,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Math.round(total / seconds),
    messagesPerSecond: Math.round(messages / seconds),
    megabytesPerSecond: Number(((messages * bodyBytes) / seconds / 1e6).toFixed(1)),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

function report(name: string, result: PhaseResult, size: number, target: string, measured: number, goal: number): void {
  const verdict = measured >= goal ? "meets" : `misses by ${Math.round((1 - measured / goal) * 100)}%`;
  console.log(
    `${name} (${size} B, ${connections} connections): ${result.requestsPerSecond} req/s, ${result.messagesPerSecond} msgs/s, ${result.megabytesPerSecond} MB/s, ` +
      `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms — target ${target}: ${verdict}`,
  );
}
