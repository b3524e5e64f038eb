/**
 * `mq bench produce|consume|latency`: a client-side load generator against a running broker.
 * Prints a progress line each second and a summary; the last line is one JSON object
 * (`msgs_s`, `mb_s`, `p50_us`, `p99_us`, `p999_us`, ...) so two runs compare by machine, with the
 * load generator's event-loop stalls (GC pauses show up there: common/loop-stall-monitor.ts).
 *
 * - produce: `--count` messages of `--size` bytes, `--window` sends in flight, `--batch` per send,
 *   `--producers` producers (connections) sharing the window;
 * - consume: a PushConsumer of `--group` reads `--count` messages from the first offset;
 *   latency is store time to delivery; `--fail-rate 0.01` compares, in one invocation, the same
 *   messages consumed with that fraction failing once (sent back, retried after 100 ms) and
 *   without failures, over alternated rounds (bench-consume.ts says what a rate counts);
 * - pipe: Web Streams, consume → transform → produce, against plain produce (bench-pipe.ts);
 * - latency: a producer and a consumer in one process; one send in flight (or `--rate` per
 *   second), each message carrying its send time; reports the send round trip and the end-to-end
 *   time through a long-polling consumer. End to end counts from the moment send() was called
 *   (as NATS's e2e client does), and is split at the broker's store time (millisecond clock) into
 *   send → stored and stored → handled, so a tail shows which side holds it. With `--rate`, the
 *   same figure from the intended send time (start + index / rate) is printed beside it: a sender
 *   late after a stall would otherwise hide that stall (coordinated omission).
 */

import { Admin, Producer, PushConsumer } from "../client/index.ts";
import { isMqError, MqError } from "../common/errors.ts";
import { benchRetryBackoffMs, compareFailRate, consumePass, median, rate } from "./bench-consume.ts";
import { benchPipe, pipeSettingsOf } from "./bench-pipe.ts";
import { LatencyRecorder } from "./latency-recorder.ts";
import { loopStallTickBenchMs } from "../common/limits.ts";
import { LoopStallMonitor } from "../common/loop-stall-monitor.ts";
import { stallFigures } from "./loop-stall-figures.ts";
import { type ClientTarget, clientTarget, integerOption, lastString } from "./options.ts";
import { nounCommand } from "./subcommands.ts";

type Options = Record<string, unknown>;

interface Settings {
  target: ClientTarget;
  topic: string;
  size: number;
  count: number;
  window: number;
  batch: number;
  group: string;
  rate: number;
  queues: number;
  producers: number;
  rounds: number;
}

function failRateOption(value: unknown): number {
  const text = lastString(value);
  if (text === undefined) return 0;
  const rate = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || rate < 0 || rate > 1) throw new MqError("INVALID_FIELD", { field: "--fail-rate", reason: `must be a fraction 0..1, got "${text}"` });
  return rate;
}

function settingsOf(options: Options): Settings {
  return {
    target: clientTarget(options),
    topic: lastString(options.topic) ?? "BenchTopic",
    size: integerOption("size", options.size, { min: 0, max: 4 * 1024 * 1024, fallback: 128 }),
    count: integerOption("count", options.count, { min: 1, max: 1_000_000_000, fallback: 100_000 }),
    window: integerOption("window", options.window, { min: 1, max: 65_536, fallback: 1_000 }),
    batch: integerOption("batch", options.batch, { min: 1, max: 10_000, fallback: 1 }),
    group: lastString(options.group) ?? "BenchGroup",
    rate: integerOption("rate", options.rate, { min: 0, max: 10_000_000, fallback: 0 }),
    queues: integerOption("queues", options.queues, { min: 1, max: 1024, fallback: 8 }),
    producers: integerOption("producers", options.producers, { min: 1, max: 1024, fallback: 1 }),
    rounds: integerOption("rounds", options.rounds, { min: 1, max: 99, fallback: 3 }),
  };
}

class Progress {
  private readonly startMs = performance.now();
  private lastMs = this.startMs;
  private lastCount = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly label: string, private readonly total: number, private readonly current: () => number) {
    this.timer = setInterval(() => this.print(), 1_000);
  }

  private print(): void {
    const nowMs = performance.now();
    const count = this.current();
    const rate = ((count - this.lastCount) * 1000) / (nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.lastCount = count;
    process.stderr.write(`${this.label}: ${count.toLocaleString("en-US")} / ${this.total.toLocaleString("en-US")} msgs, ${Math.round(rate).toLocaleString("en-US")} msgs/s\n`);
  }

  finish(): number {
    clearInterval(this.timer);
    return (performance.now() - this.startMs) / 1000;
  }
}

