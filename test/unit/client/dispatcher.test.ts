/** ProcessQueue and the two dispatchers: commit offsets, bounds, per-queue order, release. */

import { describe, expect, test } from "bun:test";
import { ConcurrentDispatcher, type HandlerSlots, OrderlyDispatcher } from "../../../src/client/dispatcher.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { ProcessQueue } from "../../../src/client/process-queue.ts";
import { queueOffset as toQueueOffset } from "../../../src/common/offsets.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

function message(queueId: number, queueOffset: number): ReceivedMessage {
  const body = new Uint8Array(0);
  return { topic: "t", queueId, queueOffset: toQueueOffset(queueOffset), msgId: "", offsetMsgId: "", body, tags: undefined, keys: [], properties: {}, bornTimestampMs: 0, storeTimestampMs: 0, reconsumeTimes: 0, originTopic: "t", originMsgId: "", bornHost: "", storeHost: "", storeSize: 0, text: () => "" };
}

function processQueue(queueId: number, from = 0, capacity = 100): ProcessQueue {
  return new ProcessQueue({ topic: "t", brokerName: "b", queueId }, toQueueOffset(from), capacity);
}

/** A handler whose calls the test completes by hand. */
function manualHandler() {
  const calls: Array<{ message: ReceivedMessage; finish: (ok: boolean) => void }> = [];
  const run = (m: ReceivedMessage) => new Promise<boolean>((resolve) => calls.push({ message: m, finish: resolve }));
  return { calls, run };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("ProcessQueue", () => {
  test("commits the oldest unfinished offset, then the next pull offset once all are done", () => {
    const pq = processQueue(0, 10);
    pq.add([message(0, 10), message(0, 11), message(0, 12)]);
    pq.nextOffset = toQueueOffset(13);
    expect(pq.commitOffset()).toBe(toQueueOffset(10));
    pq.finish(toQueueOffset(11));
    expect(pq.commitOffset()).toBe(toQueueOffset(10));
    pq.finish(toQueueOffset(10));
    expect(pq.commitOffset()).toBe(toQueueOffset(12));
    pq.finish(toQueueOffset(12));
    expect(pq.commitOffset()).toBe(toQueueOffset(13));
  });

  test("waitForRoom holds the pull at capacity until the queue drains below half", async () => {
    const pq = processQueue(0, 0, 4);
    pq.add([0, 1, 2, 3].map((offset) => message(0, offset)));
    let room = false;
    const waiting = pq.waitForRoom().then(() => (room = true));
    await settle();
    expect(room).toBe(false);
    pq.finish(toQueueOffset(0));
    pq.finish(toQueueOffset(1));
    await settle();
    expect(room).toBe(false);
    pq.finish(toQueueOffset(2));
    await waiting;
    expect(room).toBe(true);
  });
});

describe("ConcurrentDispatcher", () => {
  test("runs at most `concurrency` handlers at once and finishes messages out of order", async () => {
    const { calls, run } = manualHandler();
    const dispatcher = new ConcurrentDispatcher(2, run);
    const pq = processQueue(0);
    const messages = [0, 1, 2, 3].map((offset) => message(0, offset));
    pq.add(messages);
    dispatcher.submit(pq, messages);
    expect(calls.length).toBe(2);
    calls[1]!.finish(true);
    await settle();
    expect(calls.length).toBe(3);
    expect(pq.commitOffset()).toBe(toQueueOffset(0));
    calls[0]!.finish(true);
    await settle();
    expect(pq.commitOffset()).toBe(toQueueOffset(2));
    expect(dispatcher.running).toBe(2);
  });

  test("starts nothing more on a released queue and keeps abandoned messages unfinished", async () => {
    const { calls, run } = manualHandler();
    const dispatcher = new ConcurrentDispatcher(1, run);
    const pq = processQueue(0);
    const messages = [0, 1, 2].map((offset) => message(0, offset));
    pq.add(messages);
    dispatcher.submit(pq, messages);
    pq.release();
    let idle = false;
    const whenIdle = pq.whenIdle().then(() => (idle = true));
    await settle();
    expect(idle).toBe(false);
    calls[0]!.finish(true);
    await whenIdle;
    expect(calls.length).toBe(1);
    expect(pq.commitOffset()).toBe(toQueueOffset(1));
  });
});

describe("ConcurrentDispatcher: a failed message's slot", () => {
  test("is given back while its send-back is in flight: the next message runs, the failed one stays unfinished, and running it again waits for a slot", async () => {
    const events: string[] = [];
    let answerSendBack: (again: boolean) => void = () => {};
    let finishSecond: () => void = () => {};
    const run = async (m: ReceivedMessage, slots?: HandlerSlots): Promise<boolean> => {
      const offset = Number(m.queueOffset);
      events.push(`start ${offset}`);
      if (offset === 0) {
        slots!.release(); // the handler failed: its send-back goes on without the slot
        const again = await new Promise<boolean>((resolve) => (answerSendBack = resolve));
        if (again) {
          await slots!.acquire();
          events.push("0 runs again");
        } else slots!.reclaim();
        return true;
      }
      if (offset === 1) await new Promise<void>((resolve) => (finishSecond = resolve));
      events.push(`end ${offset}`);
      return true;
    };
    const dispatcher = new ConcurrentDispatcher(1, run);
    const pq = processQueue(0);
    const messages = [0, 1, 2].map((offset) => message(0, offset));
    pq.add(messages);
    pq.nextOffset = toQueueOffset(3);
    dispatcher.submit(pq, messages);
    await settle();
    expect(events).toEqual(["start 0", "start 1"]);
    expect(pq.commitOffset()).toBe(toQueueOffset(0));
    let idle = false;
    void pq.whenIdle().then(() => (idle = true));
    answerSendBack(true); // the send-back failed for good: the handler must run again, after 1
    await settle();
    expect(events).toEqual(["start 0", "start 1"]);
    finishSecond();
    await settle();
    expect(events).toEqual(["start 0", "start 1", "end 1", "0 runs again", "start 2", "end 2"]);
    expect(pq.commitOffset()).toBe(toQueueOffset(3));
    expect(idle).toBe(true);
    expect(dispatcher.running).toBe(0);
  });

  test("a pull whose every message fails at once is dispatched without recursion", async () => {
    let started = 0;
    const dispatcher = new ConcurrentDispatcher(1, async (_m, slots) => {
      started++;
      slots!.release();
      await settle();
      slots!.reclaim();
      return true;
    });
    const pq = processQueue(0, 0, 100_000);
    const messages = Array.from({ length: 50_000 }, (_, offset) => message(0, offset));
    pq.add(messages);
    dispatcher.submit(pq, messages);
    expect(started).toBe(50_000);
    await waitUntil("every message finished", () => pq.unfinished.size === 0);
  });
});

describe("OrderlyDispatcher", () => {
  test("runs one message per queue at a time, in offset order, queues side by side", async () => {
    const { calls, run } = manualHandler();
    const dispatcher = new OrderlyDispatcher(4, run);
    const a = processQueue(0);
    const b = processQueue(1);
    const forA = [0, 1, 2].map((offset) => message(0, offset));
    const forB = [0, 1].map((offset) => message(1, offset));
    a.add(forA);
    dispatcher.submit(a, forA);
    b.add(forB);
    dispatcher.submit(b, forB);
    await settle();
    expect(calls.map((call) => [call.message.queueId, call.message.queueOffset])).toEqual([[0, 0], [1, 0]]);
    for (let step = 0; step < 3; step++) {
      for (const call of calls.slice()) call.finish(true);
      calls.length = 0;
      await settle();
    }
    expect(a.unfinished.size).toBe(0);
    expect(b.unfinished.size).toBe(0);
  });

  const random = seededRandom();
  test(`records per-queue order under random handler delays (seed ${random.seed})`, async () => {
    const seen = new Map<number, number[]>();
    const dispatcher = new OrderlyDispatcher(3, async (m) => {
      await new Promise((resolve) => setTimeout(resolve, random.int(3)));
      seen.set(m.queueId, [...(seen.get(m.queueId) ?? []), m.queueOffset]);
      return true;
    });
    const queues = [0, 1, 2, 3].map((queueId) => processQueue(queueId));
    for (let offset = 0; offset < 20; offset += 5) {
      for (const pq of queues) {
        const batch = [0, 1, 2, 3, 4].map((index) => message(pq.queue.queueId, offset + index));
        pq.add(batch);
        dispatcher.submit(pq, batch);
      }
    }
    await waitUntil("every queue's messages to finish", () => queues.every((pq) => pq.unfinished.size === 0));
    for (const pq of queues) expect(seen.get(pq.queue.queueId)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });
});
