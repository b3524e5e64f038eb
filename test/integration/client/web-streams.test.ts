/**
 * The Web Streams bindings against a real broker: `consumer.readable()` → TransformStream →
 * `producer.writable()` moves every message, under Bun and under Node (the SDK bundled with
 * `Bun.build({ target: "node" })`, as in node-runtime.test.ts); `cancel()` leaves the messages
 * not yet read for redelivery. The suite moves 20,000 messages; the 1,000,000-message run is the
 * benchmark's, not the suite's.
 */

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startTestBroker } from "../../helpers/broker.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { Admin } from "../../../src/client/admin.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

const root = resolve(import.meta.dir, "../../..");
const pipedMessages = 20_000;
const pipeTimeoutMs = 120_000;

/** Produces N messages to the source topic, then pipes them through a transform into the destination topic. */
const pipeScript = `
import { Producer, PushConsumer } from "./client.js";
const [broker, source, destination, group, countText] = process.argv.slice(2);
const count = Number(countText);
const producer = new Producer({ broker });
await producer.start();
for (let first = 0; first < count; first += 500) {
  const batch = [];
  for (let index = first; index < Math.min(count, first + 500); index++) batch.push({ body: "m" + index });
  await producer.sendBatch(source, batch);
}
const consumer = new PushConsumer({ broker, group, consumeFromWhere: "first" });
consumer.subscribe(source);
const seen = new Set();
const timeout = setTimeout(() => { console.error("timed out after " + seen.size + " messages"); process.exit(2); }, ${pipeTimeoutMs - 10_000});
const transform = new TransformStream({
  transform(message, controller) {
    seen.add(message.text());
    controller.enqueue({ body: "t:" + message.text(), tags: "piped" });
    // Every message is through: shutting the consumer down ends its stream, and the pipe closes the writable.
    if (seen.size === count) void consumer.shutdown();
  },
});
await consumer.readable({ highWaterMark: 256 }).pipeThrough(transform).pipeTo(producer.writable({ topic: destination, inFlight: 64 }));
clearTimeout(timeout);
await producer.shutdown();
console.log(JSON.stringify({ runtime: typeof Bun === "undefined" ? "node " + process.version : "bun", distinct: seen.size }));
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
        const command = runtime === "bun" ? process.execPath : "node";
        const child = Bun.spawn([command, join(dir, "pipe.mjs"), broker.address, source, destination, uniqueName("g"), String(pipedMessages)], { cwd: dir, stdout: "pipe", stderr: "pipe" });
        const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
        const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
        expect(result.runtime).toStartWith(runtime);
        expect(result.distinct).toBe(pipedMessages);
        expect(await totalMessages(broker.address, destination)).toBe(pipedMessages);
      },
      pipeTimeoutMs,
    );
  }

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
