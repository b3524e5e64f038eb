/** Allocation strategies: every queue owned by exactly one member, the same answer on every member. */

import { describe, expect, test } from "bun:test";
import { allocateAverage } from "../../../src/client/allocate-average.ts";
import { allocateConsistentHash } from "../../../src/client/allocate-consistent-hash.ts";
import { allocateRoundRobin } from "../../../src/client/allocate-round-robin.ts";
import { type AllocationName, allocationStrategies } from "../../../src/client/allocation.ts";
import { type MessageQueue, queueKey } from "../../../src/client/message-queue.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

function queues(count: number, topic = "t", brokerName = "b"): MessageQueue[] {
  return Array.from({ length: count }, (_, queueId) => ({ topic, brokerName, queueId }));
}

function members(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `10.0.0.${index}@${1000 + index}@c${index}`);
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

const names = Object.keys(allocationStrategies) as AllocationName[];

describe("allocation: every strategy", () => {
  for (const name of names) {
    const strategy = allocationStrategies[name];

    test(`${name} › every queue is owned by exactly one member, for 0..12 queues and 1..6 members`, () => {
      for (let queueCount = 0; queueCount <= 12; queueCount++) {
        for (let memberCount = 1; memberCount <= 6; memberCount++) {
          const all = queues(queueCount);
          const ids = members(memberCount);
          const owners = new Map<string, string[]>();
          for (const id of ids) for (const queue of strategy(all, ids, id)) owners.set(queueKey(queue), [...(owners.get(queueKey(queue)) ?? []), id]);
          expect(owners.size).toBe(queueCount);
          for (const [key, owning] of owners) expect({ key, owning: owning.length }).toEqual({ key, owning: 1 });
        }
      }
    });

    test(`${name} › members compute the same answer whatever order they see queues and members in`, () => {
      const random = seededRandom();
      const all = [...queues(5, "a"), ...queues(7, "b"), ...queues(3, "a", "c")];
      const ids = members(4);
      for (const id of ids) {
        const expected = strategy(all, ids, id).map(queueKey);
        for (let round = 0; round < 20; round++) {
          expect(strategy(shuffled(all, random.next), shuffled(ids, random.next), id).map(queueKey)).toEqual(expected);
        }
      }
    });

    test(`${name} › a member not in the list gets nothing`, () => {
      expect(strategy(queues(8), members(3), "stranger")).toEqual([]);
    });
  }
});

describe("allocation: average", () => {
  test("splits 8 queues over 3 members as contiguous ranges 3, 3, 2", () => {
    const ids = members(3);
    expect(ids.map((id) => allocateAverage(queues(8), ids, id).map((queue) => queue.queueId))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
  });

  test("gives members beyond the queue count nothing", () => {
    const ids = members(5);
    expect(ids.map((id) => allocateAverage(queues(3), ids, id).length)).toEqual([1, 1, 1, 0, 0]);
  });
});

describe("allocation: round-robin", () => {
  test("deals 8 queues over 3 members like cards", () => {
    const ids = members(3);
    expect(ids.map((id) => allocateRoundRobin(queues(8), ids, id).map((queue) => queue.queueId))).toEqual([[0, 3, 6], [1, 4, 7], [2, 5]]);
  });
});

describe("allocation: consistent-hash", () => {
  test("moves only the leaving member's queues when a member leaves", () => {
    const all = queues(64);
    const before = members(4);
    const after = before.slice(0, 3);
    const ownerBefore = new Map<string, string>();
    for (const id of before) for (const queue of allocateConsistentHash(all, before, id)) ownerBefore.set(queueKey(queue), id);
    for (const id of after) {
      for (const queue of allocateConsistentHash(all, after, id)) {
        const previous = ownerBefore.get(queueKey(queue));
        if (previous !== before[3]) expect({ queue: queueKey(queue), owner: id }).toEqual({ queue: queueKey(queue), owner: previous! });
      }
    }
  });

  test("spreads 64 queues over 4 members with no member left empty", () => {
    const ids = members(4);
    for (const id of ids) expect(allocateConsistentHash(queues(64), ids, id).length).toBeGreaterThan(0);
  });
});