function summary(mode: string, settings: Settings, messages: number, seconds: number, latency: LatencyRecorder, extra: Record<string, number> = {}) {
  const [p50, p99, p999] = latency.percentiles(0.5, 0.99, 0.999);
  const figures = {
    mode,
    msgs: messages,
    seconds: Number(seconds.toFixed(3)),
    msgs_s: Math.round(messages / seconds),
    mb_s: Number(((messages * settings.size) / seconds / 1e6).toFixed(1)),
    p50_us: Math.round(p50!),
    p99_us: Math.round(p99!),
    p999_us: Math.round(p999!),
    size: settings.size,
    window: settings.window,
    batch: settings.batch,
    ...extra,
  };
  process.stdout.write(`${mode}: ${figures.msgs_s.toLocaleString("en-US")} msgs/s, ${figures.mb_s} MB/s, latency p50 ${figures.p50_us} µs, p99 ${figures.p99_us} µs, p99.9 ${figures.p999_us} µs\n`);
  process.stdout.write(JSON.stringify(figures) + "\n");
}

async function ensureTopic(settings: Settings): Promise<void> {
  const admin = new Admin(settings.target);
  try {
    await admin.getTopic(settings.topic).catch(async (error) => {
      if (!isMqError(error, "TOPIC_NOT_FOUND")) throw error;
      await admin.createTopic(settings.topic, { queues: settings.queues });
    });
  } finally {
    await admin.close();
  }
}

async function benchProduce(settings: Settings): Promise<void> {
  await ensureTopic(settings);
  // Each producer has its own connection; the window is shared out among them.
  const windowPerProducer = Math.ceil(settings.window / settings.producers);
  const producers = Array.from({ length: settings.producers }, () => new Producer({ ...settings.target, maxInFlight: windowPerProducer }));
  await Promise.all(producers.map((producer) => producer.start()));
  const body = new Uint8Array(settings.size).fill(0x61);
  const latency = new LatencyRecorder();
  let sent = 0;
  let started = 0;
  const progress = new Progress("produce", settings.count, () => sent);
  const stalls = new LoopStallMonitor(loopStallTickBenchMs);
  const sendOne = async (_: unknown, index: number): Promise<void> => {
    const producer = producers[index % producers.length]!;
    while (started < settings.count) {
      const messages = Math.min(settings.batch, settings.count - started);
      started += messages;
      const beginMs = performance.now();
      if (settings.batch === 1) await producer.send({ topic: settings.topic, body });
      else await producer.sendBatch(settings.topic, Array.from({ length: messages }, () => ({ body })));
      latency.record((performance.now() - beginMs) * 1000);
      sent += messages;
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.window }, sendOne));
  } finally {
    const seconds = progress.finish();
    await Promise.all(producers.map((producer) => producer.shutdown()));
    summary("produce", settings, sent, seconds, latency, { producers: settings.producers, ...stallFigures(stalls.stop()) });
  }
}

async function benchConsume(settings: Settings, failRate: number): Promise<void> {
  const consumeSettings = { target: settings.target, topic: settings.topic, count: settings.count, group: settings.group, rounds: settings.rounds };
  if (failRate === 0) {
    const pass = await consumePass(consumeSettings, settings.group, "consume", () => false, false);
    summary("consume", { ...settings, size: pass.handled === 0 ? 0 : pass.bytes / pass.handled }, pass.handled, pass.seconds, pass.latency, { e2e_latency_from: 1, ...stallFigures(pass.stalls) });
    return;
  }
  const { plain, failing } = await compareFailRate(consumeSettings, failRate);
  const plainRate = median(plain.map(rate));
  const failingRate = median(failing.map(rate));
  const ratios = failing.map((pass, index) => rate(pass) / rate(plain[index]!));
  const middle = failing.find((pass) => rate(pass) === failingRate) ?? failing[0]!;
  process.stdout.write(
    `median of ${settings.rounds} rounds: no failures ${Math.round(plainRate).toLocaleString("en-US")} msgs/s; ${middle.failed} failed once (retried after ${benchRetryBackoffMs} ms) ${Math.round(failingRate).toLocaleString("en-US")} msgs/s (${((failingRate / plainRate) * 100).toFixed(1)} %); rate = messages / time until each was handled once (consumed, or failed and sent back)\n`,
  );
  summary("consume (fail rate)", { ...settings, size: middle.handled === 0 ? 0 : middle.bytes / middle.handled }, middle.handled, middle.handled / failingRate, middle.latency, {
    e2e_latency_from: 1,
    fail_rate: failRate,
    failed_once: middle.failed,
    rounds: settings.rounds,
    no_failure_msgs_s: Math.round(plainRate),
    ratio: Number((failingRate / plainRate).toFixed(3)),
    ratio_min: Number(Math.min(...ratios).toFixed(3)),
    ratio_max: Number(Math.max(...ratios).toFixed(3)),
    retry_drain_ms: Math.round(middle.retryDrainMs),
    ...stallFigures(middle.stalls),
  });
}

