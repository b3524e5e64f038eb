/**
 * The dedup window across kill -9, as a broker runs by default (the window on, no setting): a
 * broker process (sync flush) is killed after answering sends; started again on the same data
 * dir it serves at once while it rebuilds the window from the CommitLog, and the same sends —
 * by dedupKey from a new producer with new msgIds, and by msgId as an SDK retry after a lost
 * answer repeats it — are answered with their originals, and nothing is stored twice.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { Admin, Producer } from "../../src/client/index.ts";
import { MsgIdGenerator } from "../../src/common/ids.ts";
import { connect } from "../../src/net/connection.ts";
import { RequestCode } from "../../src/protocol/request-codes.ts";
import { readResult } from "../../src/protocol/response-body.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { removeTempDirs } from "../helpers/temp-dir.ts";
import { untilServing } from "../helpers/wait-for.ts";

afterAll(removeTempDirs);

const topic = "Payments";
const sends = 50;
const ids = new MsgIdGenerator({ ip: "127.0.0.1", pid: process.pid, instanceHash: 0x5eed });
/** 64 KiB each: 10 MiB, more log than one step of the rebuild's scan (8 MiB). */
const msgIds = Array.from({ length: 160 }, () => ids.next());

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

/** SEND_MESSAGE with the given msgIds, as the SDK sends (and retries) them. */
async function sendByMsgId(broker: BrokerProcess, body: Uint8Array) {
  const connection = await untilServing("the broker", () => connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 20_000 }));
  try {
    const results = [];
    for (const [index, msgId] of msgIds.entries()) {
      const frame = await connection.request({ code: RequestCode.SEND_MESSAGE, fields: { producerGroup: "pg", topic, queueId: index % 4, msgId, bornTimestampMs: Date.now() }, body });
      results.push(readResult(frame));
    }
    return results;
  } finally {
    connection.destroy();
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
    const options = { args: ["--flush", "sync"] };
    const first = await spawnBrokerProcess(options);
    const originals = await sendAll(first);
    expect(originals.every((result) => result.duplicate === undefined)).toBe(true);
    const byMsgId = await sendByMsgId(first, new Uint8Array(64 * 1024).fill(0x61));
    expect(byMsgId.every((result) => result.duplicate === undefined)).toBe(true);
    expect(await first.kill()).not.toBe(0);

    const second = await spawnBrokerProcess({ ...options, dataDir: first.dataDir, port: first.port });
    // The retries first, at once: the window may still be rebuilding, and they must be found all the same.
    const retried = await sendByMsgId(second, new TextEncoder().encode("retried"));
    expect(retried.map((result) => result.duplicate)).toEqual(byMsgId.map(() => true));
    expect(retried.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset])).toEqual(byMsgId.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset]));
    const repeats = await sendAll(second);
    expect(repeats.map((result) => result.duplicate)).toEqual(originals.map(() => true));
    expect(repeats.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset])).toEqual(originals.map((result) => [result.msgId, result.offsetMsgId, result.queueId, result.queueOffset]));
    expect(await storedCount(second)).toBe(sends + msgIds.length);
  }, 60_000);
});
