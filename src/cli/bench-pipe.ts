/**
 * `mq bench pipe`: the Web Streams bindings under load, against plain produce in the same run.
 *
 * 1. Baseline: `--count` messages of `--size` bytes sent to `--topic` with `producer.send`,
 *    `--in-flight` at once — the same concurrency the writable gets. This also fills the topic.
 * 2. The pipe: `consumer.readable({ highWaterMark })` of a new group from the first message →
 *    a TransformStream (a new body: the old one's bytes reversed, and a tag) →
 *    `producer.writable({ topic: <topic>-piped, inFlight })`, until every message went through
 *    and the writable closed (every copy stored).
 *
 * Prints both rates and their ratio, and the RSS figure compared with the bound
 * (2 × highWaterMark × size + 50 MB): the most the process's RSS reached during the pipe (sampled
 * every 20 ms) minus its RSS just before it, taken after a full collection. That baseline is the
 * client at rest — runtime, code, producer connected — without the plain produce's garbage
 * (which would hide part of the pipe's growth), so the difference is everything the pipe adds:
 * its buffers (the readable's highWaterMark, the pull-ahead, sends in flight), the garbage made
 * between two collections, the pipe's own compiled code. Also printed: the RSS after the first
 * tenth and the growth after it (a leak shows as growth there), and the RSS after the pipe and
 * a full collection (what it kept). The last line is one JSON object.
 */

import { Admin, Producer, PushConsumer } from "../client/index.ts";
import type { StreamMessage } from "../client/message-readable.ts";
import type { WritableChunk } from "../client/message-writable.ts";
import { isMqError } from "../common/errors.ts";
import { type ClientTarget, clientTarget, integerOption, lastString } from "./options.ts";

type Options = Record<string, unknown>;

interface PipeSettings {
  readonly target: ClientTarget;
  readonly topic: string;
  readonly size: number;
  readonly count: number;
  readonly queues: number;
  readonly highWaterMark: number;
  readonly inFlight: number;
}

const rssSampleIntervalMs = 20;
const MB = 1_000_000;
/** The fixed part of the RSS bound for a pipe: 2 × highWaterMark × size + this. */
const pipeRssAllowanceBytes = 50 * MB;

export function pipeSettingsOf(options: Options): PipeSettings {
  return {
    target: clientTarget(options),
    topic: lastString(options.topic) ?? "BenchPipe",
    size: integerOption("size", options.size, { min: 1, max: 4 * 1024 * 1024, fallback: 128 }),
    count: integerOption("count", options.count, { min: 1, max: 1_000_000_000, fallback: 1_000_000 }),
    queues: integerOption("queues", options.queues, { min: 1, max: 1024, fallback: 8 }),
    highWaterMark: integerOption("high-water-mark", options.highWaterMark, { min: 1, max: 65_536, fallback: 256 }),
    inFlight: integerOption("in-flight", options.inFlight, { min: 1, max: 65_536, fallback: 64 }),
  };
}

async function ensureTopics(settings: PipeSettings, topics: readonly string[]): Promise<void> {
  const admin = new Admin(settings.target);
  try {
    for (const topic of topics) {
      await admin.getTopic(topic).catch(async (error) => {
        if (!isMqError(error, "TOPIC_NOT_FOUND")) throw error;
        await admin.createTopic(topic, { queues: settings.queues });
      });
    }
  } finally {
    await admin.close();
  }
}

/** Plain produce: `count` sends, `inFlight` at once; returns msgs/s. */
async function producePlain(producer: Producer, settings: PipeSettings): Promise<number> {
  const body = new Uint8Array(settings.size).fill(0x61);
  let started = 0;
  const startMs = performance.now();
  const sendSome = async (): Promise<void> => {
    while (started < settings.count) {
      started += 1;
      await producer.send({ topic: settings.topic, body });
    }
  };
  await Promise.all(Array.from({ length: settings.inFlight }, sendSome));
  return (settings.count * 1000) / (performance.now() - startMs);
}

