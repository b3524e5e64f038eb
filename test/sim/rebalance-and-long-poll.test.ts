/**
 * Deterministic simulations (STYLE.md §14), continued: consumer-group re-balance with orderly
 * queue locks, and held pulls (long polling), in-process on a ManualClock with seeded random
 * steps and the invariants checked after every step. A failure prints the seed; replay with
 * SEED=<seed>.
 *
 * Re-balance: members join (heartbeat), leave (unregister), pause (stop heartbeating and
 * renewing for a while, still believing what they hold) or die; each re-balances at its own
 * moments from the member list the broker gives it then (views lag, as in a real group), with
 * the average strategy, locks what it is assigned and unlocks what it is not. A member works a
 * queue only while its lock is locally valid (granted within lockLocalExpiryMs, 30 s, half the
 * broker's 60 s). Invariants: no queue is worked by two members at once; once the group is
 * quiet for a while, every queue is worked by exactly one live member.
 *
 * Long polling: pulls held with random timeouts, messages stored at random queues, the clock
 * advanced at random. Invariants: every held pull is answered exactly once; it is never answered
 * after its timeout; a pull answered before its timeout found a message stored for its queue.
 */

import { describe, expect, test } from "bun:test";
import { ConsumerManager } from "../../src/broker/consumer-manager.ts";
import { LongPollService } from "../../src/broker/long-poll-service.ts";
import { QueueLockManager } from "../../src/broker/queue-lock-manager.ts";
import { allocateAverage } from "../../src/client/allocate-average.ts";
import type { MessageQueue } from "../../src/client/message-queue.ts";
import { lockLocalExpiryMs } from "../../src/client/owned-queues.ts";
import { assert } from "../../src/common/assert.ts";
import { EventBus } from "../../src/common/bus.ts";
import { ManualClock } from "../../src/common/clock.ts";
import { silentLogger } from "../../src/common/logger.ts";
import type { Channel } from "../../src/net/channel.ts";
import type { StoreEvents } from "../../src/store/store-options.ts";
import { type SeededRandom, withSeed, withSeedAsync } from "../helpers/seeded-random.ts";

const group = "orderly";
const topic = "Orders";
const queueCount = 8;
const brokerLockExpiryMs = 60_000;
const clientExpiryMs = 120_000;

/** A channel that is never written to for real: notifications go nowhere. */
function fakeChannel(name: string): Channel {
  return { address: name, isClosed: false, oneway: () => undefined } as unknown as Channel;
}

interface Member {
  readonly clientId: string;
  readonly channel: Channel;
  state: "running" | "paused" | "dead";
  /** queueId → when the broker last granted it to this member (its local view). */
  readonly lockedAt: Map<number, number>;
}

function simulateRebalance(random: SeededRandom): void {
  const clock = new ManualClock();
  const locks = new QueueLockManager({ clock, expiryMs: brokerLockExpiryMs });
  const consumers = new ConsumerManager({ clock, expiryMs: clientExpiryMs, logger: silentLogger, onChange: (change) => change.left.forEach((clientId) => locks.releaseClient(change.group, clientId)) });
  locks.start();
  const queues: MessageQueue[] = Array.from({ length: queueCount }, (_, queueId) => ({ topic, brokerName: "broker-a", queueId }));
  const members: Member[] = [];
  let joined = 0;
  const heartbeat = (member: Member) =>
    consumers.heartbeat(member.channel, { clientId: member.clientId, producerGroups: [], consumers: [{ consumerGroup: group, consumeType: "push", messageModel: "clustering", consumeFromWhere: "last", subscriptions: [{ topic, expressionType: "TAG", expression: "*" }] }] });
  const join = () => {
    const member: Member = { clientId: `client-${joined++}`, channel: fakeChannel(`m${joined}`), state: "running", lockedAt: new Map() };
    members.push(member);
    heartbeat(member);
  };
  const rebalance = (member: Member) => {
    const assigned = new Set(allocateAverage(queues, consumers.clientIds(group), member.clientId).map((queue) => queue.queueId));
    const released = [...member.lockedAt.keys()].filter((queueId) => !assigned.has(queueId));
    for (const queueId of released) member.lockedAt.delete(queueId); // stops working it first, then unlocks
    if (released.length > 0) locks.unlock(group, member.clientId, released.map((queueId) => ({ topic, queueId })));
    if (assigned.size === 0) return;
    const now = clock.monotonicMs();
    const granted = new Set(locks.lock(group, member.clientId, [...assigned].map((queueId) => ({ topic, queueId }))).map((queue) => queue.queueId));
    for (const queueId of assigned) {
      if (granted.has(queueId)) member.lockedAt.set(queueId, now);
      else member.lockedAt.delete(queueId);
    }
  };
  const working = (member: Member, queueId: number) => {
    const since = member.lockedAt.get(queueId);
    return member.state !== "dead" && since !== undefined && clock.monotonicMs() - since < lockLocalExpiryMs;
  };
  const check = () => {
    for (let queueId = 0; queueId < queueCount; queueId++) {
      const workers = members.filter((member) => working(member, queueId)).map((member) => member.clientId);
      assert(workers.length <= 1, `queue ${queueId} is worked by ${workers.join(" and ")} at once (t=${clock.monotonicMs()})`);
    }
  };
  try {
    for (let index = 0; index < 3; index++) join();
    for (let step = 0; step < 3_000; step++) {
      const live = members.filter((member) => member.state !== "dead");
      const member = live[random.int(live.length)];
      const action = random.int(20);
      if (action < 2 && live.length < 6) join();
      else if (member !== undefined && action < 3 && live.length > 1) {
        member.state = "dead"; // shut down: stops working, then unregisters
        member.lockedAt.clear();
        consumers.unregister(member.clientId, { consumerGroup: group });
      } else if (member !== undefined && action < 4) {
        member.state = member.state === "paused" ? "running" : "paused"; // a long GC pause or a partition, and back
      } else if (member !== undefined && action < 12 && member.state === "running") {
        heartbeat(member);
        rebalance(member);
      } else {
        clock.advance(random.int(15_000));
      }
      check();
    }
    // Quiet: every running member heartbeats and re-balances every 20 s; the paused ones die.
    for (const member of members) if (member.state === "paused") member.state = "dead";
    // The quiet group still has a member: when the last one alive was paused, a new one joins.
    if (!members.some((member) => member.state === "running")) join();
    for (let round = 0; round < 12; round++) {
      for (const member of members) if (member.state === "running") (heartbeat(member), rebalance(member));
      clock.advance(20_000);
      check();
    }
    for (const member of members) if (member.state === "running") rebalance(member);
    for (let queueId = 0; queueId < queueCount; queueId++) {
      expect(members.filter((member) => working(member, queueId)).length).toBe(1);
    }
  } finally {
    locks.stop();
    consumers.stop();
  }
}

