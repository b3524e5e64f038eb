/**
 * The Web Streams bindings against a real broker: `consumer.readable()` → TransformStream →
 * `producer.writable()` moves 1,000,000 messages with bounded memory and none lost, under Bun and
 * under Node (the SDK bundled with `Bun.build({ target: "node" })`, as in node-runtime.test.ts);
 * `cancel()` leaves the messages not yet read for redelivery.
 */

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { MsgIdGenerator } from "../../../src/common/ids.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { Admin } from "../../../src/client/admin.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

const root = resolve(import.meta.dir, "../../..");
const pipedMessages = 1_000_000;
/** A bound on one pipe, not a speed check: ~20 s under Bun and ~40 s under Node on an idle 2-core machine, several times that while other suites share it. */
const pipeTimeoutMs = 480_000;
const highWaterMark = 256;
/** Messages piped before the piping process's RSS is taken as its working size. */
const warmupMessages = 100_000;
/**
 * How far the piping process's RSS may grow over its working size while the other 900,000
 * messages go through (they are ~120 MB of records): room for GC timing, not for the messages.
 */
const pipeRssGrowthBytesMax = 64 * 1024 * 1024;

/**
 * Pipes the N messages of the source topic through a transform into the destination topic,
 * sampling its own RSS. Which messages went through is a bitmap, so the check
 * itself does not grow the memory it measures.
 */
const pipeScript = `
import { Producer, PushConsumer } from "./client.js";
const [broker, source, destination, group, countText] = process.argv.slice(2);
const count = Number(countText);
const producer = new Producer({ broker });
await producer.start();
// The RSS after the first ${warmupMessages} messages (code compiled, heap and buffers grown to their
// working size), and the most it reaches over the rest: bounded memory is the second not growing.
let rssWarm = 0;
let rssPeak = 0;
const sampler = setInterval(() => { if (rssWarm > 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 20);
const consumer = new PushConsumer({ broker, group, consumeFromWhere: "first", pullBatchSize: 32 });
consumer.subscribe(source);
const seen = new Uint8Array(count);
let distinct = 0;
let repeated = 0;
const timeout = setTimeout(() => { console.error("timed out after " + distinct + " messages"); process.exit(2); }, ${pipeTimeoutMs - 20_000});
const transform = new TransformStream({
  transform(message, controller) {
    const index = Number(message.text().slice(1));
    if (seen[index] === 1) repeated++;
    else { seen[index] = 1; distinct++; }
    if (distinct === ${warmupMessages}) rssWarm = rssPeak = process.memoryUsage().rss;
    controller.enqueue({ body: "t" + index, tags: "piped" });
    // Every message is through: shutting the consumer down ends its stream, and the pipe closes the writable.
    if (distinct === count) void consumer.shutdown();
  },
});
const piping = Date.now();
await consumer.readable({ highWaterMark: ${highWaterMark} }).pipeThrough(transform).pipeTo(producer.writable({ topic: destination, inFlight: 64 }));
const pipeMs = Date.now() - piping;
clearInterval(sampler);
clearTimeout(timeout);
await producer.shutdown();
console.log(JSON.stringify({ runtime: typeof Bun === "undefined" ? "node " + process.version : "bun", distinct, repeated, pipeMs, rssWarm, rssPeak }));
`;

async function bundleClient(): Promise<string> {
  const dir = makeTempDir("mq-streams-");
  const build = await Bun.build({ entrypoints: [join(root, "src/client/index.ts")], target: "node", format: "esm", outdir: dir, naming: "client.js" });
  expect(build.logs.filter((log) => log.level === "error").map(String)).toEqual([]);
  writeFileSync(join(dir, "pipe.mjs"), pipeScript);
  return dir;
}

async function totalMessages(broker: string, topic: string): Promise<number> {
  const admin = track(new Admin({ broker }));
  return (await admin.topicOffsets(topic)).reduce((sum, queue) => sum + Number(queue.maxOffset) - Number(queue.minOffset), 0);
}

/**
 * Messages "m0" … "m<count-1>", queue by queue, stored by the broker's own message service: the
 * pipe is under test here, not the producer (other tests send over TCP), and a million sends over
 * TCP cost this file ten seconds per runtime.
 */
async function seed(broker: TestBroker, topic: string, queues: number, count: number): Promise<void> {
  const msgIds = new MsgIdGenerator({ ip: "127.0.0.1", pid: process.pid, instanceHash: 1 }, () => Date.now());
  const encoder = new TextEncoder();
  const batchSize = 1_000;
  for (let first = 0; first < count; first += batchSize) {
    const queueId = (first / batchSize) % queues;
    const batch = Array.from({ length: Math.min(batchSize, count - first) }, (_, offset) => ({ topic, queueId, body: encoder.encode(`m${first + offset}`), msgId: msgIds.next() }));
    await broker.broker.context.messages.sendBatch(batch);
  }
}

function mebibytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

