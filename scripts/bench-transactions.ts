/**
 * Transactions benchmark (`npm run bench:tx`), against the targets of issue 12:
 *
 *   1. throughput: a broker in a child process (its own event loop); this process sends 128 B
 *      (message trace off, in the producers and the broker: each side pays for its own messages only)
 *      messages, window 1,000, fixed seed: plain sends (the baseline), then transactional ones
 *      (send the half, the local transaction answers commit, END_TRANSACTION), twice each,
 *      alternating; transactions per second as a share of plain sends per second.
 *      Target: ≥ 50 %.
 *   2. store growth under check-backs: a broker in this process on a ManualClock and a
 *      TransactionProducer over TCP whose check listener always answers "unknown"; 10,000 half
 *      messages of 4 KiB are stored, then the clock is advanced through the back-off until every
 *      one was checked back transactionCheckMax (15) times and moved to the exhausted list. The
 *      store's growth from the last half stored to then: CommitLog bytes appended plus the
 *      scheduler journal's bytes (after its periodic compaction; its peak printed too).
 *      Target: < 2 MB. (Message trace is off here too: its records of the halves' sends would land
 *      in the CommitLog during the measurement.)
 *
 * Progress each second; figures beside the targets; the last line is one JSON object.
 * Flags: --quick (a tenth of every count; the targets are then only indicative), --part=1 or
 * --part=2 (that part alone: part 2 takes minutes, part 1 is what changes with the send path).
 */

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readyLine, seededRandom, startBenchBroker, windowed } from "./bench-broker.ts";

const quick = process.argv.includes("--quick");
const part = process.argv.find((arg) => arg.startsWith("--part="))?.slice("--part=".length);
const scale = quick ? 0.1 : 1;
const seed = 20261207;
const bodyBytes = 128;
const window = 1_000;
const sendCount = Math.round(50_000 * scale);
const halfCount = Math.round(10_000 * scale);
const halfBodyBytes = 4_096;
const checkMax = 15;

const targets = { transactionSendRatio: 0.5, checkGrowthMB: 2 } as const;

if (process.argv[2] === "serve") await serve(process.argv[3]!);
else await drive();

// --- The broker of part 1 (child process) ---------------------------------------------------------

async function serve(dataDir: string): Promise<void> {
  const { server } = await startBenchBroker({ dataDir, commitLogFileBytes: 1024 * 1024 * 1024, config: { traceEnabled: false } });
  console.log(JSON.stringify({ port: server.port }));
  process.stdin.on("data", () => {});
}

// --- The driver -----------------------------------------------------------------------------------

function log(line: string): void {
  console.log(line);
}

function verdict(ok: boolean): string {
  return ok ? "meets" : "MISSES";
}

function body(bytes: number, random: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let index = 0; index < bytes; index++) out[index] = 0x61 + Math.floor(random() * 26);
  return out;
}

async function drive(): Promise<void> {
  const figures: Record<string, number | boolean> = { quick };
  log(`bench:tx — window ${window}, ${bodyBytes} B bodies, seed ${seed}${quick ? ", --quick (a tenth of the counts)" : ""}`);
  if (part !== "2") Object.assign(figures, await throughput());
  if (part !== "1") Object.assign(figures, await checkGrowth());
  log(JSON.stringify(figures));
}