/** The pipe: returns msgs/s and the RSS before and at most during it. */
async function pipe(producer: Producer, settings: PipeSettings, destination: string): Promise<{ rate: number; rssBefore: number; rssWarm: number; rssPeak: number; rssPeakAfterWarm: number; rssAfter: number }> {
  const consumer = new PushConsumer({ ...settings.target, group: `BenchPipe-${Date.now()}`, consumeFromWhere: "first" });
  consumer.subscribe(settings.topic);
  let piped = 0;
  const warmAt = Math.max(1, Math.floor(settings.count / 10));
  let rssWarm = 0;
  let rssPeakAfterWarm = 0;
  const transform = new TransformStream<StreamMessage, WritableChunk>({
    transform(message, controller) {
      controller.enqueue({ body: message.body.slice().reverse(), tags: "piped" });
      piped += 1;
      if (piped === warmAt) rssWarm = rssPeakAfterWarm = process.memoryUsage().rss;
      // Every message is through: shutting the consumer down ends its stream, and the pipe closes the writable.
      if (piped === settings.count) void consumer.shutdown();
    },
  });
  Bun.gc(true);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss;
    rssPeak = Math.max(rssPeak, rss);
    if (rssWarm > 0) rssPeakAfterWarm = Math.max(rssPeakAfterWarm, rss);
  }, rssSampleIntervalMs);
  const progress = setInterval(() => process.stderr.write(`pipe: ${piped.toLocaleString("en-US")} / ${settings.count.toLocaleString("en-US")} msgs\n`), 1_000);
  const startMs = performance.now();
  try {
    await consumer.readable({ highWaterMark: settings.highWaterMark }).pipeThrough(transform).pipeTo(producer.writable({ topic: destination, inFlight: settings.inFlight }));
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
  }
  const rate = (piped * 1000) / (performance.now() - startMs);
  Bun.gc(true);
  return { rate, rssBefore, rssWarm, rssPeak, rssPeakAfterWarm, rssAfter: process.memoryUsage().rss };
}

export async function benchPipe(settings: PipeSettings): Promise<void> {
  const destination = `${settings.topic}-piped`;
  await ensureTopics(settings, [settings.topic, destination]);
  const producer = new Producer(settings.target);
  await producer.start();
  try {
    const plainRate = await producePlain(producer, settings);
    const piped = await pipe(producer, settings, destination);
    const growth = piped.rssPeak - piped.rssBefore;
    const bound = 2 * settings.highWaterMark * settings.size + pipeRssAllowanceBytes;
    const ratio = piped.rate / plainRate;
    const mb = (bytes: number) => (bytes / MB).toFixed(1);
    process.stdout.write(`plain produce (send, ${settings.inFlight} in flight): ${Math.round(plainRate).toLocaleString("en-US")} msgs/s\n`);
    process.stdout.write(`pipe (readable → transform → writable): ${Math.round(piped.rate).toLocaleString("en-US")} msgs/s (${(ratio * 100).toFixed(1)} % of plain produce)\n`);
    const warmGrowth = piped.rssPeakAfterWarm - piped.rssWarm;
    const within = growth <= bound;
    process.stdout.write(
      `RSS compared with the bound: the most during the pipe ${mb(piped.rssPeak)} MB − before it (after a full collection) ${mb(piped.rssBefore)} MB = ${mb(growth)} MB, bound 2 × ${settings.highWaterMark} × ${settings.size} B + 50 MB = ${mb(bound)} MB: ${within ? "within" : "over"}\n`,
    );
    process.stdout.write(`RSS after the first tenth ${mb(piped.rssWarm)} MB, growth after it ${mb(warmGrowth)} MB; after the pipe and a full collection ${mb(piped.rssAfter)} MB (${mb(piped.rssAfter - piped.rssBefore)} MB over before)\n`);
    process.stdout.write(
      JSON.stringify({
        mode: "pipe",
        msgs: settings.count,
        size: settings.size,
        high_water_mark: settings.highWaterMark,
        in_flight: settings.inFlight,
        pipe_msgs_s: Math.round(piped.rate),
        produce_msgs_s: Math.round(plainRate),
        ratio: Number(ratio.toFixed(3)),
        rss_before_mb: Number(mb(piped.rssBefore)),
        rss_peak_mb: Number(mb(piped.rssPeak)),
        rss_growth_mb: Number(mb(growth)),
        rss_warm_mb: Number(mb(piped.rssWarm)),
        rss_growth_after_warm_mb: Number(mb(warmGrowth)),
        rss_bound_mb: Number(mb(bound)),
        rss_within_bound: within,
        rss_after_gc_mb: Number(mb(piped.rssAfter)),
      }) + "\n",
    );
  } finally {
    await producer.shutdown();
  }
}
