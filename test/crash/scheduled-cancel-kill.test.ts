/**
 * A cancel of a scheduled message is durable (a real `mq start` process, SIGKILL right after the
 * cancels are answered, restart on the same data dir and port): every message that was not
 * cancelled arrives once after the restart, no cancelled one ever does, and asked again the
 * broker still says cancelled for those and already-delivered for the others.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { Admin, Producer, type ReceivedMessage } from "../../src/client/index.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { untilServing, waitUntil } from "../helpers/wait-for.ts";

const topic = "Reminders";
const delayMs = 4_000;
const clients: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
});

function adminOf(broker: BrokerProcess): Admin {
  const admin = new Admin({ broker: broker.address });
  clients.push(admin);
  return admin;
}


async function readTopic(admin: Admin): Promise<ReceivedMessage[]> {
  const messages: ReceivedMessage[] = [];
  for (const queueId of [0, 1]) messages.push(...(await admin.readQueue(topic, queueId, { offset: 0, max: 64 })).messages);
  return messages;
}

describe("scheduled messages: cancel across kill -9", () => {
  test("a cancelled message is never delivered after a crash; the others arrive once", async () => {
    const first = await spawnBrokerProcess();
    const admin = adminOf(first);
    await admin.createTopic(topic, { queues: 2 });
    const producer = new Producer({ broker: first.address });
    await producer.start();
    const sent: string[] = [];
    const cancelled: string[] = [];
    try {
      // Each even message is cancelled right after its send is answered: a cancel comes a moment,
      // not a whole batch of sends, after its message, however slowly the machine runs.
      for (let index = 0; index < 20; index++) {
        const msgId = (await producer.send({ topic, body: `r${index}`, delayMs })).msgId;
        sent.push(msgId);
        if (index % 2 === 0) {
          expect({ msgId, outcome: await admin.cancelScheduled(msgId) }).toEqual({ msgId, outcome: "cancelled" });
          cancelled.push(msgId);
        }
      }
    } finally {
      await producer.shutdown();
    }
    expect((await admin.listScheduled({ topic })).total).toBe(10);
    await first.kill();

    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    const after = adminOf(second);
    // Nothing pending any more is the event that ends the wait: then every delivery has happened.
    await waitUntil("every message not cancelled to be delivered", async () => (await untilServing("list after restart", () => after.listScheduled({ topic }))).total === 0, undefined, 100);
    expect((await after.listScheduled({ topic })).total).toBe(0);
    const delivered = (await readTopic(after)).map((message) => message.msgId).sort();
    expect(delivered).toEqual(sent.filter((msgId) => !cancelled.includes(msgId)).sort());
    expect(await after.cancelScheduled(cancelled[0]!)).toBe("cancelled");
    expect(await after.cancelScheduled(sent[1]!)).toBe("already-delivered");
  }, 60_000);
});
