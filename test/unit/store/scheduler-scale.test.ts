/**
 * The scheduler under a hot second, on a ManualClock with real journal files, at a scale a unit
 * test affords (the benchmark measures a million): memory stays within the window when thousands
 * of jobs share one due time, every job still fires once and never early, and a drain fires in
 * bounded turns so a job that falls due meanwhile, earlier than the rest, is not made to wait.
 */

import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { withSeed } from "../../helpers/seeded-random.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { schedulerOpener } from "../../helpers/test-scheduler.ts";

type Kinds = { ping: { n: number } };

const startMs = Date.UTC(2026, 0, 1);
const openScheduler = schedulerOpener<Kinds>();

describe("Scheduler: a hot second", () => {
  test("3,000 jobs sharing one due time (and 1,000 more around it) never hold more than the window, and each fires once, none early", () => {
    withSeed((random) => {
      const clock = new ManualClock(startMs);
      const dir = makeTempDir("mq-sched-hot-");
      const before = openScheduler(dir, clock, { inMemoryMax: 64, jobsPerTurnMax: 50 });
      const hotMs = startMs + 10_000;
      let memoryPeak = 0;
      const ids: string[] = [];
      for (let index = 0; index < 4_000; index++) {
        const id = `j${index}`;
        const dueMs = index < 3_000 ? hotMs : hotMs - 5_000 + random.int(10_000);
        before.schedule({ kind: "ping", id, dueMs, payload: { n: index } });
        ids.push(id);
        memoryPeak = Math.max(memoryPeak, before.inMemory);
      }
      before.close();
      // Reopened as after a restart: loading respects the window too.
      const scheduler = openScheduler(dir, clock, { inMemoryMax: 64, jobsPerTurnMax: 50 });
      memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
      const fired = new Map<string, number>();
      let early = 0;
      scheduler.register("ping", (job) => {
        memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
        if (clock.nowMs() < job.dueMs) early += 1;
        fired.set(job.id, (fired.get(job.id) ?? 0) + 1);
        return "done";
      });
      scheduler.start();
      for (let step = 0; step < 100 && fired.size < ids.length; step++) clock.advance(1_000);
      expect(memoryPeak).toBeLessThanOrEqual(64);
      expect(early).toBe(0);
      expect(fired.size).toBe(4_000);
      expect([...fired.values()].every((count) => count === 1)).toBe(true);
    });
  });

  test("a drain fires in bounded turns: a job due meanwhile, earlier than the rest, fires in the next turn", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-hot-"), clock, { inMemoryMax: 64, jobsPerTurnMax: 50 });
    const hotMs = startMs + 1_000;
    const order: string[] = [];
    scheduler.register("ping", (job) => (order.push(job.id), "done"));
    for (let index = 0; index < 1_000; index++) scheduler.schedule({ kind: "ping", id: `hot${String(index).padStart(4, "0")}`, dueMs: hotMs, payload: { n: index } });
    clock.advance(1_000); // not started: everything is due at once when it starts
    scheduler.start();
    scheduler.runDue();
    expect(order).toHaveLength(50); // one turn, then the event loop gets its turn
    scheduler.schedule({ kind: "ping", id: "urgent", dueMs: hotMs - 1, payload: { n: -1 } });
    scheduler.runDue();
    expect(order[50]).toBe("urgent");
    clock.advance(0);
    expect(order).toHaveLength(1_001);
  });
});
