/**
 * Scheduled delivery across kill -9, with real `mq start` processes: 10,000 timers due over the
 * next ~15 s, the broker SIGKILLed while it is delivering them, left down until some of the rest
 * are due, then restarted on the same data dir and port. Every timer arrives in its real topic
 * exactly once (one record per msgId), none before its time (store time ≥ TIMER_OUT_MS, and
 * TIMER_OUT_MS is the time the send was answered with), and those due while it was down are
 * delivered at start.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { Admin, Producer } from "../../src/client/index.ts";
import type { BatchMessage } from "../../src/client/message.ts";
import { spawnBrokerProcess } from "../helpers/broker.ts";
import { untilValue } from "../helpers/wait-for.ts";

const topic = "Reminders";
const queues = 4;
const timers = 10_000;
const batch = 500;
const clients: Array<{ shutdown(): Promise<void> } | { close(): Promise<void> }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await ("shutdown" in client ? client.shutdown() : client.close()).catch(() => undefined);
});

async function deliveredCount(admin: Admin): Promise<number> {
  let total = 0;
  for (const queue of await admin.topicOffsets(topic)) total += queue.maxOffset;
  return total;
}

/** Every record of the topic: msgId → store times and TIMER_OUT_MS of each copy. */
async function readAll(admin: Admin): Promise<Map<string, { storeMs: number; outMs: number }[]>> {
  const copies = new Map<string, { storeMs: number; outMs: number }[]>();
  for (let queueId = 0; queueId < queues; queueId++) {
    let offset = 0;
    for (let page = 0; page < timers; page++) {
      const read = await admin.readQueue(topic, queueId, { offset, max: 512 });
      for (const message of read.messages) {
        const list = copies.get(message.msgId) ?? [];
        list.push({ storeMs: message.storeTimestampMs, outMs: Number(message.properties.TIMER_OUT_MS) });
        copies.set(message.msgId, list);
      }
      if (read.nextOffset >= read.maxOffset) break;
      offset = read.nextOffset;
    }
  }
  return copies;
}

describe("scheduled delivery across kill -9", () => {
  test("10,000 timers: the broker killed while delivering and down past some due times delivers each exactly once, none early", async () => {
    const first = await spawnBrokerProcess({ args: ["--flush", "sync"] });
    const admin = new Admin({ broker: first.address });
    clients.push(admin);
    await admin.createTopic(topic, { queues });
    const producer = new Producer({ broker: first.address });
    clients.push(producer);
    await producer.start();
    const dueByMsgId = new Map<string, number>();
    for (let start = 0; start < timers; start += batch) {
      const messages: BatchMessage[] = [];
      for (let index = start; index < start + batch; index++) messages.push({ body: `timer-${index}`, delayMs: 2_000 + Math.floor((index * 13_000) / timers) });
      const results = await producer.sendBatch(topic, messages);
      for (const result of results) {
        expect(result.scheduled).toBe(true);
        dueByMsgId.set(result.msgId, result.deliverAtMs!);
      }
    }
    expect(dueByMsgId.size).toBe(timers);
    await untilValue("1,000 timers delivered before the kill", 30_000, async () => ((await deliveredCount(admin)) >= 1_000 ? true : undefined));
    await first.kill();
    await producer.shutdown();
    await admin.close();
    // Down past some due times: those are delivered at start, the rest when due.
    const dues = [...dueByMsgId.values()].sort((a, b) => a - b);
    const downUntilMs = dues[Math.floor(dues.length * 0.6)]!;
    while (Date.now() < downUntilMs) await Bun.sleep(Math.min(200, downUntilMs - Date.now() + 1));

    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port, args: ["--flush", "sync"] });
    const after = new Admin({ broker: second.address });
    clients.push(after);
    await untilValue("all 10,000 timers delivered after the restart", 60_000, async () => ((await deliveredCount(after)) >= timers ? true : undefined));
    const copies = await readAll(after);
    expect(copies.size).toBe(timers);
    let duplicates = 0;
    let early = 0;
    for (const [msgId, list] of copies) {
      if (list.length !== 1) duplicates += 1;
      const dueMs = dueByMsgId.get(msgId);
      expect(dueMs).toBeDefined();
      for (const copy of list) {
        expect(copy.outMs).toBe(dueMs!);
        if (copy.storeMs < dueMs!) early += 1;
      }
    }
    expect({ duplicates, early }).toEqual({ duplicates: 0, early: 0 });
    expect(await deliveredCount(after)).toBe(timers);
    expect(second.stderr()).not.toMatch(/\bERROR\b/);
  }, 120_000);
});
