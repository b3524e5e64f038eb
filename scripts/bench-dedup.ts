/**
 * Benchmark of exactly-once produce (not a test), two figures against the issue's targets:
 *
 *   1. throughput: a broker in a child process (so the load generator does not share its event
 *      loop) with two topics of 8 queues, "bench-plain" (its window turned off) and "bench-dedup" (a 2 min
 *      dedup window); one SDK producer sends 128 B messages, `inFlight` at once, alternating
 *      rounds plain / dedup so both see the same machine. Target: dedup ≥ 90 % of plain in the
 *      same run.
 *   2. memory: 10,000,000 distinct msgIds (made as the SDK makes them) put into the window's
 *      tables over one 2 min window, as the dedup dispatcher puts them; the tables' bytes and the
 *      process's RSS and heap growth. Target: ≤ 64 MiB.
 *
 * Prints the baseline (plain) beside each figure; the last line is one JSON object.
 * `--quick` runs a tenth of the counts.
 */

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBenchBroker } from "./bench-broker.ts";

const quick = process.argv.includes("--quick");
const scale = quick ? 0.1 : 1;
const bodyBytes = 128;
const inFlight = 512;
const rounds = 4;
const messagesPerRound = Math.round(100_000 * scale);
const windowMs = 120_000;
const memoryIds = Math.round(10_000_000 * scale);
const memoryBudgetBytes = 64 * 1024 * 1024;

if (process.argv[2] === "serve") await serve();
else if (process.argv[2] === "memory") console.log(JSON.stringify(await measureMemory()));
else await drive();

async function serve(): Promise<void> {
  const dataDir = join(tmpdir(), `mq-bench-dedup-${process.pid}`);
  const { server, store, broker } = await startBenchBroker({ dataDir, commitLogFileBytes: 512 * 1024 * 1024 });
  broker.context.topics.upsert({ topic: "bench-plain", readQueues: 8, writeQueues: 8, perm: 6, order: false, dedupWindowMs: 0 }); // the broker-wide window is on by default
  broker.context.topics.upsert({ topic: "bench-dedup", readQueues: 8, writeQueues: 8, perm: 6, order: false, dedupWindowMs: windowMs });
  console.log(server.port);
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => {
    void (async () => {
      const ids = broker.context.dedup.stats();
      await broker.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      console.error(JSON.stringify({ windowIds: ids.ids, windowBytes: ids.bytes }));
      process.exit(0);
    })();
  });
}

interface Round {
  topic: string;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
}