describe("client: Web Streams", () => {
  for (const runtime of ["bun", "node"] as const) {
    test(
      `readable → TransformStream → writable moves ${pipedMessages} messages, none lost, under ${runtime}`,
      async () => {
        const dir = await bundleClient();
        const broker = await startTestBroker();
        const source = uniqueName("pipe-in");
        const destination = uniqueName("pipe-out");
        await createTopic(broker.address, source, 4);
        await createTopic(broker.address, destination, 4);
        await seed(broker, source, 4, pipedMessages);
        const command = runtime === "bun" ? [process.execPath] : ["node", "--expose-gc"];
        const child = Bun.spawn([...command, join(dir, "pipe.mjs"), broker.address, source, destination, uniqueName("g"), String(pipedMessages)], { cwd: dir, stdout: "pipe", stderr: "pipe" });
        const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
        const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
        expect(result.runtime).toStartWith(runtime);
        expect(result.distinct).toBe(pipedMessages);
        console.log(`${runtime}: piped ${pipedMessages} messages in ${result.pipeMs} ms, RSS ${mebibytes(result.rssWarm)} MiB after ${warmupMessages}, ${mebibytes(result.rssPeak)} MiB at most after`);
        expect(result.rssPeak - result.rssWarm).toBeLessThanOrEqual(pipeRssGrowthBytesMax);
        expect(await totalMessages(broker.address, destination)).toBe(pipedMessages);
      },
      pipeTimeoutMs,
    );
  }

  test("a manual-ack reader acknowledges each message on its copy's durable write", async () => {
    const broker = await startTestBroker();
    const source = uniqueName("manual-in");
    const destination = uniqueName("manual-out");
    const group = uniqueName("g");
    await createTopic(broker.address, source, 2);
    await createTopic(broker.address, destination, 2);
    const producer = await startProducer(broker.address);
    await producer.sendBatch(source, Array.from({ length: 200 }, (_, index) => ({ body: `m${index}` })));

    const reading = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(source);
    const writer = producer.writable({ topic: destination, inFlight: 16 }).getWriter();
    const acknowledged: string[] = [];
    const writes: Promise<void>[] = [];
    for await (const message of reading.readable({ manualAck: true, highWaterMark: 32 })) {
      await writer.ready;
      writes.push(
        writer.write({ body: `t:${message.text()}` }).then(() => {
          message.ack();
          acknowledged.push(message.text());
          if (acknowledged.length === 200) void reading.shutdown();
        }),
      );
    }
    await Promise.all(writes);
    await writer.close();
    expect(acknowledged.sort()).toEqual(Array.from({ length: 200 }, (_, index) => `m${index}`).sort());
    expect(await totalMessages(broker.address, destination)).toBe(200);
  });

  test("cancel() shuts the consumer down and leaves the messages not yet read for redelivery", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("cancel");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    await producer.sendBatch(topic, Array.from({ length: 30 }, (_, index) => ({ body: `m${index}` })));

    const reading = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    const reader = reading.readable({ highWaterMark: 4 }).getReader();
    const read: string[] = [];
    while (read.length < 10) read.push((await reader.read()).value!.text());
    await reader.cancel();
    expect(read).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}`));

    // The tenth was read but not acknowledged (the next read does that): it comes back with the rest.
    const received: string[] = [];
    const next = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await next.start((message) => void received.push(message.text()));
    await waitFor("the unread messages", () => received.length >= 21);
    expect(received.sort()).toEqual(Array.from({ length: 21 }, (_, index) => `m${index + 9}`).sort());
  });

  test("a pipeTo whose destination fails sends the message being written back for retry and shuts the consumer down", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("pipe-fail");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    await broker.broker.context.groupConfigs.update({ group, backoff: { kind: "exponential", initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } });
    const producer = await startProducer(broker.address);
    await producer.sendBatch(topic, Array.from({ length: 5 }, (_, index) => ({ body: `m${index}` })));
    const reading = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    const written: string[] = [];
    const sink = new WritableStream<{ text(): string }>({
      write(message) {
        if (message.text() === "m2") throw new Error("sink refused m2");
        written.push(message.text());
      },
    });
    const piped = await reading.readable({ highWaterMark: 2 }).pipeTo(sink).then(() => "closed", (error: Error) => error.message);
    expect(piped).toBe("sink refused m2");
    expect(written).toEqual(["m0", "m1"]);
    await reading.shutdown();
    expect(reading.metrics).toEqual({ failed: 1, sentToRetry: 1, sentToDeadLetter: 0, sendBackErrors: 0 });

    // m2 comes back from the retry topic with its error counted; m3 and m4 were never read and come back as they were.
    const received: string[] = [];
    const next = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await next.start((message) => void received.push(`${message.text()}@${message.reconsumeTimes}`));
    await waitFor("m2 again and the unread ones", () => ["m2@1", "m3@0", "m4@0"].every((entry) => received.includes(entry)));
    expect(received.filter((entry) => entry.startsWith("m2"))).toEqual(["m2@1"]);
  });
});
