/**
 * Scheduled delivery benchmark (`npm run bench:timer`), against the targets of issue 10. A broker
 * runs in a child process (so the load generator does not share its event loop, and its RSS is
 * its own); this process drives it over TCP with the SDK, window 1,000, 128 B bodies, fixed seed:
 *
 *   1. lateness at 10,000 timers/s due: 100,000 messages due evenly over 10 s (sent before the
 *      window opens); lateness = the delivered copy's store time minus the delivery time asked
 *      for, read back from the topic (p50, p99, max; any negative one is "early")
 *   2. a hot second: 1,000,000 messages due within the same second; time from that second to
 *      the last one delivered, the child's RSS before the sends, before the second and at its
 *      peak during the drain
 *   3. restart with 1,000,000 pending (due in a day): SIGKILL, restart on the same data dir;
 *      ready = spawn to the broker answering (store recovery, scheduler open, delivery attached)
 *   4. sends accepted: 50,000 plain sends and 50,000 scheduled (random delays in the next 60 s),
 *      in five alternating rounds of each, on the restarted broker; scheduled msgs/s as a share
 *      of plain msgs/s
 *   5. the scheduler alone (in this process): 1,000,000 jobs written, the journal compacted
 *      with all of them open, and reopened (the restart's share that is the scheduler's)
 *
 * Progress each second; figures beside the targets; the last line is one JSON object.
 * Flags: --quick (a tenth of every count; the targets are then only indicative); --hot-only (only
 * the hot second, phase 2, with the broker's memory by kind each second: anonymous and file-backed
 * RSS, and its JavaScript heap); --sends-only (only phase 4, on a fresh broker: the quick way to
 * compare the send paths of two builds); --restart-only (only the restart, phase 3: the pending
 * messages sent, then `--restarts=N` SIGKILL-and-restart rounds, 1 unless given, ready as the
 * median); --dedup-off (the broker runs with `dedup: false`, to compare without the dedup window).
 */

import { rmSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readyLine, seededRandom, startBenchBroker, windowed } from "./bench-broker.ts";

const quick = process.argv.includes("--quick");
const hotOnly = process.argv.includes("--hot-only");
const sendsOnly = process.argv.includes("--sends-only");
const restartOnly = process.argv.includes("--restart-only");
const dedupOff = process.argv.includes("--dedup-off");
const restarts = Math.max(1, Number(process.argv.find((arg) => arg.startsWith("--restarts="))?.slice("--restarts=".length) ?? 1));
const scale = quick ? 0.1 : 1;
const seed = 20261207;
const bodyBytes = 128;
const window = 1_000;
const latenessCount = Math.round(100_000 * scale);
const latenessWindowMs = 10_000;
const hotCount = Math.round(1_000_000 * scale);
const restartCount = Math.round(1_000_000 * scale);
const sendCount = Math.round((sendsOnly ? 200_000 : 50_000) * scale);
/** Plain and scheduled sends alternate in this many rounds each. */
const sendRounds = 5;
const schedulerCount = Math.round(1_000_000 * scale);

const targets = {
  scheduledSendRatio: 0.5,
  latenessP50Ms: 20,
  latenessP99Ms: 150,
  hotDrainMs: 30_000,
  hotRssGrowthMB: 100,
  restartReadyMs: 3_000,
} as const;

/** The slowest answer to the delivery polls of the last wait: how long the broker could not answer. */
let slowestAnswerMs = 0;

if (process.argv[2] === "serve") await serve(process.argv[3]!, process.argv.includes("trace"), process.argv.includes("dedup-off"));
else await drive();

// --- The broker (child process) ----------------------------------------------------------------

async function serve(dataDir: string, traceMemory: boolean, noDedup: boolean): Promise<void> {
  const startedMs = performance.now();
  const { server, storeOpenMs, brokerStartMs } = await startBenchBroker({ dataDir, commitLogFileBytes: 1024 * 1024 * 1024, ...(noDedup ? { config: { dedup: false } } : {}) });
  console.log(JSON.stringify({ port: server.port, openMs: Math.round(performance.now() - startedMs), storeOpenMs: Math.round(storeOpenMs), brokerStartMs: Math.round(brokerStartMs) }));
  process.stdin.on("data", () => {});
  if (traceMemory) {
    const { heapValveCounters } = await import("../src/common/heap-valve.ts");
    setInterval(() => traceMemoryLine(heapValveCounters), 1_000).unref();
  }
}

