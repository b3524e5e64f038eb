/**
 * Deterministic simulations (STYLE.md §14): the broker's pop consumption (with long polling and
 * the scheduler's redelivery) and its queue locks, run in-process on a ManualClock with seeded
 * random steps, and the invariants checked after every step:
 *   pop   - a message is never held by two consumers at once (a delivery only after the
 *           previous holder's invisible time ended or it was nacked); an acked message is never
 *           delivered again and none is lost (at the end every message sent is acked);
 *           committed offsets never move backwards;
 *   locks - no queue is granted to a client while another still holds a live lock on it.
 * A failure prints the seed; replay with SEED=<seed>.
 */

import { describe, expect, test } from "bun:test";
import { PopService, type PoppedMessage } from "../../src/broker/pop-service.ts";
import { QueueLockManager } from "../../src/broker/queue-lock-manager.ts";
import { Admin, Producer } from "../../src/client/index.ts";
import { assert } from "../../src/common/assert.ts";
import { ManualClock } from "../../src/common/clock.ts";
import { startTestBroker } from "../helpers/broker.ts";
import { type SeededRandom, withSeed, withSeedAsync } from "../helpers/seeded-random.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const topic = "Sim";
const group = "sim-group";
const queues = 3;

interface Holding {
  readonly consumer: number;
  readonly handle: string;
  readonly untilMs: number;
}

/** The model of what each consumer holds, checked against what the broker hands out. */
class PopModel {
  readonly holdings = new Map<string, Holding>();
  readonly acked = new Set<string>();
  readonly sent = new Set<string>();
  private readonly committed = new Map<number, number>();

  delivered(consumer: number, items: readonly PoppedMessage[], nowMs: number): void {
    for (const item of items) {
      const body = decoder.decode(item.message.body);
      assert(this.sent.has(body), `delivered "${body}", which was never sent`);
      assert(!this.acked.has(body), `delivered "${body}" again after it was acked`);
      const previous = this.holdings.get(body);
      assert(previous === undefined || previous.untilMs <= nowMs, `delivered "${body}" to consumer ${consumer} while consumer ${previous?.consumer} holds it until ${previous?.untilMs} (now ${nowMs})`);
      this.holdings.set(body, { consumer, handle: item.receiptHandle, untilMs: item.invisibleUntilMs });
    }
  }

  checkOffsets(read: (queueId: number) => number): void {
    for (let queueId = 0; queueId < queues; queueId++) {
      const offset = read(queueId);
      const before = this.committed.get(queueId) ?? -1;
      assert(offset >= before, `queue ${queueId}: committed offset moved back from ${before} to ${offset}`);
      this.committed.set(queueId, offset);
    }
  }
}

