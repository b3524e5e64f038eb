/**
 * The SDK on Node: src/client bundled with `Bun.build({ target: "node" })`, then a producer and
 * a consumer run under `node` against a broker in this process. Catches Bun-only APIs creeping
 * into src/client (or into what it imports) and anything Node's module loader refuses.
 */

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startTestBroker } from "../../helpers/broker.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { createTopic, uniqueName } from "./helpers.ts";

const root = resolve(import.meta.dir, "../../..");

const script = `
import { Producer, PushConsumer, isMqError } from "./client.js";
const [broker, topic, group] = process.argv.slice(2);
const producer = new Producer({ broker });
await producer.start();
const sent = [];
for (let index = 0; index < 20; index++) sent.push((await producer.send({ topic, body: "n" + index, tags: "node" })).msgId);
const batch = await producer.sendBatch(topic, [{ body: "batch0" }, { body: "batch1" }]);
const consumer = new PushConsumer({ broker, group, consumeFromWhere: "first" });
consumer.subscribe(topic, "node");
const received = [];
const timeout = setTimeout(() => { console.error("timed out"); process.exit(2); }, 15000);
for await (const message of consumer) {
  received.push(message.text());
  if (received.length === 20) break;
}
clearTimeout(timeout);
const error = await producer.send({ topic: "bad topic!", body: "" }).catch((caught) => caught);
await producer.shutdown();
console.log(JSON.stringify({ node: process.version, sent: sent.length, batch: batch.length, received: received.sort(), typedError: isMqError(error) ? error.errorName : String(error) }));
`;

describe("client: Node runtime", () => {
  test("a bundled producer and consumer run under node against the broker", async () => {
    const dir = makeTempDir("mq-node-client-");
    const build = await Bun.build({ entrypoints: [join(root, "src/client/index.ts")], target: "node", format: "esm", outdir: dir, naming: "client.js" });
    expect(build.logs.filter((log) => log.level === "error").map(String)).toEqual([]);
    expect(build.success).toBe(true);
    writeFileSync(join(dir, "run.mjs"), script);

    const broker = await startTestBroker();
    const topic = uniqueName("node");
    await createTopic(broker.address, topic, 2);
    const child = Bun.spawn(["node", join(dir, "run.mjs"), broker.address, topic, uniqueName("g")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(result.node).toMatch(/^v(2\d|[3-9]\d)\./);
    expect(result.sent).toBe(20);
    expect(result.batch).toBe(2);
    expect(result.received).toEqual(Array.from({ length: 20 }, (_, index) => `n${index}`).sort());
    expect(result.typedError).toBe("TOPIC_INVALID");
  });
});
