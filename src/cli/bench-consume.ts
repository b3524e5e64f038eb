/**
 * `mq bench consume`: a PushConsumer of a new group reads `--count` stored messages from the first
 * offset. With `--fail-rate F` it compares consuming with a fraction F of the messages failing
 * once against consuming without failures, in one invocation:
 *
 * - What a pass measures: the consumer's throughput over the backlog, `count` divided by the time
 *   from the pass's first delivery until every one of the `count` messages was handled once —
 *   consumed, or failed and stored back by the broker (CONSUMER_SEND_BACK answered). The retries
 *   that come back during that time run on the same consumer and take its capacity, but the pass
 *   does not wait out the back-off of the last failures: that is a delay chosen by the group, not
 *   consumer throughput. After the measured part the pass still waits for every retry to be
 *   delivered (none may be lost) and reports how long that took (`retry_drain_ms`).
 * - Both kinds of pass pick the same messages (by msgId hash), so their handlers do the same work
 *   and differ only in what a failure costs; the failing groups retry after 100 ms (exponential,
 *   factor 1).
 * - Stability: one unmeasured warm-up pass with failures first (code compiled, the broker's
 *   send-back and retry paths run once), then `--rounds` rounds of one pass of each kind, the order
 *   alternating between rounds so that neither kind always runs on a warmer process; a full GC
 *   before each pass. The ratio is the median failing rate over the median no-failure rate; every
 *   round's own ratio is printed too.
 */

import { Admin, PushConsumer } from "../client/index.ts";
import type { ReceivedMessage } from "../client/message.ts";
import { MqError } from "../common/errors.ts";
import { hash32 } from "../common/hash.ts";
import { LatencyRecorder } from "./latency-recorder.ts";
import { loopStallTickBenchMs } from "../common/limits.ts";
import { type LoopStalls, LoopStallMonitor } from "../common/loop-stall-monitor.ts";
import type { ClientTarget } from "./options.ts";

export interface ConsumeSettings {
  readonly target: ClientTarget;
  readonly topic: string;
  readonly count: number;
  readonly group: string;
  readonly rounds: number;
}

export interface ConsumePassResult {
  /** First deliveries handled (consumed, or failed and sent back). */
  readonly handled: number;
  readonly bytes: number;
  /** From the first delivery until all `count` first deliveries were handled. */
  readonly seconds: number;
  readonly failed: number;
  /** From the end of the measured part until every failed message was delivered again. */
  readonly retryDrainMs: number;
  readonly latency: LatencyRecorder;
  readonly stalls: LoopStalls;
}

/** Resolution of --fail-rate: messages are picked by msgId hash modulo this. */
const failBuckets = 1_000_000;
/** The failing groups' retry delay. */
export const benchRetryBackoffMs = 100;
/** Consumer settings of every pass. */
const benchConcurrency = 64;
const benchPullBatchSize = 64;
/** The warm-up pass reads at most this many messages. */
const warmupMessagesMax = 50_000;
/** How often the end of a pass is checked once only send-back answers are outstanding. */
const sendBackPollMs = 1;
/** A pass gives up waiting for its retries after this long. */
const retryDrainTimeoutMs = 60_000;

/**
 * One pass of `count` messages by a new `group`; `picked` says which messages fail on their
 * first delivery when `failPicked` is set.
 */