/** One line of the broker's memory by kind, on stderr: RSS anonymous and file-backed, the JavaScript heap, the heap valve's collections so far. */
function traceMemoryLine(valve: { readonly collections: number; readonly collectMs: number }): void {
  const status = readFileSync("/proc/self/status", "utf8");
  const field = (name: string) => Math.round(Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
  const usage = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  console.error(`  [broker memory] RssAnon ${field("RssAnon")} MB, RssFile ${field("RssFile")} MB, VmRSS ${field("VmRSS")} MB; heap used ${mb(usage.heapUsed)} of ${mb(usage.heapTotal)} MB, external ${mb(usage.external)} MB (array buffers ${mb(usage.arrayBuffers)} MB); heap valve collections ${valve.collections} (${Math.round(valve.collectMs)} ms)`);
}

// --- The driver ----------------------------------------------------------------------------------

type Child = ReturnType<typeof Bun.spawn<"pipe", "pipe", "inherit">>;

interface Running {
  readonly child: Child;
  readonly address: string;
  readonly readyMs: number;
  readonly openMs: number;
  readonly storeOpenMs: number;
  readonly brokerStartMs: number;
}

async function startBroker(dataDir: string): Promise<Running> {
  const spawnedMs = performance.now();
  const child = Bun.spawn([process.execPath, import.meta.path, "serve", dataDir, ...(hotOnly ? ["trace"] : []), ...(dedupOff ? ["dedup-off"] : [])], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const line = await readyLine<{ port: number; openMs: number; storeOpenMs: number; brokerStartMs: number }>(child.stdout);
  return { child, address: `127.0.0.1:${line.port}`, readyMs: performance.now() - spawnedMs, openMs: line.openMs, storeOpenMs: line.storeOpenMs, brokerStartMs: line.brokerStartMs };
}

/** RssAnon: the process's own memory. VmRSS also counts the mapped CommitLog pages it touched (page cache, RssFile). */
function rssMB(pid: number, field: "RssAnon" | "RssFile" | "VmRSS" = "RssAnon"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) / 1024;
}

/** A process's CPU time so far (user + system), from /proc/PID/stat, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are the 14th and 15th fields (the 12th and 13th after the command), in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function log(line: string): void {
  console.log(line);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function verdict(ok: boolean): string {
  return ok ? "meets" : "MISSES";
}

async function drive(): Promise<void> {
  const { Admin, Producer } = await import("../src/client/index.ts");
  const dataDir = join(tmpdir(), `mq-bench-timer-${process.pid}`);
  const random = seededRandom(seed);
  const body = new Uint8Array(bodyBytes).fill(0x61);
  const figures: Record<string, number | boolean> = { quick };
  log(`bench:timer — broker in a child process, window ${window}, ${bodyBytes} B bodies, seed ${seed}${quick ? ", --quick (a tenth of the counts)" : ""}${dedupOff ? ", --dedup-off" : ""}`);

  let broker = await startBroker(dataDir);
  let admin = new Admin({ broker: broker.address });
  let producer = new Producer({ broker: broker.address, maxInFlight: window });
  await producer.start();
  try {
    for (const topic of ["timer-lateness", "timer-hot", "timer-pending", "timer-plain", "timer-scheduled"]) await admin.createTopic(topic, { queues: 8 });

    if (restartOnly) {
      ({ broker, admin, producer } = await restartPending(broker, producer, admin, dataDir, body, figures));
      return;
    }

    if (hotOnly) {
      // The hot second is set from the rate of scheduled sends: measured here on a tenth of phase 1's count, due in a day.
      const calibrationCount = Math.round(latenessCount / 10);
      const calibrationS = await windowed({ label: "calibration", total: calibrationCount, window }, (index) => producer.send({ topic: "timer-pending", body, deliverAt: Date.now() + 86_400_000 + index }));
      await hotSecond(broker, producer, admin, body, random, figures, calibrationS * 10);
      return;
    }
    if (sendsOnly) {
      await sendsAccepted(broker.child.pid, producer, body, random, figures);
      return;
    }

    // 1. Lateness at 10,000 timers/s due.
    log(`\n1. lateness: ${latenessCount.toLocaleString("en")} messages due evenly over ${latenessWindowMs / 1000} s`);
    const windowStartMs = Date.now() + 25_000;
    const latenessSendS = await windowed({ label: "sent", total: latenessCount, window }, (index) => producer.send({ topic: "timer-lateness", body, deliverAt: windowStartMs + Math.floor((index * latenessWindowMs) / latenessCount) }));
    if (Date.now() > windowStartMs) log(`  (the sends took ${latenessSendS.toFixed(1)} s and ran into the due window: early ones were due before they were sent)`);
    await waitDelivered(admin, "timer-lateness", latenessCount, windowStartMs + latenessWindowMs + 60_000);
    const lateness = (await readAll(admin, "timer-lateness")).map((message) => message.storeTimestampMs - Number(message.properties.TIMER_OUT_MS)).sort((a, b) => a - b);
    const early = lateness.filter((ms) => ms < 0).length;
    figures.latenessP50Ms = percentile(lateness, 50);
    figures.latenessP99Ms = percentile(lateness, 99);
    figures.latenessMaxMs = lateness.at(-1) ?? Number.NaN;
    figures.latenessEarly = early;
    figures.latenessDelivered = lateness.length;
    figures.latenessSlowestAnswerMs = Math.round(slowestAnswerMs);
    log(`  delivered ${lateness.length.toLocaleString("en")}; lateness p50 ${figures.latenessP50Ms} ms (target ≤ ${targets.latenessP50Ms}: ${verdict(figures.latenessP50Ms <= targets.latenessP50Ms)}), p99 ${figures.latenessP99Ms} ms (target ≤ ${targets.latenessP99Ms}: ${verdict(figures.latenessP99Ms <= targets.latenessP99Ms)}), max ${figures.latenessMaxMs} ms; early ${early} (target 0: ${verdict(early === 0)})`);

    await hotSecond(broker, producer, admin, body, random, figures, latenessSendS);

    // 3. Restart with a million pending.
    ({ broker, admin, producer } = await restartPending(broker, producer, admin, dataDir, body, figures));

    await sendsAccepted(broker.child.pid, producer, body, random, figures);
  } finally {
    await producer.shutdown().catch(() => undefined);
    await admin.close().catch(() => undefined);
    broker.child.kill(9);
    await broker.child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }

  if (hotOnly || sendsOnly || restartOnly) {
    console.log(JSON.stringify(figures));
    return;
  }

  // 5. The scheduler alone.
  log(`\n5. scheduler alone: ${schedulerCount.toLocaleString("en")} jobs, compaction, reopen`);
  Object.assign(figures, await schedulerAlone());
  log(`  written ${String(figures.schedulerWriteJobsPerSecond)} jobs/s (journal ${figures.schedulerJournalMB} MB); compaction with all open ${figures.schedulerCompactMs} ms; reopen ${figures.schedulerReopenMs} ms`);

  console.log(JSON.stringify(figures));
}

type Admin = InstanceType<typeof import("../src/client/index.ts").Admin>;
type Producer = InstanceType<typeof import("../src/client/index.ts").Producer>;

/**
 * Phase 3: `restartCount` messages pending (due in a day), then SIGKILL and restart, `restarts`
 * times (ready: the median); the restarted broker with a new admin and producer.
 */
async function restartPending(running: Running, producer: Producer, admin: Admin, dataDir: string, body: Uint8Array, figures: Record<string, number | boolean>): Promise<{ broker: Running; admin: Admin; producer: Producer }> {
  const sdk = await import("../src/client/index.ts");
  log(`\n3. restart: ${restartCount.toLocaleString("en")} messages pending (due in a day), SIGKILL, restart${restarts > 1 ? ` (${restarts} times)` : ""}`);
  const dayLaterMs = Date.now() + 86_400_000;
  await windowed({ label: "sent", total: restartCount, window }, (index) => producer.send({ topic: "timer-pending", body, deliverAt: dayLaterMs + index }));
  await producer.shutdown();
  await admin.close();
  let broker = running;
  const readies: number[] = [];
  for (let round = 0; round < restarts; round++) {
    broker.child.kill(9);
    await broker.child.exited;
    broker = await startBroker(dataDir);
    readies.push(broker.readyMs);
    if (restarts > 1) log(`  restart ${round + 1}: ready ${Math.round(broker.readyMs)} ms (store ${broker.storeOpenMs} ms, broker start ${broker.brokerStartMs} ms)`);
  }
  figures.restartReadyMs = Math.round(percentile([...readies].sort((a, b) => a - b), 50));
  figures.restartOpenMs = broker.openMs;
  figures.restartStoreOpenMs = broker.storeOpenMs;
  figures.restartBrokerStartMs = broker.brokerStartMs;
  figures.restartRssMB = Math.round(rssMB(broker.child.pid));
  figures.restartVmRssMB = Math.round(rssMB(broker.child.pid, "VmRSS"));
  const restartedAdmin = new sdk.Admin({ broker: broker.address });
  const restartedProducer = new sdk.Producer({ broker: broker.address, maxInFlight: window });
  await restartedProducer.start();
  const listStartMs = performance.now();
  const listing = await restartedAdmin.listScheduled({ topic: "timer-pending", limit: 100 });
  figures.restartListMs = Math.round(performance.now() - listStartMs);
  figures.restartPending = listing.total;
  log(`  ready ${figures.restartReadyMs} ms after spawn (broker open ${figures.restartOpenMs} ms: store ${figures.restartStoreOpenMs} ms, broker start with scheduler and timer attach ${figures.restartBrokerStartMs} ms; target ≤ ${targets.restartReadyMs}: ${verdict(figures.restartReadyMs <= targets.restartReadyMs)}); ${listing.total.toLocaleString("en")} pending counted and the first page of 100 listed in ${figures.restartListMs} ms; anonymous RSS ${figures.restartRssMB} MB (VmRSS ${figures.restartVmRssMB} MB)`);
  return { broker, admin: restartedAdmin, producer: restartedProducer };
}

/** Phase 2: `hotCount` messages due in one second, sent at the rate a phase-1 send of `latenessCount` took `latenessSendS` for. */
async function hotSecond(broker: Running, producer: Producer, admin: Admin, body: Uint8Array, random: () => number, figures: Record<string, number | boolean>, latenessSendS: number): Promise<void> {
  // 2. A hot second.
  log(`\n2. hot second: ${hotCount.toLocaleString("en")} messages due within the same second`);
  const rssBeforeSends = rssMB(broker.child.pid);
  const vmRssBeforeSends = rssMB(broker.child.pid, "VmRSS");
  // Far enough ahead for the sends at the rate phase 1 saw, with a third to spare.
  const hotSecondMs = Math.ceil((Date.now() + ((hotCount / latenessCount) * latenessSendS * 1000 * 4) / 3 + 10_000) / 1000) * 1000;
  const hotSendS = await windowed({ label: "sent", total: hotCount, window }, (index) => producer.send({ topic: "timer-hot", body, deliverAt: hotSecondMs + Math.floor(random() * 1000) }));
  figures.hotSendMsgsPerSecond = Math.round(hotCount / hotSendS);
  const rssBeforeSecond = rssMB(broker.child.pid);
  if (Date.now() > hotSecondMs) log("  (the sends ran past the hot second: the drain figure is not meaningful)");
  log(`  sent in ${hotSendS.toFixed(1)} s; broker anonymous RSS ${rssBeforeSends.toFixed(0)} MB before the sends, ${rssBeforeSecond.toFixed(0)} MB before the second`);
  let rssPeak = rssBeforeSecond;
  let vmRssPeak = rssMB(broker.child.pid, "VmRSS");
  const pid = broker.child.pid;
  const sampler = setInterval(() => {
    try {
      rssPeak = Math.max(rssPeak, rssMB(pid));
      vmRssPeak = Math.max(vmRssPeak, rssMB(pid, "VmRSS"));
    } catch {
      // the process is gone: the wait below reports it
    }
  }, 100);
  let lastAtMs: number;
  try {
    lastAtMs = await waitDelivered(admin, "timer-hot", hotCount, hotSecondMs + 300_000);
  } finally {
    clearInterval(sampler);
  }
  figures.hotSlowestAnswerMs = Math.round(slowestAnswerMs);
  figures.hotDrainMs = lastAtMs - hotSecondMs;
  figures.hotRssBeforeSendsMB = Math.round(rssBeforeSends);
  figures.hotRssBeforeSecondMB = Math.round(rssBeforeSecond);
  figures.hotRssPeakMB = Math.round(rssPeak);
  figures.hotRssGrowthMB = Math.round(rssPeak - rssBeforeSends);
  figures.hotVmRssPeakMB = Math.round(vmRssPeak);
  figures.hotVmRssGrowthMB = Math.round(vmRssPeak - vmRssBeforeSends);
  log(`  all delivered ${figures.hotDrainMs} ms after the second began (target ≤ ${targets.hotDrainMs}: ${verdict(figures.hotDrainMs <= targets.hotDrainMs)}); anonymous RSS peak ${figures.hotRssPeakMB} MB (VmRSS with mapped CommitLog pages ${figures.hotVmRssPeakMB} MB, growth ${figures.hotVmRssGrowthMB} MB), growth ${figures.hotRssGrowthMB} MB over before the sends (target ≤ ${targets.hotRssGrowthMB}: ${verdict(figures.hotRssGrowthMB <= targets.hotRssGrowthMB)}), ${Math.round(rssPeak - rssBeforeSecond)} MB over before the second; slowest answer to a poll during the drain ${figures.hotSlowestAnswerMs} ms`);

}

/** Phase 4: plain against scheduled sends, same run, same broker. */
async function sendsAccepted(pid: number, producer: Producer, body: Uint8Array, random: () => number, figures: Record<string, number | boolean>): Promise<void> {
  // 4. Sends accepted, plain against scheduled, same run, same broker: alternating rounds, so
  // warm-up, the machine's other load and the deliveries of earlier scheduled rounds fall on both.
  log(`\n4. sends: ${sendCount.toLocaleString("en")} plain and ${sendCount.toLocaleString("en")} scheduled (random delays in the next 60 s), in ${sendRounds} alternating rounds each`);
  let plainS = 0;
  let scheduledS = 0;
  // The broker's CPU per send (user + system, from /proc): less at the mercy of the machine's other load than the rates.
  let plainCpuS = 0;
  let scheduledCpuS = 0;
  const roundCount = Math.ceil(sendCount / sendRounds);
  for (let round = 0; round < sendRounds; round++) {
    let cpuBeforeS = cpuSeconds(pid);
    plainS += await windowed({ label: `plain ${round + 1}`, total: roundCount, window }, () => producer.send({ topic: "timer-plain", body }));
    plainCpuS += cpuSeconds(pid) - cpuBeforeS;
    cpuBeforeS = cpuSeconds(pid);
    scheduledS += await windowed({ label: `scheduled ${round + 1}`, total: roundCount, window }, () => producer.send({ topic: "timer-scheduled", body, delayMs: 1 + Math.floor(random() * 60_000) }));
    scheduledCpuS += cpuSeconds(pid) - cpuBeforeS;
  }
  figures.plainMsgsPerSecond = Math.round((roundCount * sendRounds) / plainS);
  figures.scheduledMsgsPerSecond = Math.round((roundCount * sendRounds) / scheduledS);
  figures.scheduledSendRatio = Math.round((figures.scheduledMsgsPerSecond / figures.plainMsgsPerSecond) * 100) / 100;
  figures.plainBrokerCpuUs = Math.round(((plainCpuS / (roundCount * sendRounds)) * 1e6 * 10)) / 10;
  figures.scheduledBrokerCpuUs = Math.round(((scheduledCpuS / (roundCount * sendRounds)) * 1e6 * 10)) / 10;
  log(`  plain ${figures.plainMsgsPerSecond.toLocaleString("en")} msgs/s (baseline), scheduled ${figures.scheduledMsgsPerSecond.toLocaleString("en")} msgs/s = ${(figures.scheduledSendRatio * 100).toFixed(0)} % (target ≥ ${targets.scheduledSendRatio * 100} %: ${verdict(figures.scheduledSendRatio >= targets.scheduledSendRatio)}); broker CPU per send: plain ${figures.plainBrokerCpuUs} µs, scheduled ${figures.scheduledBrokerCpuUs} µs`);
}

/** Waits until `count` messages are in `topic` (polling its queue offsets); returns when the last arrived. */
async function waitDelivered(admin: InstanceType<typeof import("../src/client/index.ts").Admin>, topic: string, count: number, deadlineMs: number): Promise<number> {
  slowestAnswerMs = 0;
  let lastCount = -1;
  let lastAtMs = Date.now();
  let nextLogMs = 0;
  while (Date.now() < deadlineMs) {
    const askedMs = performance.now();
    let offsets: Awaited<ReturnType<typeof admin.topicOffsets>>;
    try {
      offsets = await admin.topicOffsets(topic);
    } catch (error) {
      log(`  the broker did not answer: ${(error as Error).message}`);
      slowestAnswerMs = Math.max(slowestAnswerMs, performance.now() - askedMs);
      continue;
    }
    slowestAnswerMs = Math.max(slowestAnswerMs, performance.now() - askedMs);
    const delivered = offsets.reduce((sum, queue) => sum + Number(queue.maxOffset), 0);
    if (delivered !== lastCount) {
      lastCount = delivered;
      lastAtMs = Date.now();
    }
    if (Date.now() >= nextLogMs) {
      log(`  delivered: ${delivered.toLocaleString("en")} / ${count.toLocaleString("en")}`);
      nextLogMs = Date.now() + 1_000;
    }
    if (delivered >= count) return lastAtMs;
    await Bun.sleep(50);
  }
  throw new Error(`Only ${lastCount} of ${count} messages of "${topic}" were delivered by the deadline`);
}

async function readAll(admin: InstanceType<typeof import("../src/client/index.ts").Admin>, topic: string) {
  const messages = [];
  for (const queue of await admin.topicOffsets(topic)) {
    for (let offset = Number(queue.minOffset); offset < Number(queue.maxOffset); ) {
      const page = await admin.readQueue(topic, queue.queueId, { offset, max: 1_024 });
      messages.push(...page.messages);
      if (Number(page.nextOffset) <= offset) break;
      offset = Number(page.nextOffset);
    }
  }
  return messages;
}

async function schedulerAlone(): Promise<Record<string, number>> {
  const { ManualClock } = await import("../src/common/clock.ts");
  const { silentLogger } = await import("../src/common/logger.ts");
  const { Scheduler } = await import("../src/store/scheduler.ts");
  const dir = join(tmpdir(), `mq-bench-scheduler-${process.pid}`);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  try {
    const scheduler = Scheduler.open<{ job: { physicalOffset: number; realTopic: string; realQueueId: number; msgId: string } }>({ dir, clock, logger: silentLogger });
    const writeStartMs = performance.now();
    for (let start = 0; start < schedulerCount; start += 1_000) {
      scheduler.batch(() => {
        for (let index = start; index < Math.min(schedulerCount, start + 1_000); index++) {
          const msgId = index.toString(16).toUpperCase().padStart(32, "0");
          scheduler.schedule({ kind: "job", id: msgId, dueMs: clock.nowMs() + 60_000 + index, payload: { physicalOffset: index * 200, realTopic: "Orders", realQueueId: index % 8, msgId } });
        }
      });
    }
    const writeS = (performance.now() - writeStartMs) / 1000;
    const journalMB = Math.round(scheduler.journalBytes / 1e6);
    const compactStartMs = performance.now();
    scheduler.compact();
    const compactMs = Math.round(performance.now() - compactStartMs);
    scheduler.close();
    const reopenStartMs = performance.now();
    const reopened = Scheduler.open({ dir, clock, logger: silentLogger });
    const reopenMs = Math.round(performance.now() - reopenStartMs);
    reopened.close();
    return { schedulerWriteJobsPerSecond: Math.round(schedulerCount / writeS), schedulerJournalMB: journalMB, schedulerCompactMs: compactMs, schedulerReopenMs: reopenMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
