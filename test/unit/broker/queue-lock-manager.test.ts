/**
 * Queue locks on a ManualClock: a lock lasts its expiry from the last (re)lock, and expired
 * locks are swept from memory on the clock's interval, so clients that vanished leave nothing.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { QueueLockManager } from "../../../src/broker/queue-lock-manager.ts";

const expiryMs = 60_000;
const managers: QueueLockManager[] = [];

afterEach(() => {
  for (const manager of managers.splice(0)) manager.stop();
});

function setup() {
  const clock = new ManualClock();
  const locks = new QueueLockManager({ clock, expiryMs });
  managers.push(locks);
  locks.start();
  return { clock, locks };
}

const queues = (count: number) => Array.from({ length: count }, (_, queueId) => ({ topic: "Orders", queueId }));

describe("QueueLockManager: sweeping", () => {
  test("locks of clients that never come back are swept once expired, with no lock or holder call", () => {
    const { clock, locks } = setup();
    for (let client = 0; client < 50; client++) locks.lock(`group-${client}`, `client-${client}`, queues(8));
    expect(locks.size).toBe(400);
    clock.advance(expiryMs - 1);
    expect(locks.size).toBe(400);
    clock.advance(expiryMs);
    expect(locks.size).toBe(0);
  });

  test("a renewed lock survives the sweep; only the expired ones go", () => {
    const { clock, locks } = setup();
    locks.lock("g", "alive", queues(2));
    locks.lock("g", "gone", [{ topic: "Payments", queueId: 0 }]);
    for (let step = 0; step < 6; step++) {
      clock.advance(20_000);
      locks.lock("g", "alive", queues(2)); // renewed every 20 s, as clients do
    }
    expect(locks.size).toBe(2);
    expect(locks.holder("g", { topic: "Orders", queueId: 1 })).toBe("alive");
    expect(locks.holder("g", { topic: "Payments", queueId: 0 })).toBeUndefined();
  });
});