async function simulateLongPoll(random: SeededRandom): Promise<void> {
  const clock = new ManualClock();
  const bus = new EventBus<StoreEvents>();
  const longPoll = new LongPollService<string>({ bus, clock, heldMax: 50, logger: silentLogger });
  const stored = new Map<number, number>(); // queueId → messages stored so far
  const channel = fakeChannel("puller");
  interface Pull {
    readonly queueId: number;
    readonly sinceCount: number;
    readonly deadlineMs: number;
    answers: number;
    answer?: string;
    /** Clock time when the service decided the answer (the promise settles a microtask later). */
    decidedAtMs?: number;
  }
  const pulls: Pull[] = [];
  try {
    for (let step = 0; step < 2_000; step++) {
      const action = random.int(10);
      if (action < 4) {
        const queueId = random.int(4);
        const pull: Pull = { queueId, sinceCount: stored.get(queueId) ?? 0, deadlineMs: clock.nowMs() + 1 + random.int(5_000), answers: 0 };
        pulls.push(pull);
        void longPoll
          .hold({
            topic,
            queueId,
            timeoutMs: pull.deadlineMs - clock.nowMs(),
            channel,
            retry: () => {
              if ((stored.get(queueId) ?? 0) <= pull.sinceCount) return undefined;
              pull.decidedAtMs = clock.nowMs();
              return "found";
            },
            onTimeout: () => {
              pull.decidedAtMs = clock.nowMs();
              return "timeout";
            },
          })
          .then((answer) => {
            pull.answers += 1;
            pull.answer = answer;
            assert(pull.decidedAtMs !== undefined && pull.decidedAtMs <= pull.deadlineMs, `a pull of queue ${queueId} was answered at ${pull.decidedAtMs}, after its deadline ${pull.deadlineMs}`);
            assert(answer === "timeout" || (stored.get(queueId) ?? 0) > pull.sinceCount, `a pull of queue ${queueId} found a message that was never stored`);
          });
      } else if (action < 7) {
        const queueId = random.int(4);
        stored.set(queueId, (stored.get(queueId) ?? 0) + 1);
        bus.emit("message.stored", { topic, queueId } as never);
      } else {
        clock.advance(random.int(2_000));
      }
      await Bun.sleep(0); // wake-ups run in a microtask
      for (const pull of pulls) assert(pull.answers <= 1, `a pull of queue ${pull.queueId} was answered ${pull.answers} times`);
    }
    clock.advance(10_000);
    await Bun.sleep(0);
    expect(pulls.filter((pull) => pull.answers !== 1)).toEqual([]);
    expect(pulls.some((pull) => pull.answer === "found") && pulls.some((pull) => pull.answer === "timeout")).toBe(true);
  } finally {
    longPoll.stop();
  }
}

describe("simulation: consumer-group re-balance with orderly locks", () => {
  test("members joining, leaving, pausing and dying at random never work one queue together, and a quiet group covers every queue", () => {
    withSeed(simulateRebalance);
  });
});

describe("simulation: long polling", () => {
  test("held pulls are answered once, never after their timeout, and only by a message of their queue", async () => {
    await withSeedAsync(simulateLongPoll);
  });
});
