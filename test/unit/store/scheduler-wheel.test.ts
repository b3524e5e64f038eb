/**
 * The scheduler's bounded window over its on-disk wheel: memory holds at most the window however
 * many jobs wait, the jobs on disk are found again from the wheel's slices (not by reading the
 * journal), and jobs closed while on disk are never fired — through evictions, compactions and
 * restarts, checked against a model on the ManualClock.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { scheduleWheelSliceMs } from "../../../src/common/limits.ts";
import type { Scheduler } from "../../../src/store/scheduler.ts";
import { withSeed } from "../../helpers/seeded-random.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { schedulerOpener } from "../../helpers/test-scheduler.ts";

type Kinds = { ping: { n: number } };

const startMs = Date.UTC(2026, 0, 1);
const openScheduler = schedulerOpener<Kinds>();

describe("Scheduler: the in-memory window", () => {
  test("200,000 pending jobs (half of them due in the same millisecond) never put more than the window in memory, before or after a restart, and each fires once, none early", () => {
    withSeed((random) => {
      const windowJobs = 4_096;
      const clock = new ManualClock(startMs);
      const dir = makeTempDir("mq-sched-window-");
      const before = openScheduler(dir, clock, { inMemoryMax: windowJobs });
      const hotMs = startMs + 100_000;
      const total = 200_000;
      let memoryPeak = 0;
      for (let first = 0; first < total; first += 1_000) {
        before.batch(() => {
          for (let index = first; index < first + 1_000; index++) {
            const dueMs = index % 2 === 0 ? hotMs : startMs + 1 + random.int(10 * scheduleWheelSliceMs);
            before.schedule({ kind: "ping", id: `j${index}`, dueMs, payload: { n: index } });
          }
        });
        memoryPeak = Math.max(memoryPeak, before.inMemory);
      }
      expect(before.open).toBe(total);
      expect(memoryPeak).toBeLessThanOrEqual(windowJobs);
      before.close();

      const scheduler = openScheduler(dir, clock, { inMemoryMax: windowJobs });
      expect(scheduler.open).toBe(total);
      expect(scheduler.inMemory).toBeLessThanOrEqual(windowJobs);
      const fired = new Uint8Array(total);
      let early = 0;
      scheduler.register("ping", (job) => {
        memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
        if (clock.nowMs() < job.dueMs) early += 1;
        fired[job.payload.n]! += 1;
        return "done";
      });
      scheduler.start();
      for (let step = 0; step < 100 && scheduler.open > 0; step++) clock.advance(10_000);
      expect(memoryPeak).toBeLessThanOrEqual(windowJobs);
      expect(early).toBe(0);
      expect(fired.every((count) => count === 1)).toBe(true);
      expect(scheduler.open).toBe(0);
    });
  }, 120_000);

  test("the wheel files jobs by due time, one file per slice that has jobs", () => {
    const clock = new ManualClock(startMs);
    const dir = makeTempDir("mq-sched-window-");
    const scheduler = openScheduler(dir, clock, { inMemoryMax: 16 });
    for (let index = 0; index < 100; index++) scheduler.schedule({ kind: "ping", id: `j${index}`, dueMs: startMs + (index % 4) * scheduleWheelSliceMs, payload: { n: index } });
    expect(scheduler.wheelRefs).toBe(100);
    scheduler.compact(); // rewrites the wheel, every slice file written
    scheduler.close();
    expect(readdirSync(join(dir, "wheel")).sort()).toEqual([0, 1, 2, 3].map((slice) => String(startMs + slice * scheduleWheelSliceMs).padStart(20, "0")));
  });

  test("a schedule directory holding only the journal (as the previous build wrote it) or a stale wheel opens with every open job, each firing once", () => {
    const clock = new ManualClock(startMs);
    const dir = makeTempDir("mq-sched-window-");
    const before = openScheduler(dir, clock, { inMemoryMax: 16 });
    for (let index = 0; index < 100; index++) before.schedule({ kind: "ping", id: `j${index}`, dueMs: startMs + 1_000 + index * 1_000, payload: { n: index } });
    for (let index = 0; index < 100; index += 4) before.complete({ id: `j${index}`, dueMs: startMs + 1_000 + index * 1_000 });
    before.close();
    rmSync(join(dir, "wheel"), { recursive: true, force: true });
    const reopened = openScheduler(dir, clock, { inMemoryMax: 16 });
    expect(reopened.open).toBe(75);
    reopened.close();
    // A wheel naming jobs the journal no longer holds open is thrown away, not trusted.
    writeFileSync(join(dir, "wheel", String(startMs).padStart(20, "0")), new Uint8Array(8 * 64).fill(0));
    const scheduler = openScheduler(dir, clock, { inMemoryMax: 16 });
    const fired: string[] = [];
    scheduler.register("ping", (job) => (fired.push(job.id), "done"));
    scheduler.start();
    for (let step = 0; step < 200 && scheduler.open > 0; step++) clock.advance(1_000);
    expect(fired).toEqual(Array.from({ length: 100 }, (_, index) => `j${index}`).filter((_, index) => index % 4 !== 0));
  });

  test("jobs cancelled while on disk are remembered within the window's bound, and a compaction forgets them", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-window-"), clock, { inMemoryMax: 16 });
    const fired: string[] = [];
    scheduler.register("ping", (job) => (fired.push(job.id), "done"));
    scheduler.start();
    for (let index = 0; index < 200; index++) scheduler.schedule({ kind: "ping", id: `j${index}`, dueMs: startMs + 60_000 + index, payload: { n: index } });
    for (let index = 0; index < 200; index += 2) scheduler.cancel("ping", `j${index}`);
    expect(scheduler.closedAheadCount).toBeGreaterThan(0);
    scheduler.compact();
    expect(scheduler.closedAheadCount).toBe(0);
    clock.advance(61_000);
    expect(fired).toEqual(Array.from({ length: 100 }, (_, index) => `j${2 * index + 1}`));
  });
});

describe("Scheduler: the window against a model", () => {
  test("random schedules, acks, reschedules, cancels and held jobs with a 16-job window, compactions and restarts: every open job fires once at or after its time, no closed or held one fires", () => {
    withSeed((random) => {
      const clock = new ManualClock(startMs);
      const dir = makeTempDir("mq-sched-model-");
      const windowJobs = 16;
      /** id → due time of every open job not yet fired, as the model sees it. */
      const model = new Map<string, number>();
      /** id → due time of the jobs fired and held by their owner (open until completed or rescheduled). */
      const held = new Map<string, number>();
      const problems: string[] = [];
      let memoryPeak = 0;
      let scheduler!: Scheduler<Kinds>;
      const start = (): void => {
        scheduler = openScheduler(dir, clock, { inMemoryMax: windowJobs, jobsPerTurnMax: 8 });
        scheduler.register("ping", (job) => {
          const dueMs = model.get(job.id);
          if (dueMs !== job.dueMs) problems.push(`fired ${job.id} due ${job.dueMs}, the model has ${dueMs}`);
          if (clock.nowMs() < job.dueMs) problems.push(`fired ${job.id} early`);
          model.delete(job.id);
          if (job.payload.n % 4 !== 0) return "done";
          held.set(job.id, job.dueMs);
          return "held";
        });
        scheduler.start();
      };
      start();
      let nextId = 0;
      const anyOpen = (): [string, number] | undefined => {
        if (model.size === 0) return undefined;
        const index = random.int(model.size);
        let at = 0;
        for (const entry of model) if (at++ === index) return entry;
        return undefined;
      };
      for (let step = 0; step < 3_000; step++) {
        const roll = random.int(100);
        const picked = anyOpen();
        const heldOne = held.entries().next().value;
        if (roll >= 90 && heldOne !== undefined) {
          // The owner of a held job acks it, or has it redelivered later (a reschedule).
          if (random.int(2) === 0) scheduler.complete({ kind: "ping", id: heldOne[0], dueMs: heldOne[1] });
          else {
            const dueMs = clock.nowMs() + 1 + random.int(scheduleWheelSliceMs);
            scheduler.reschedule({ kind: "ping", id: heldOne[0], dueMs: heldOne[1] }, { kind: "ping", id: heldOne[0], dueMs, payload: { n: 1 } });
            model.set(heldOne[0], dueMs);
          }
          held.delete(heldOne[0]);
          continue;
        }
        if (roll < 45 || picked === undefined) {
          const id = `j${nextId++}`;
          const dueMs = clock.nowMs() + random.int(3 * scheduleWheelSliceMs);
          scheduler.schedule({ kind: "ping", id, dueMs, payload: { n: nextId } });
          model.set(id, dueMs);
        } else if (roll < 55) {
          scheduler.complete({ kind: "ping", id: picked[0], dueMs: picked[1] });
          model.delete(picked[0]);
        } else if (roll < 65) {
          // Same key now and then: the DONE and the new ADD name the same (dueMs, id).
          const dueMs = random.int(3) === 0 ? picked[1] : clock.nowMs() + random.int(3 * scheduleWheelSliceMs);
          scheduler.reschedule({ kind: "ping", id: picked[0], dueMs: picked[1] }, { kind: "ping", id: picked[0], dueMs, payload: { n: -1 } });
          model.set(picked[0], dueMs);
        } else if (roll < 72) {
          expect(scheduler.cancel("ping", picked[0])?.dueMs).toBe(picked[1]);
          model.delete(picked[0]);
        } else if (roll < 74) {
          scheduler.compact();
        } else if (roll < 75) {
          scheduler.close();
          // Held jobs are open in the journal: after a restart they run again.
          for (const [id, dueMs] of held) model.set(id, dueMs);
          held.clear();
          start();
        } else {
          clock.advance(random.int(2_000));
        }
        memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
        expect(problems).toEqual([]);
      }
      for (let step = 0; step < 1_000 && model.size > 0; step++) clock.advance(1_000);
      expect(problems).toEqual([]);
      expect(model.size).toBe(0);
      expect(scheduler.open).toBe(held.size);
      expect(memoryPeak).toBeLessThanOrEqual(windowJobs);
    });
  }, 60_000);
});
