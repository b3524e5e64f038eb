/**
 * Latency fault tolerance: a broker that failed or answered slowly is left out of the producer's
 * round-robin for a back-off that grows with its latency, and selection falls back to any broker
 * when all are left out. Time is a ManualClock.
 */

import { describe, expect, test } from "bun:test";
import { LatencyFaultTolerance } from "../../../src/client/latency-fault-tolerance.ts";
import type { MessageQueue } from "../../../src/client/message-queue.ts";
import { RoundRobinSelector } from "../../../src/client/queue-selector.ts";
import { ManualClock } from "../../../src/common/clock.ts";

const queues: MessageQueue[] = ["a", "b"].flatMap((brokerName) => Array.from({ length: 4 }, (_, queueId) => ({ topic: "t", brokerName, queueId })));

function setup() {
  const clock = new ManualClock();
  const faults = new LatencyFaultTolerance({ clock });
  const selector = new RoundRobinSelector(0);
  const pick = (failed?: MessageQueue) => selector.next(queues, failed, (name) => faults.isAvailable(name));
  return { clock, faults, pick };
}

describe("latency fault tolerance: back-off", () => {
  test("a fast send keeps its broker available", () => {
    const { faults } = setup();
    faults.record("a", 5);
    faults.record("a", 549);
    expect(faults.isAvailable("a")).toBe(true);
  });

  test("the back-off grows with the latency: 550 ms → 30 s, 1 s → 60 s, 3 s (a failed send) → 180 s", () => {
    for (const [latencyMs, unavailableMs] of [[550, 30_000], [1_000, 60_000], [2_000, 120_000], [3_000, 180_000], [15_000, 600_000]] as const) {
      const { clock, faults } = setup();
      faults.record("a", latencyMs);
      clock.advance(unavailableMs - 1);
      expect(faults.isAvailable("a")).toBe(false);
      clock.advance(1);
      expect(faults.isAvailable("a")).toBe(true);
    }
  });

  test("a fast send to a marked broker makes it available again at once", () => {
    const { faults } = setup();
    faults.record("a", 3_000);
    expect(faults.unavailableBrokers()).toEqual(["a"]);
    faults.record("a", 10);
    expect(faults.isAvailable("a")).toBe(true);
  });
});

describe("latency fault tolerance: queue selection", () => {
  test("sends avoid a broker after a send to it failed, for the whole back-off", () => {
    const { clock, faults, pick } = setup();
    faults.record("a", 3_000);
    const chosen = Array.from({ length: 40 }, () => pick().brokerName);
    expect(new Set(chosen)).toEqual(new Set(["b"]));
    clock.advance(180_000);
    expect(new Set(Array.from({ length: 8 }, () => pick().brokerName))).toEqual(new Set(["a", "b"]));
  });

  test("still spreads over every queue of the available brokers", () => {
    const { faults, pick } = setup();
    faults.record("a", 3_000);
    expect(new Set(Array.from({ length: 16 }, () => pick().queueId))).toEqual(new Set([0, 1, 2, 3]));
  });

  test("falls back to any broker when all are marked, still avoiding the one that just failed", () => {
    const { faults, pick } = setup();
    faults.record("a", 3_000);
    faults.record("b", 3_000);
    const chosen = Array.from({ length: 8 }, () => pick().brokerName);
    expect(new Set(chosen)).toEqual(new Set(["a", "b"]));
    expect(new Set(Array.from({ length: 8 }, () => pick(queues[0]).brokerName))).toEqual(new Set(["b"]));
  });

  test("a retry goes to another broker even when the failed one is not marked yet", () => {
    const { pick } = setup();
    for (const failed of queues) expect(pick(failed).brokerName).not.toBe(failed.brokerName);
  });
});