export async function consumePass(settings: ConsumeSettings, group: string, label: string, picked: (message: ReceivedMessage) => boolean, failPicked: boolean, count = settings.count): Promise<ConsumePassResult> {
  Bun.gc(true);
  const consumer = new PushConsumer({ ...settings.target, group, consumeFromWhere: "first", concurrency: benchConcurrency, pullBatchSize: benchPullBatchSize });
  consumer.subscribe(settings.topic);
  const latency = new LatencyRecorder();
  let consumed = 0;
  let failed = 0;
  let redelivered = 0;
  let bytes = 0;
  let startMs = 0;
  let measuredMs = 0;
  let endMeasure: () => void = () => {};
  const measured = new Promise<void>((resolve) => (endMeasure = resolve));
  let endDrain: () => void = () => {};
  const drained = new Promise<void>((resolve) => (endDrain = resolve));
  const handled = () => consumed + consumer.metrics.sentToRetry + consumer.metrics.sentToDeadLetter;
  let poll: ReturnType<typeof setInterval> | undefined;
  const check = () => {
    if (measuredMs === 0) {
      if (consumed + failed < count) return;
      // Every first delivery ran; the last failures' send-backs may still be awaiting the broker.
      if (handled() < count) {
        poll ??= setInterval(check, sendBackPollMs);
        return;
      }
      measuredMs = performance.now();
      endMeasure();
    }
    if (redelivered >= failed) endDrain();
    if (poll !== undefined) {
      clearInterval(poll);
      poll = undefined;
    }
  };
  const progress = setInterval(() => process.stderr.write(`${label}: ${handled().toLocaleString("en-US")} / ${count.toLocaleString("en-US")} msgs handled once, ${redelivered} of ${failed} retries back\n`), 1_000);
  const stallMonitor = new LoopStallMonitor(loopStallTickBenchMs);
  try {
    await consumer.start((message) => {
      if (startMs === 0) startMs = performance.now();
      if (message.reconsumeTimes > 0) {
        redelivered += 1;
        if (measuredMs > 0) check();
        return;
      }
      if (consumed + failed >= count) return; // past this pass's share of the backlog (warm-up)
      // Both kinds of pass pick (the same work); only a failing pass fails the picked ones.
      if (picked(message) && failPicked) {
        failed += 1;
        // This may be the last first delivery: the check must run, or nothing ends the pass.
        check();
        throw new Error("bench: failing this message once");
      }
      consumed += 1;
      bytes += message.body.length;
      latency.record(Math.max(0, Date.now() - message.storeTimestampMs) * 1000);
      check();
    });
    await measured;
    const stalls = stallMonitor.stop();
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const drainTimedOut = new Promise<boolean>((resolve) => (giveUp = setTimeout(() => resolve(true), retryDrainTimeoutMs)));
    const timedOut = await Promise.race([drained.then(() => false), drainTimedOut]);
    clearTimeout(giveUp);
    if (timedOut) throw new MqError("INTERNAL", { reason: `${label}: only ${redelivered} of ${failed} failed messages were delivered again within ${retryDrainTimeoutMs} ms` });
    return { handled: handled(), bytes, seconds: (measuredMs - startMs) / 1000, failed, retryDrainMs: performance.now() - measuredMs, latency, stalls };
  } finally {
    clearInterval(progress);
    if (poll !== undefined) clearInterval(poll);
    await consumer.shutdown();
  }
}

/** The `--fail-rate` comparison: a warm-up pass, then `rounds` alternated pairs of passes. */
export async function compareFailRate(settings: ConsumeSettings, failRate: number): Promise<{ plain: ConsumePassResult[]; failing: ConsumePassResult[] }> {
  const threshold = Math.round(failRate * failBuckets);
  const picked = (message: ReceivedMessage) => hash32(message.msgId) % failBuckets < threshold;
  const runId = Date.now().toString(36);
  const failingGroup = (name: string) => `${settings.group}-${runId}-failing-${name}`;
  const admin = new Admin(settings.target);
  const backoff = { kind: "exponential", initialMs: benchRetryBackoffMs, factor: 1, maxMs: benchRetryBackoffMs } as const;
  const plain: ConsumePassResult[] = [];
  const failing: ConsumePassResult[] = [];
  try {
    await admin.updateGroupConfig(failingGroup("warmup"), { backoff });
    await consumePass(settings, failingGroup("warmup"), "warm-up", picked, true, Math.min(settings.count, warmupMessagesMax));
    for (let round = 1; round <= settings.rounds; round++) {
      const runPlain = async () => plain.push(await consumePass(settings, `${settings.group}-${runId}-plain-${round}`, `round ${round}: no failures`, picked, false));
      const runFailing = async () => {
        await admin.updateGroupConfig(failingGroup(String(round)), { backoff });
        failing.push(await consumePass(settings, failingGroup(String(round)), `round ${round}: fail rate ${failRate}`, picked, true));
      };
      if (round % 2 === 1) {
        await runPlain();
        await runFailing();
      } else {
        await runFailing();
        await runPlain();
      }
      const ratio = rate(failing.at(-1)!) / rate(plain.at(-1)!);
      process.stdout.write(`round ${round}: no failures ${format(rate(plain.at(-1)!))} msgs/s, ${failing.at(-1)!.failed} failed once ${format(rate(failing.at(-1)!))} msgs/s (${(ratio * 100).toFixed(1)} %), retries back ${Math.round(failing.at(-1)!.retryDrainMs)} ms after\n`);
    }
  } finally {
    await admin.close();
  }
  return { plain, failing };
}

export function rate(pass: ConsumePassResult): number {
  return pass.handled / pass.seconds;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}