async function throughput(): Promise<Record<string, number>> {
  const { Admin, Producer, TransactionProducer } = await import("../src/client/index.ts");
  const dataDir = join(tmpdir(), `mq-bench-tx-${process.pid}`);
  const child = Bun.spawn([process.execPath, import.meta.path, "serve", dataDir], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  try {
    const address = `127.0.0.1:${(await readyLine<{ port: number }>(child.stdout)).port}`;
    const admin = new Admin({ broker: address });
    await admin.createTopic("tx-plain", { queues: 8 });
    await admin.createTopic("tx-committed", { queues: 8 });
    const random = seededRandom(seed);
    const payloads = Array.from({ length: 256 }, () => body(bodyBytes, random));
    const producer = new Producer({ broker: address, maxInFlight: window, trace: false });
    const transactional = new TransactionProducer({ broker: address, group: "bench-tx", maxInFlight: window, trace: false, checkListener: () => "commit" });
    await producer.start();
    await transactional.start();
    log(`\n1. throughput: ${sendCount.toLocaleString("en")} plain sends, then ${sendCount.toLocaleString("en")} transactions (half + commit), twice each`);
    let plainSeconds = 0;
    let transactionSeconds = 0;
    for (let round = 1; round <= 2; round++) {
      const plainS = await windowed({ label: `plain, round ${round}`, total: sendCount, window }, (index) => producer.send({ topic: "tx-plain", body: payloads[index % payloads.length]! }));
      const transactionS = await windowed({ label: `transactions, round ${round}`, total: sendCount, window }, (index) => transactional.sendInTransaction({ topic: "tx-committed", body: payloads[index % payloads.length]! }, () => "commit"));
      log(`  round ${round}: plain ${Math.round(sendCount / plainS).toLocaleString("en")} msgs/s, transactions ${Math.round(sendCount / transactionS).toLocaleString("en")} /s`);
      plainSeconds += plainS;
      transactionSeconds += transactionS;
    }
    const committed = (await admin.topicOffsets("tx-committed")).reduce((sum, queue) => sum + Number(queue.maxOffset), 0);
    const plainRate = Math.round((2 * sendCount) / plainSeconds);
    const transactionRate = Math.round((2 * sendCount) / transactionSeconds);
    const ratio = transactionRate / plainRate;
    log(`  baseline (plain sends, same run): ${plainRate.toLocaleString("en")} msgs/s`);
    log(`  transactional send + commit: ${transactionRate.toLocaleString("en")} /s = ${(ratio * 100).toFixed(0)} % of plain (target ≥ ${targets.transactionSendRatio * 100} %: ${verdict(ratio >= targets.transactionSendRatio)}); committed messages in the topic: ${committed.toLocaleString("en")}`);
    await producer.shutdown();
    await transactional.shutdown();
    await admin.close();
    return { plainSendsPerSecond: plainRate, transactionsPerSecond: transactionRate, transactionSendRatio: Math.round(ratio * 1000) / 1000, committedMessages: committed };
  } finally {
    child.kill("SIGKILL");
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function checkGrowth(): Promise<Record<string, number>> {
  const { ManualClock } = await import("../src/common/clock.ts");
  const { Transactions } = await import("../src/broker/transactions.ts");
  const { TransactionChecks } = await import("../src/broker/transaction-check.ts");
  const { Admin, TransactionProducer } = await import("../src/client/index.ts");
  const dataDir = join(tmpdir(), `mq-bench-tx-checks-${process.pid}`);
  const clock = new ManualClock(Date.now());
  const { server, store, broker } = await startBenchBroker({ dataDir, commitLogFileBytes: 256 * 1024 * 1024, clock, config: { transactionCheckMax: checkMax, traceEnabled: false } });
  const address = `127.0.0.1:${server.port}`;
  const admin = new Admin({ broker: address });
  const producer = new TransactionProducer({ broker: address, group: "bench-checks", maxInFlight: window, trace: false, checkListener: () => "unknown" });
  try {
    await admin.createTopic("tx-pending", { queues: 8 });
    await producer.start();
    log(`\n2. store growth: ${halfCount.toLocaleString("en")} pending halves of ${halfBodyBytes} B, each checked back ${checkMax} times ("unknown")`);
    const random = seededRandom(seed + 1);
    const payloads = Array.from({ length: 64 }, () => body(halfBodyBytes, random));
    await windowed({ label: "halves stored", total: halfCount, window }, (index) => producer.sendHalf({ topic: "tx-pending", body: payloads[index % payloads.length]! }));
    const { scheduler } = broker.context;
    const transactions = Transactions.of(broker.context);
    const checks = TransactionChecks.of(broker.context);
    const commitLogBefore = store.commitLog.writePosition;
    const journalBefore = scheduler.journalBytes;
    log(`  stored: CommitLog ${(commitLogBefore / 1e6).toFixed(1)} MB, scheduler journal ${(journalBefore / 1e6).toFixed(2)} MB, ${transactions.unresolved.toLocaleString("en")} unresolved`);
    clock.set(Date.now());
    let journalPeak = journalBefore;
    const startMs = performance.now();
    for (let round = 1; round <= checkMax; round++) {
      const target = round * halfCount;
      const deadline = performance.now() + 120_000;
      while (checks.counters.received < target) {
        if (performance.now() > deadline) throw new Error(`check-back round ${round} did not complete: ${checks.counters.received} of ${target} answered`);
        const inFlight = checks.counters.sent - checks.counters.received - checks.counters.failedConnections;
        if (inFlight === 0) {
          // Nothing waiting for an answer: jump the clock to the next check-back due.
          const pending = transactions.list({ state: "pending", limit: Number.MAX_SAFE_INTEGER }).transactions;
          const nextMs = Math.min(...pending.map((view) => view.nextCheckMs ?? Infinity));
          if (Number.isFinite(nextMs) && nextMs > clock.nowMs()) clock.advance(nextMs - clock.nowMs());
        }
        journalPeak = Math.max(journalPeak, scheduler.journalBytes);
        await Bun.sleep(2);
      }
      if (round % 5 === 0) log(`  ${round} check-backs each: journal ${(scheduler.journalBytes / 1e6).toFixed(2)} MB`);
    }
    const exhausted = (await admin.listTransactions({ state: "exhausted", limit: 1 })).total;
    // Past the compaction interval, with nothing due: the journal is rewritten with the open jobs only.
    clock.advance(60_000);
    const commitLogGrowth = store.commitLog.writePosition - commitLogBefore;
    const journalGrowth = scheduler.journalBytes - journalBefore;
    const growthMB = (commitLogGrowth + journalGrowth) / 1e6;
    const checkSeconds = (performance.now() - startMs) / 1000;
    log(`  ${checks.counters.received.toLocaleString("en")} check-backs answered in ${checkSeconds.toFixed(1)} s; ${exhausted.toLocaleString("en")} exhausted`);
    log(`  growth: CommitLog ${commitLogGrowth.toLocaleString("en")} B, scheduler journal ${journalGrowth.toLocaleString("en")} B after compaction (peak ${(journalPeak / 1e6).toFixed(2)} MB before it)`);
    log(`  store growth ${growthMB.toFixed(2)} MB (target < ${targets.checkGrowthMB} MB: ${verdict(growthMB < targets.checkGrowthMB && exhausted === halfCount)})`);
    return { checkBacks: checks.counters.received, exhausted, commitLogGrowthBytes: commitLogGrowth, journalGrowthBytes: journalGrowth, journalPeakBytes: journalPeak, checkGrowthMB: Math.round(growthMB * 1000) / 1000 };
  } finally {
    await producer.shutdown().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await broker.stop();
    await server.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
