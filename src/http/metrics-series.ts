/**
 * The time series behind the console's live charts (`GET /api/v1/metrics/series`), fed by the
 * metrics registry: once a `metricsSampleIntervalMs` it reads the running totals (messages in
 * and out, send latency observations, store size) and keeps, per interval, messages in and out
 * per second, the mean and 99th-percentile send latency of the sends answered in it, and the
 * store size — the last `metricsSamplesMax` samples (an hour), in memory.
 *
 * Per-topic rates (messages in and out per second over the last `topicRateWindowMs`) come from
 * snapshots of the per-topic totals taken ten times per window.
 *
 * A percentile from histogram buckets is the upper bound of the bucket it falls in: an
 * over-estimate by at most one bucket, as Prometheus' histogram_quantile would interpolate.
 */

import type { BrokerMetrics } from "./broker-metrics.ts";
import { metricsSampleIntervalMs, metricsSamplesMax, topicRateWindowMs } from "./limits.ts";
import { latencyBucketsSeconds, type Metric } from "./metrics-registry.ts";

export interface SeriesSample {
  readonly timeMs: number;
  readonly inPerSecond: number;
  readonly outPerSecond: number;
  /** Undefined when no send was answered in the interval. */
  readonly sendLatencyMsMean?: number;
  readonly sendLatencyMsP99?: number;
  /** Undefined when no store runs in this process. */
  readonly storeBytes?: number;
}

export interface TopicRate {
  readonly inPerSecond: number;
  readonly outPerSecond: number;
}

interface Totals {
  readonly timeMs: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly sends: number;
  readonly sendSeconds: number;
  readonly sendBuckets: readonly number[];
  readonly storeBytes?: number;
}

interface TopicTotals {
  readonly timeMs: number;
  readonly byTopic: ReadonlyMap<string, { in: number; out: number }>;
}

const topicSnapshotsKept = 11;

export class MetricsSeries {
  private readonly samples: SeriesSample[] = [];
  private readonly topicSnapshots: TopicTotals[] = [];
  private last: Totals | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly metrics: BrokerMetrics,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Samples every interval until stop(); the timer never keeps the process alive. */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), metricsSampleIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the totals now and appends the interval since the previous reading. */
  sample(): void {
    const totals = this.totals();
    const previous = this.last;
    this.last = totals;
    if (totals.timeMs - (this.topicSnapshots.at(-1)?.timeMs ?? -Infinity) >= topicRateWindowMs / 10) this.snapshotTopics(totals.timeMs);
    if (previous === undefined || totals.timeMs <= previous.timeMs) return;
    const seconds = (totals.timeMs - previous.timeMs) / 1000;
    const sends = totals.sends - previous.sends;
    const sample: SeriesSample = {
      timeMs: totals.timeMs,
      inPerSecond: Math.max(0, totals.messagesIn - previous.messagesIn) / seconds,
      outPerSecond: Math.max(0, totals.messagesOut - previous.messagesOut) / seconds,
      ...(sends > 0 ? { sendLatencyMsMean: ((totals.sendSeconds - previous.sendSeconds) / sends) * 1000, sendLatencyMsP99: p99Ms(totals.sendBuckets, previous.sendBuckets, sends) } : {}),
      ...(totals.storeBytes === undefined ? {} : { storeBytes: totals.storeBytes }),
    };
    this.samples.push(sample);
    if (this.samples.length > metricsSamplesMax) this.samples.splice(0, this.samples.length - metricsSamplesMax);
  }

  /** Samples taken after `sinceMs`, oldest first. */
  since(sinceMs = 0): SeriesSample[] {
    let start = this.samples.length;
    while (start > 0 && this.samples[start - 1]!.timeMs > sinceMs) start--;
    return this.samples.slice(start);
  }

  /** Messages in and out per second of each topic over the last window (what the snapshots span). */
  topicRates(): Record<string, TopicRate> {
    const newest = this.topicSnapshots.at(-1);
    const oldest = this.topicSnapshots[0];
    const rates: Record<string, TopicRate> = {};
    if (newest === undefined || oldest === undefined || newest.timeMs <= oldest.timeMs) return rates;
    const seconds = (newest.timeMs - oldest.timeMs) / 1000;
    for (const [topic, now] of newest.byTopic) {
      const then = oldest.byTopic.get(topic) ?? { in: 0, out: 0 };
      rates[topic] = { inPerSecond: Math.max(0, now.in - then.in) / seconds, outPerSecond: Math.max(0, now.out - then.out) / seconds };
    }
    return rates;
  }

  private totals(): Totals {
    const registry = this.metrics.registry;
    const sendBuckets = latencyBucketsSeconds.map(() => 0);
    let sends = 0;
    let sendSeconds = 0;
    for (const series of this.metrics.sendLatency.entries()) {
      sends += series.value;
      sendSeconds += series.sum;
      series.buckets.forEach((count, index) => (sendBuckets[index]! += count));
    }
    const store = registry.get("mq_store_size_bytes");
    return {
      timeMs: this.nowMs(),
      messagesIn: total(registry.get("mq_messages_in_total")),
      messagesOut: total(this.metrics.messagesOut),
      sends,
      sendSeconds,
      sendBuckets,
      ...(store === undefined ? {} : { storeBytes: total(store) }),
    };
  }

  private snapshotTopics(timeMs: number): void {
    const byTopic = new Map<string, { in: number; out: number }>();
    const add = (metric: Metric | undefined, field: "in" | "out") => {
      if (metric === undefined) return;
      for (const series of metric.entries()) {
        const topic = String(series.labels.topic ?? "");
        const entry = byTopic.get(topic) ?? { in: 0, out: 0 };
        entry[field] += series.value;
        byTopic.set(topic, entry);
      }
    };
    add(this.metrics.registry.get("mq_messages_in_total"), "in");
    add(this.metrics.messagesOut, "out");
    this.topicSnapshots.push({ timeMs, byTopic });
    if (this.topicSnapshots.length > topicSnapshotsKept) this.topicSnapshots.shift();
  }
}

function total(metric: Metric | undefined): number {
  let sum = 0;
  if (metric !== undefined) for (const series of metric.entries()) sum += series.value;
  return sum;
}

/** The upper bound (ms) of the bucket holding the interval's 99th percentile; the largest bound past every bucket. */
function p99Ms(now: readonly number[], before: readonly number[], count: number): number {
  const rank = Math.ceil(count * 0.99);
  for (let index = 0; index < latencyBucketsSeconds.length; index++) {
    if ((now[index] ?? 0) - (before[index] ?? 0) >= rank) return latencyBucketsSeconds[index]! * 1000;
  }
  return latencyBucketsSeconds[latencyBucketsSeconds.length - 1]! * 1000;
}
