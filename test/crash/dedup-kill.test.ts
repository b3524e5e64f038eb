/**
 * The dedup window across kill -9: a broker process (sync flush, dedup on) is killed after
 * answering sends; started again on the same data dir it rebuilds the window from the CommitLog,
 * so the same sends (by dedupKey, from a new producer with new msgIds) are answered with their
 * originals and nothing is stored twice.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { Admin, Producer } from "../../src/client/index.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { removeTempDirs } from "../helpers/temp-dir.ts";
import { untilServing } from "../helpers/wait-for.ts";

afterAll(removeTempDirs);

const topic = "Payments";
const sends = 50;

async function sendAll(broker: BrokerProcess) {
  const producer = new Producer({ broker: broker.address });
  try {
    await untilServing("the broker", () => producer.start());
    const results = [];
    for (let index = 0; index < sends; index++) results.push(await producer.send({ topic, body: `payment ${index}`, dedupKey: `payment-${index}` }));
    return results;
  } finally {
    await producer.shutdown();
  }
}

async function storedCount(broker: BrokerProcess): Promise<number> {
  const admin = new Admin({ broker: broker.address });
  try {
    let count = 0;
    const queues = (await admin.getTopic(topic)).queues;
    for (const queue of queues) count += Number(queue.maxOffset) - Number(queue.minOffset);
    return count;
  } finally {
    await admin.close();
  }
}

describe("the dedup window across kill -9", () => {
  test("sends repeated after a crash and restart are answered with their originals, stored once", async () => {
    const options = { args: ["--flush", "sync"], env: { MQ_DEDUP: "true" } };
    const first = await spawnBrokerProcess(options);
    const originals = await sendAll(first);
    expect(originals.every((result) => result.duplicate === undefined)).toBe(true);
    expect(await first.kill()).not.toBe(0);

    const second = await spawnBrokerProcess({ ...options, dataDir: first.dataDir, port: first.port });
    const repeats = await sendAll(second);
    expect(repeats.map((result) => result.duplicate)).toEqual(originals.map(() => true));
    expect(repeats.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset])).toEqual(originals.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset]));
    expect(await storedCount(second)).toBe(sends);
  }, 60_000);
});