/** Sends a rated latency run keeps in flight at most. */
const inFlightMax = 1000;

async function benchLatency(settings: Settings): Promise<void> {
  await ensureTopic(settings);
  const producer = new Producer(settings.target);
  await producer.start();
  const consumer = new PushConsumer({ ...settings.target, group: `${settings.group}-latency`, consumeFromWhere: "last", concurrency: 64 });
  consumer.subscribe(settings.topic);
  // Sized to the run (a recorder's default holds a million samples, 8 MB each).
  const samplesMax = Math.min(settings.count, 1_000_000);
  const endToEnd = new LatencyRecorder(samplesMax);
  const toStore = new LatencyRecorder(samplesMax);
  const fromStore = new LatencyRecorder(samplesMax);
  const fromIntended = new LatencyRecorder(samplesMax);
  const roundTrip = new LatencyRecorder(samplesMax);
  let received = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  await consumer.start((message) => {
    if (message.body.length < 16) return;
    const times = new DataView(message.body.buffer, message.body.byteOffset, 16);
    const sentAt = times.getFloat64(0);
    const nowMs = performance.timeOrigin + performance.now();
    endToEnd.record((nowMs - sentAt) * 1000);
    fromIntended.record((nowMs - times.getFloat64(8)) * 1000);
    toStore.record((message.storeTimestampMs - sentAt) * 1000);
    fromStore.record((nowMs - message.storeTimestampMs) * 1000);
    received += 1;
    if (received >= settings.count) finish();
  });
  await Bun.sleep(500); // let the consumer take its queues before the first send
  const progress = new Progress("latency", settings.count, () => received);
  const stalls = new LoopStallMonitor(loopStallTickBenchMs);
  const intervalMs = settings.rate > 0 ? 1000 / settings.rate : 0;
  const startMs = performance.now();
  // A window of sends in flight that frees one slot per answer: draining all 1,000 before the
  // next send (as it was) stopped the sender at each thousandth message, then sent in a burst.
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  let allAnswered: (() => void) | undefined;
  let sendFailure: unknown;
  for (let index = 0; index < settings.count; index++) {
    let dueMs = performance.now();
    if (intervalMs > 0) {
      dueMs = startMs + index * intervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await Bun.sleep(waitMs);
    }
    while (inFlight >= inFlightMax) await new Promise<void>((resolve) => (slotFreed = resolve));
    if (sendFailure !== undefined) throw sendFailure;
    const body = new Uint8Array(Math.max(16, settings.size));
    const times = new DataView(body.buffer);
    const beginMs = performance.now();
    times.setFloat64(0, performance.timeOrigin + beginMs);
    times.setFloat64(8, performance.timeOrigin + dueMs);
    const send = producer.send({ topic: settings.topic, body });
    if (intervalMs === 0) {
      await send;
      roundTrip.record((performance.now() - beginMs) * 1000);
      continue;
    }
    inFlight += 1;
    send.then(
      () => roundTrip.record((performance.now() - beginMs) * 1000),
      (error: unknown) => (sendFailure ??= error),
    ).finally(() => {
      inFlight -= 1;
      slotFreed?.();
      slotFreed = undefined;
      if (inFlight === 0) allAnswered?.();
    });
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (allAnswered = resolve));
  if (sendFailure !== undefined) throw sendFailure;
  // A cleared timer, not Bun.sleep: a pending sleep would keep the process alive for its full 10 s.
  let giveUp: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (giveUp = setTimeout(resolve, 10_000)))]);
  clearTimeout(giveUp);
  const seconds = progress.finish();
  const stallCounts = stallFigures(stalls.stop());
  await consumer.shutdown();
  await producer.shutdown();
  const [sendP50, sendP99] = roundTrip.percentiles(0.5, 0.99);
  const [toStoreP50, toStoreP99] = toStore.percentiles(0.5, 0.99);
  const [fromStoreP50, fromStoreP99] = fromStore.percentiles(0.5, 0.99);
  const [intendedP50, intendedP99, intendedP999] = fromIntended.percentiles(0.5, 0.99, 0.999);
  process.stdout.write(`end to end split at store time (ms clock): send → stored p50 ${Math.round(toStoreP50!)} µs, p99 ${Math.round(toStoreP99!)} µs; stored → handled p50 ${Math.round(fromStoreP50!)} µs, p99 ${Math.round(fromStoreP99!)} µs\n`);
  if (settings.rate > 0) process.stdout.write(`end to end from the intended send time: p50 ${Math.round(intendedP50!)} µs, p99 ${Math.round(intendedP99!)} µs, p99.9 ${Math.round(intendedP999!)} µs\n`);
  process.stdout.write(`send round trip: p50 ${Math.round(sendP50!)} µs, p99 ${Math.round(sendP99!)} µs (${settings.rate > 0 ? `${settings.rate} msgs/s` : "one in flight"})\n`);
  summary("latency (end to end)", settings, received, seconds, endToEnd, { send_p50_us: Math.round(sendP50!), send_p99_us: Math.round(sendP99!), rate: settings.rate,
    to_store_p99_us: Math.round(toStoreP99!),
    from_store_p99_us: Math.round(fromStoreP99!),
    ...(settings.rate > 0 ? { intended_p99_us: Math.round(intendedP99!) } : {}), ...stallCounts });
}