async function drive(): Promise<void> {
  const { Producer } = await import("../src/client/producer.ts");
  const child = Bun.spawn([process.execPath, import.meta.path, "serve"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const { value } = await child.stdout.getReader().read();
  const address = `127.0.0.1:${Number(new TextDecoder().decode(value).trim())}`;
  const producer = new Producer({ broker: address, maxInFlight: inFlight });
  await producer.start();
  const body = new Uint8Array(bodyBytes).fill(120);
  const run = async (topic: string, count: number): Promise<Round> => {
    let started = 0;
    let duplicates = 0;
    const startMs = performance.now();
    const worker = async () => {
      while (started < count) {
        started += 1;
        if ((await producer.send({ topic, body })).duplicate === true) duplicates += 1;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    if (duplicates !== 0) throw new Error(`${duplicates} fresh sends were answered as duplicates`);
    const seconds = (performance.now() - startMs) / 1000;
    return { topic, messages: count, seconds: Number(seconds.toFixed(2)), messagesPerSecond: Math.round(count / seconds) };
  };
  // Warm-up: JIT, connections, both topics.
  await run("bench-plain", 20_000 * scale);
  await run("bench-dedup", 20_000 * scale);
  const results: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const topic of round % 2 === 0 ? ["bench-plain", "bench-dedup"] : ["bench-dedup", "bench-plain"]) {
      const result = await run(topic, messagesPerRound);
      results.push(result);
      console.log(`round ${round + 1} ${topic}: ${result.messagesPerSecond} msgs/s (${result.messages} in ${result.seconds} s)`);
    }
  }
  await producer.shutdown();
  child.stdin.end();
  const serverReport = JSON.parse((await new Response(child.stderr).text()).trim().split("\n").pop() ?? "{}") as { windowIds?: number; windowBytes?: number };
  await child.exited;
  const rate = (topic: string) => {
    const mine = results.filter((result) => result.topic === topic);
    return Math.round(mine.reduce((sum, result) => sum + result.messages, 0) / mine.reduce((sum, result) => sum + result.seconds, 0));
  };
  const plain = rate("bench-plain");
  const dedup = rate("bench-dedup");
  const ratio = Number((dedup / plain).toFixed(3));
  console.log(`baseline: plain send ${plain} msgs/s (${bodyBytes} B, ${inFlight} in flight, one SDK producer)`);
  console.log(`dedup window on (2 min): ${dedup} msgs/s = ${(ratio * 100).toFixed(1)} % of plain — target ≥ 90 %: ${ratio >= 0.9 ? "meets" : "misses"}`);
  console.log(`broker's window after the run: ${serverReport.windowIds} ids in ${serverReport.windowBytes} bytes`);

  // A fresh process, so its RSS holds nothing but the window's tables and the module code.
  const measured = Bun.spawn([process.execPath, import.meta.path, "memory", ...(quick ? ["--quick"] : [])], { stdout: "pipe", stderr: "inherit" });
  const memory = JSON.parse((await new Response(measured.stdout).text()).trim().split("\n").pop()!) as Awaited<ReturnType<typeof measureMemory>>;
  await measured.exited;
  console.log(
    `memory: ${memory.ids} ids over one ${windowMs / 1000} s window: tables ${(memory.tableBytes / 2 ** 20).toFixed(1)} MiB (${memory.bytesPerId} B/id), ` +
      `RSS +${(memory.rssDeltaBytes / 2 ** 20).toFixed(1)} MiB, heap +${(memory.heapDeltaBytes / 2 ** 20).toFixed(1)} MiB — target ≤ 64 MiB for 10 M ids: ${memory.tableBytes <= memoryBudgetBytes * scale && memory.rssDeltaBytes <= memoryBudgetBytes * scale ? "meets" : "misses"}`,
  );
  console.log(JSON.stringify({ bench: "dedup", quick, bodyBytes, inFlight, rounds, messagesPerRound, plainMessagesPerSecond: plain, dedupMessagesPerSecond: dedup, ratio, target: 0.9, memory }));
}

/** 10 M msgIds through the window's fingerprint and tables, spread over one window, as the dispatcher adds them. */
async function measureMemory() {
  const { DedupWindow } = await import("../src/broker/dedup-window.ts");
  const { fingerprintOf } = await import("../src/broker/dedup-service.ts");
  const { MsgIdGenerator } = await import("../src/common/ids.ts");
  const ids = new MsgIdGenerator({ ip: "10.1.2.3", pid: 4242, instanceHash: 0x5eed });
  const settle = () => {
    Bun.gc(true);
    const usage = process.memoryUsage();
    return { rss: usage.rss, heap: usage.heapUsed + usage.arrayBuffers };
  };
  // Warm the id maker and the fingerprint (JIT, strings) before the baseline.
  for (let index = 0; index < 100_000; index++) fingerprintOf("bench-dedup", false, ids.next());
  const before = settle();
  const window = new DedupWindow(windowMs);
  const startMs = Date.UTC(2026, 0, 1);
  const startedMs = performance.now();
  for (let index = 0; index < memoryIds; index++) {
    const atMs = startMs + Math.floor((index * windowMs) / memoryIds);
    window.add(fingerprintOf("bench-dedup", false, ids.next()), atMs, atMs);
  }
  const addSeconds = (performance.now() - startedMs) / 1000;
  const after = settle();
  return {
    ids: memoryIds,
    heldIds: window.size,
    generations: window.generationCount,
    tableBytes: window.bytes,
    bytesPerId: Number((window.bytes / memoryIds).toFixed(2)),
    rssDeltaBytes: after.rss - before.rss,
    heapDeltaBytes: after.heap - before.heap,
    addsPerSecond: Math.round(memoryIds / addSeconds),
  };
}