async function simulatePop(random: SeededRandom): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const broker = await startTestBroker({ clock });
  const admin = new Admin({ broker: broker.address });
  const producer = new Producer({ broker: broker.address });
  const model = new PopModel();
  const pop = PopService.of(broker.broker.context);
  const offsets = broker.broker.context.offsets;
  const held = new Set<Promise<void>>();
  let sentCount = 0;
  const send = async (count: number) => {
    for (let index = 0; index < count; index++) {
      const body = `m${sentCount++}`;
      model.sent.add(body);
      await producer.send({ topic, body: encoder.encode(body) });
    }
  };
  try {
    await admin.createTopic(topic, { queues });
    await producer.start();
    await send(10);
    const consumers = 4;
    for (let step = 0; step < 400; step++) {
      const consumer = random.int(consumers);
      const action = random.int(10);
      if (action < 3) {
        model.delivered(consumer, pop.tryReceive({ group, topic, maxMessages: 1 + random.int(4), invisibleMs: 1_000 + random.int(5_000) }), clock.nowMs());
      } else if (action < 4 && pop.waiting < 3) {
        // A long poll: answered by a later send, an expiry, or its own timeout.
        const receiving = pop.receive({ group, topic, maxMessages: 2, invisibleMs: 2_000, waitMs: 3_000 }).then((items) => model.delivered(consumer, items, clock.nowMs()));
        held.add(receiving);
        void receiving.finally(() => held.delete(receiving));
      } else if (action < 6) {
        const mine = [...model.holdings].filter(([, holding]) => holding.consumer === consumer && holding.untilMs > clock.nowMs());
        const chosen = mine[random.int(mine.length)];
        if (chosen !== undefined) {
          pop.ack(group, topic, chosen[1].handle);
          model.acked.add(chosen[0]);
          model.holdings.delete(chosen[0]);
        }
      } else if (action < 7) {
        const mine = [...model.holdings].filter(([, holding]) => holding.consumer === consumer && holding.untilMs > clock.nowMs());
        const chosen = mine[random.int(mine.length)];
        if (chosen !== undefined) {
          const moved = pop.changeInvisibleTime(group, topic, chosen[1].handle, random.int(2) === 0 ? 0 : random.int(3_000));
          model.holdings.set(chosen[0], moved.invisibleUntilMs <= clock.nowMs() ? { ...chosen[1], untilMs: clock.nowMs() } : { consumer, handle: moved.receiptHandle, untilMs: moved.invisibleUntilMs });
        }
      } else if (action < 8) {
        await send(1 + random.int(3));
      } else {
        clock.advance(1 + random.int(1_500));
      }
      await Bun.sleep(0); // let answered long polls and wake-ups run
      model.checkOffsets((queueId) => offsets.query(group, topic, queueId));
    }
    // Drain: every message sent is delivered and acked in the end; none is lost.
    for (let round = 0; round < 200 && model.acked.size < model.sent.size; round++) {
      clock.advance(3_000);
      await Bun.sleep(0);
      const items = pop.tryReceive({ group, topic, maxMessages: 16, invisibleMs: 60_000 });
      model.delivered(0, items, clock.nowMs());
      for (const item of items) {
        pop.ack(group, topic, item.receiptHandle);
        model.acked.add(decoder.decode(item.message.body));
      }
      model.checkOffsets((queueId) => offsets.query(group, topic, queueId));
    }
    expect([...model.acked].sort()).toEqual([...model.sent].sort());
    expect(pop.inFlight(group)).toBe(0);
  } finally {
    clock.advance(10_000); // answers any long poll still held
    await Promise.all(held);
    await producer.shutdown();
    await admin.close();
  }
}

function simulateLocks(random: SeededRandom): void {
  const clock = new ManualClock();
  const expiryMs = 60_000;
  const locks = new QueueLockManager({ clock, expiryMs });
  locks.start();
  /** client → queue → when the broker last granted it (the client's own view of what it holds). */
  const granted = new Map<string, Map<number, number>>();
  const clients = ["c0", "c1", "c2", "c3"];
  try {
    for (let step = 0; step < 2_000; step++) {
      const client = clients[random.int(clients.length)]!;
      const mine = granted.get(client) ?? new Map<number, number>();
      granted.set(client, mine);
      const action = random.int(10);
      const now = clock.monotonicMs();
      if (action < 5) {
        const wanted = Array.from({ length: 1 + random.int(3) }, () => ({ topic, queueId: random.int(6) }));
        for (const queue of locks.lock(group, client, wanted)) {
          for (const [other, theirs] of granted) {
            const since = theirs.get(queue.queueId);
            assert(other === client || since === undefined || now - since >= expiryMs, `queue ${queue.queueId} granted to ${client} while ${other} holds it since ${since} (now ${now})`);
          }
          mine.set(queue.queueId, now);
        }
      } else if (action < 6) {
        const queueId = random.int(6);
        locks.unlock(group, client, [{ topic, queueId }]);
        mine.delete(queueId);
      } else if (action < 7) {
        locks.releaseClient(group, client); // left the group
        mine.clear();
      } else {
        clock.advance(random.int(30_000));
      }
      for (let queueId = 0; queueId < 6; queueId++) {
        const holder = locks.holder(group, { topic, queueId });
        const live = [...granted].filter(([, theirs]) => {
          const since = theirs.get(queueId);
          return since !== undefined && clock.monotonicMs() - since < expiryMs;
        });
        assert(live.length <= 1, `queue ${queueId} is held by ${live.map(([name]) => name).join(" and ")} at once`);
        assert(holder === undefined || live.length === 0 || live[0]![0] === holder, `queue ${queueId}: the broker says ${holder} holds it, the client view says ${live[0]?.[0]}`);
      }
    }
  } finally {
    locks.stop();
  }
}

describe("simulation: pop consumption on a ManualClock", () => {
  test("four consumers receiving, long-polling, acking and nacking at random: no double holder, no lost or repeated ack, monotonic offsets", async () => {
    await withSeedAsync(simulatePop);
  }, 60_000);
});

describe("simulation: queue locks on a ManualClock", () => {
  test("clients locking, unlocking, leaving and going silent at random: never two live holders of one queue", () => {
    withSeed(simulateLocks);
  });
});
