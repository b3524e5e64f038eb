/**
 * Pop redelivery survives kill -9 (a real `mq start` process, SIGKILL, restart on the same data
 * dir and port): messages popped and not acked stay invisible until their invisible time ends,
 * then come back as attempt 2, and their receipt handles still ack them; a message acked before
 * the kill never comes back. Before the scheduler, a restart handed every un-acked message out
 * again at once, attempt 1, and the old handles were unknown.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { Admin, Producer, SimpleConsumer, type SimpleMessage } from "../../src/client/index.ts";
import { isMqError } from "../../src/common/errors.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { untilServing } from "../helpers/wait-for.ts";

const invisibleMs = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const clients: Array<{ shutdown(): Promise<void> }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.shutdown().catch(() => undefined);
});

async function consumer(broker: BrokerProcess): Promise<SimpleConsumer> {
  const simple = new SimpleConsumer({ broker: broker.address, group: "billing", topics: "Invoices", invisibleMs });
  clients.push(simple);
  await simple.start();
  return simple;
}


const text = (message: SimpleMessage) => decoder.decode(message.body);

async function sendTo(broker: BrokerProcess, bodies: readonly string[]): Promise<void> {
  const admin = new Admin({ broker: broker.address });
  const producer = new Producer({ broker: broker.address });
  try {
    await admin.createTopic("Invoices", { queues: 2 });
    await producer.start();
    for (const body of bodies) await producer.send({ topic: "Invoices", body: encoder.encode(body) });
  } finally {
    await producer.shutdown();
    await admin.close();
  }
}

describe("pop redelivery across kill -9", () => {
  test("an un-acked message comes back after its invisible time, not before, with attempt 2; an acked one never", async () => {
    const first = await spawnBrokerProcess();
    await sendTo(first, ["a", "b", "c"]);
    const before = await consumer(first);
    const popped = await before.receive(3, { waitMs: 5_000 });
    expect(popped.map(text).sort()).toEqual(["a", "b", "c"]);
    const acked = popped.find((message) => text(message) === "a")!;
    await before.ack(acked);
    const pending = popped.filter((message) => message !== acked);
    const deadlineMs = Math.max(...pending.map((message) => message.invisibleUntilMs));

    await first.kill();
    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    const after = await consumer(second);
    // Still inside the invisible time: nothing to hand out (a state check, not a wait). The
    // check needs the restart to take less than the invisible time, which it does by far; on a
    // machine so loaded that it did not, the rest of the test still holds.
    // The time is taken at the attempt that is answered (earlier ones found the broker not yet
    // serving), with a margin for the broker to get to the request.
    let askedAtMs = Date.now();
    const early = await untilServing("receive after restart", () => {
      askedAtMs = Date.now();
      return after.receive(3, { waitMs: 0 });
    });
    if (askedAtMs < deadlineMs - 3_000) expect(early.map(text)).toEqual([]);
    else console.warn(`Restart took until ${deadlineMs - askedAtMs} ms before the deadline: the early check was skipped`);

    const back: SimpleMessage[] = [];
    for (let round = 0; round < 10 && back.length < 2; round++) back.push(...(await after.receive(3, { waitMs: 5_000 })));
    expect(back.map(text).sort()).toEqual(["b", "c"]);
    for (const message of back) {
      expect(message.deliveryAttempt).toBe(2);
      expect(Date.now()).toBeGreaterThanOrEqual(pending.find((old) => text(old) === text(message))!.invisibleUntilMs);
    }
    // The handles from before the kill were replaced by the re-delivery; the new ones ack.
    const stale = await after.ack(pending[0]!.receiptHandle).catch((error: unknown) => error);
    expect(isMqError(stale, "RECEIPT_HANDLE_INVALID")).toBe(true);
    for (const message of back) await after.ack(message);
    expect((await after.receive(3, { waitMs: 0 })).map(text)).toEqual([]);
  }, 60_000);

  test("a receipt handle from before the kill still acks its message after the restart", async () => {
    const first = await spawnBrokerProcess();
    await sendTo(first, ["kept"]);
    const before = await consumer(first);
    const [message] = await before.receive(1, { waitMs: 5_000 });
    expect(message === undefined ? undefined : text(message)).toBe("kept");
    await first.kill();
    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    const after = await consumer(second);
    await untilServing("ack after restart", () => after.ack(message!.receiptHandle));
    // Acked: nothing of the group is in flight any more, so nothing is scheduled to come back.
    const admin = new Admin({ broker: second.address });
    clients.push({ shutdown: () => admin.close() });
    expect((await admin.getGroup("billing")).inFlight).toBe(0);
  }, 60_000);
});