export const benchCommand = nounCommand({
  name: "bench",
  summary: "Load generator: mq bench produce|consume|latency|pipe",
  define(cli) {
    const common = (command: ReturnType<typeof cli.command>) =>
      command
        .option("--topic <topic>", "Topic (default BenchTopic, created with --queues if missing)", { type: [String] })
        .option("--size <bytes>", "Message body size (default 128)", { type: [String] })
        .option("--count <n>", "Messages (default 100000)", { type: [String] })
        .option("--queues <n>", "Queues of a topic the bench creates (default 8)", { type: [String] });
    common(cli.command("produce", "Send messages as fast as the window allows"))
      .option("--window <n>", "Sends in flight (default 1000)", { type: [String] })
      .option("--batch <n>", "Messages per send (sendBatch when > 1; default 1)", { type: [String] })
      .option("--producers <n>", "Producers, each with its own connection, sharing the window (default 1)", { type: [String] })
      .action((options: Options) => benchProduce(settingsOf(options)));
    common(cli.command("consume", "Consume stored messages with one PushConsumer"))
      .option("--group <group>", "Consumer group (default BenchGroup; a new group starts at the first message)", { type: [String] })
      .option("--fail-rate <fraction>", "Fail this fraction of messages once (0..1), against the same messages without failures (a warm-up pass, then --rounds alternated pairs; medians)", { type: [String] })
      .option("--rounds <n>", "With --fail-rate: pairs of passes, one of each kind, the order alternating (default 3)", { type: [String] })
      .action((options: Options) => benchConsume(settingsOf(options), failRateOption(options.failRate)));
    common(cli.command("latency", "Send round trip and end-to-end latency through a consumer"))
      .option("--rate <n>", "Messages per second (default 0: one send in flight)", { type: [String] })
      .option("--group <group>", "Consumer group prefix (default BenchGroup)", { type: [String] })
      .action((options: Options) => benchLatency(settingsOf(options)));
    cli
      .command("pipe", "Web Streams: consume → transform → produce, against plain produce in the same run")
      .option("--topic <topic>", "Source topic (default BenchPipe; the copies go to TOPIC-piped; both created with --queues if missing)", { type: [String] })
      .option("--size <bytes>", "Message body size (default 128)", { type: [String] })
      .option("--count <n>", "Messages (default 1000000)", { type: [String] })
      .option("--queues <n>", "Queues of a topic the bench creates (default 8)", { type: [String] })
      .option("--high-water-mark <n>", "The readable's highWaterMark (default 256)", { type: [String] })
      .option("--in-flight <n>", "The writable's inFlight, and the plain produce's sends in flight (default 64)", { type: [String] })
      .action((options: Options) => benchPipe(pipeSettingsOf(options)));
  },
});
