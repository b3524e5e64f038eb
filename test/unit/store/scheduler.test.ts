/**
 * The scheduler on a ManualClock with real journal files: jobs fire at their due time in order,
 * completed jobs never fire, memory holds at most its limit while the rest wait on disk, and a
 * "crash" (the scheduler dropped without close, a second one opened on the same files) runs
 * every job whose DONE was not written and none whose DONE was.
 */

import { describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { isMqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { type JobOutcome, type ScheduledJob, Scheduler } from "../../../src/store/scheduler.ts";
import { withSeed } from "../../helpers/seeded-random.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { schedulerOpener } from "../../helpers/test-scheduler.ts";

type Kinds = { ping: { n: number }; other: { text: string } };

const startMs = Date.UTC(2026, 0, 1);
const openScheduler = schedulerOpener<Kinds>();

/** A handler recording what fired, in order. */
function recorder(outcome: JobOutcome = "done") {
  const fired: Array<{ id: string; atMs: number }> = [];
  return { fired, handler: (clock: ManualClock) => (job: ScheduledJob<"ping", { n: number }>) => (fired.push({ id: job.id, atMs: clock.nowMs() }), outcome) };
}

function ping(id: string, dueMs: number, n = 0) {
  return { kind: "ping" as const, id, dueMs, payload: { n } };
}

describe("Scheduler: firing", () => {
  test("fires each job at its due time, earliest first, and not a millisecond before", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-"), clock);
    const { fired, handler } = recorder();
    scheduler.register("ping", handler(clock));
    scheduler.start();
    scheduler.schedule(ping("b", startMs + 200));
    scheduler.schedule(ping("a", startMs + 100));
    scheduler.schedule(ping("c", startMs + 300));
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(150);
    expect(fired).toEqual([
      { id: "a", atMs: startMs + 100 },
      { id: "b", atMs: startMs + 200 },
    ]);
    clock.advance(1_000);
    expect(fired.map((entry) => entry.id)).toEqual(["a", "b", "c"]);
    expect(scheduler.open).toBe(0);
  });

  test("a completed job never fires; a rescheduled one fires at its new time only", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-"), clock);
    const { fired, handler } = recorder();
    scheduler.register("ping", handler(clock));
    scheduler.start();
    scheduler.schedule(ping("gone", startMs + 100));
    scheduler.schedule(ping("moved", startMs + 100));
    scheduler.complete({ id: "gone", dueMs: startMs + 100 });
    scheduler.reschedule({ id: "moved", dueMs: startMs + 100 }, ping("moved", startMs + 500));
    clock.advance(1_000);
    expect(fired).toEqual([{ id: "moved", atMs: startMs + 500 }]);
  });

  test("payloads arrive typed and intact; a job of a kind without a handler stays open for one", () => {
    const dir = makeTempDir("mq-sched-");
    const clock = new ManualClock(startMs);
    const first = openScheduler(dir, clock);
    first.start();
    first.schedule({ kind: "other", id: "o1", dueMs: startMs + 10, payload: { text: "héllo" } });
    clock.advance(100);
    expect(first.open).toBe(1);
    first.close();
    const second = openScheduler(dir, clock);
    const seen: string[] = [];
    second.register("other", (job) => (seen.push(job.payload.text), "done"));
    second.start();
    clock.advance(1);
    expect(seen).toEqual(["héllo"]);
  });

  test("refuses a job past the cap on open jobs with SCHEDULE_FULL", () => {
    const scheduler = openScheduler(makeTempDir("mq-sched-"), new ManualClock(startMs), { jobsMax: 3 });
    for (let index = 0; index < 3; index++) scheduler.schedule(ping(`j${index}`, startMs + index));
    let error: unknown;
    try {
      scheduler.schedule(ping("one-too-many", startMs));
    } catch (caught) {
      error = caught;
    }
    expect(isMqError(error, "SCHEDULE_FULL")).toBe(true);
    expect((error as Error).message).toBe('Cannot schedule job "one-too-many": 3 jobs are scheduled, limit is 3');
  });
});

describe("Scheduler: bounded memory", () => {
  test("holds at most inMemoryMax jobs while a thousand wait on disk, and still fires every one once, in order", () => {
    withSeed((random) => {
      const clock = new ManualClock(startMs);
      const scheduler = openScheduler(makeTempDir("mq-sched-"), clock, { inMemoryMax: 16 });
      const fired: number[] = [];
      let memoryPeak = 0;
      scheduler.register("ping", (job) => {
        memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
        fired.push(job.dueMs);
        return "done";
      });
      scheduler.start();
      const dues = new Set<number>();
      while (dues.size < 1_000) dues.add(startMs + 1 + random.int(1_000_000));
      for (const dueMs of dues) {
        scheduler.schedule(ping(`job-${dueMs}`, dueMs));
        memoryPeak = Math.max(memoryPeak, scheduler.inMemory);
      }
      expect(scheduler.open).toBe(1_000);
      for (let step = 0; step < 200 && fired.length < dues.size; step++) clock.advance(10_000);
      expect(memoryPeak).toBeLessThanOrEqual(16);
      expect(fired).toEqual([...dues].sort((a, b) => a - b));
      expect(scheduler.open).toBe(0);
    });
  });
});

describe("Scheduler: bounded memory, emptied by completions", () => {
  test("jobs waiting on disk still fire when the ones in memory were all completed rather than fired", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-"), clock, { inMemoryMax: 16 });
    const fired: string[] = [];
    scheduler.register("ping", (job) => (fired.push(job.id), "done"));
    scheduler.start();
    for (let index = 0; index < 100; index++) scheduler.schedule(ping(`j${index}`, startMs + 1_000 + index));
    expect(scheduler.inMemory).toBeLessThanOrEqual(16);
    for (let index = 0; index < 60; index++) scheduler.complete({ id: `j${index}`, dueMs: startMs + 1_000 + index }); // acked before their time
    expect(scheduler.inMemory).toBeLessThanOrEqual(16);
    clock.advance(2_000);
    expect(fired).toEqual(Array.from({ length: 40 }, (_, index) => `j${60 + index}`));
    expect(scheduler.open).toBe(0);
  });
});

describe("Scheduler: crashes and the journal", () => {
  test("after a crash every job without a DONE runs, and none with a DONE runs again", () => {
    const dir = makeTempDir("mq-sched-");
    const clock = new ManualClock(startMs);
    const before = openScheduler(dir, clock);
    const { fired, handler } = recorder();
    before.register("ping", handler(clock));
    before.start();
    for (let index = 0; index < 10; index++) before.schedule(ping(`j${index}`, startMs + 100 * (index + 1)));
    before.complete({ id: "j9", dueMs: startMs + 1_000 }); // acked before its time
    clock.advance(450); // j0..j3 ran and were recorded DONE
    expect(fired.map((entry) => entry.id)).toEqual(["j0", "j1", "j2", "j3"]);
    // Crash: no close, no sync; a new process opens the same journal later.
    const after = openScheduler(dir, new ManualClock(startMs + 5_000));
    const rerun = recorder();
    after.register("ping", rerun.handler(new ManualClock()));
    after.start();
    after.runDue();
    expect(rerun.fired.map((entry) => entry.id)).toEqual(["j4", "j5", "j6", "j7", "j8"]);
  });

  test("a crash between a handler's effect and its DONE runs the job again, and an effect idempotent by job key applies once", () => {
    const dir = makeTempDir("mq-sched-");
    const effects = new Map<string, number>(); // the effect's own store, keyed by job key (like a delivered copy's source offset)
    let crashAfterEffect = true;
    const handler = (job: ScheduledJob<"ping", { n: number }>): JobOutcome => {
      const key = `${job.id}@${job.dueMs}`;
      if (!effects.has(key)) effects.set(key, job.payload.n);
      if (crashAfterEffect) throw new Error("simulated crash after the effect");
      return "done";
    };
    const clock = new ManualClock(startMs);
    const before = openScheduler(dir, clock);
    before.register("ping", handler);
    before.start();
    before.schedule(ping("j", startMs + 10, 42));
    clock.advance(10);
    expect(effects.size).toBe(1);
    crashAfterEffect = false;
    const after = openScheduler(dir, new ManualClock(startMs + 20));
    after.register("ping", handler);
    after.start();
    after.runDue();
    expect([...effects]).toEqual([[`j@${startMs + 10}`, 42]]);
    expect(after.open).toBe(0);
    const third = openScheduler(dir, new ManualClock(startMs + 30));
    expect(third.open).toBe(0);
  });

  test("a held job stays open until its owner completes it, and fires again after a crash", () => {
    const dir = makeTempDir("mq-sched-");
    const clock = new ManualClock(startMs);
    const before = openScheduler(dir, clock);
    const held = recorder("held");
    before.register("ping", held.handler(clock));
    before.start();
    before.schedule(ping("h", startMs + 10));
    before.schedule(ping("k", startMs + 10));
    clock.advance(20);
    expect(held.fired.map((entry) => entry.id)).toEqual(["h", "k"]);
    before.complete({ id: "k", dueMs: startMs + 10 });
    expect(before.open).toBe(1);
    const after = openScheduler(dir, new ManualClock(startMs + 30));
    const again = recorder();
    after.register("ping", again.handler(new ManualClock()));
    after.start();
    after.runDue();
    expect(again.fired.map((entry) => entry.id)).toEqual(["h"]);
  });

  test("a batch writes its records once, when it ends, even when its body throws", () => {
    const dir = makeTempDir("mq-sched-");
    const scheduler = openScheduler(dir, new ManualClock(startMs));
    const bytesBefore = scheduler.journalBytes;
    scheduler.batch(() => {
      scheduler.schedule(ping("b1", startMs + 10));
      scheduler.schedule(ping("b2", startMs + 20));
      expect(scheduler.journalBytes).toBe(bytesBefore);
    });
    expect(scheduler.journalBytes).toBeGreaterThan(bytesBefore);
    expect(() =>
      scheduler.batch(() => {
        scheduler.schedule(ping("b3", startMs + 30));
        throw new Error("the caller failed after scheduling");
      }),
    ).toThrow("the caller failed");
    const reopened = openScheduler(dir, new ManualClock(startMs));
    expect(reopened.openOf("ping").map((job) => job.id)).toEqual(["b1", "b2", "b3"]);
  });

  test("jobs scheduled soon go out in one write after the turn, or with the next write, read or sync, before it; in order with the others", async () => {
    const dir = makeTempDir("mq-sched-");
    const scheduler = openScheduler(dir, new ManualClock(startMs));
    const bytesBefore = scheduler.journalBytes;
    scheduler.scheduleSoon(ping("s1", startMs + 10));
    scheduler.scheduleSoon(ping("s2", startMs + 20));
    // Held: a kill -9 now loses both (their owner derives them again), nothing is half written.
    expect(scheduler.journalBytes).toBe(bytesBefore);
    expect(openScheduler(dir, new ManualClock(startMs)).open).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    const afterTurn = scheduler.journalBytes;
    expect(afterTurn).toBeGreaterThan(bytesBefore);
    expect(openScheduler(dir, new ManualClock(startMs)).openOf("ping").map((job) => job.id)).toEqual(["s1", "s2"]);
    // Held, then an immediate write (a completion) takes them along first: positions stay in order.
    scheduler.scheduleSoon(ping("s3", startMs + 30));
    scheduler.complete({ kind: "ping", id: "s1", dueMs: startMs + 10 });
    scheduler.scheduleSoon(ping("s4", startMs + 40));
    expect(scheduler.findOpen("ping", "s4")?.id).toBe("s4"); // a read writes what is held first
    await scheduler.sync();
    const reopened = openScheduler(dir, new ManualClock(startMs));
    expect(reopened.openOf("ping").map((job) => job.id)).toEqual(["s2", "s3", "s4"]);
  });

  test("the lowest floor of the open jobs comes from slice summaries, rises as slices are done, and survives a reopen and a compaction", () => {
    const dir = makeTempDir("mq-sched-");
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(dir, clock);
    const { handler } = recorder();
    scheduler.register("ping", handler(clock));
    scheduler.start();
    expect(scheduler.lowestFloor()).toBeUndefined();
    // Three slices of due time (30 s each); floors not in due order; one job without a floor.
    scheduler.schedule({ ...ping("a", startMs + 1_000), floor: 500 });
    scheduler.schedule({ ...ping("b", startMs + 40_000), floor: 100 });
    scheduler.schedule({ ...ping("c", startMs + 70_000), floor: 300 });
    scheduler.schedule(ping("d", startMs + 70_001));
    expect(scheduler.lowestFloor()).toBe(100);
    clock.advance(45_000); // a and b fired: their slices hold nothing open
    expect(scheduler.lowestFloor()).toBe(300);
    scheduler.close();
    const reopened = openScheduler(dir, new ManualClock(startMs + 45_000));
    expect(reopened.lowestFloor()).toBe(300); // from the ADDs' headers, no payload read
    expect(reopened.openOf("ping").map((job) => [job.id, job.floor])).toEqual([
      ["c", 300],
      ["d", undefined],
    ]);
    reopened.compact();
    expect(reopened.lowestFloor()).toBe(300);
    reopened.cancel("ping", "c");
    reopened.compact(); // a closed job's floor counts until the next rebuild
    expect(reopened.lowestFloor()).toBeUndefined();
  });

  test("a torn last record is cut at open; every whole record before it is kept", () => {
    const dir = makeTempDir("mq-sched-");
    const first = openScheduler(dir, new ManualClock(startMs));
    first.schedule(ping("kept", startMs + 10));
    first.schedule(ping("torn", startMs + 20));
    first.close();
    const path = join(dir, "journal");
    truncateSync(path, statSync(path).size - 3);
    appendFileSync(path, new Uint8Array([1, 2]));
    const second = openScheduler(dir, new ManualClock(startMs));
    expect(second.open).toBe(1);
    expect(second.openOf("ping").map((job) => job.id)).toEqual(["kept"]);
  });

  test("refuses a file that is not a journal instead of guessing", () => {
    const dir = makeTempDir("mq-sched-");
    openScheduler(dir, new ManualClock(startMs)).close();
    const path = join(dir, "journal");
    const bytes = readFileSync(path);
    bytes[0] = 0;
    Bun.write(path, bytes);
    expect(() => Scheduler.open<Kinds>({ dir, clock: new ManualClock(startMs), logger: silentLogger })).toThrow("Cannot read schedule journal");
  });

  test("compaction rewrites the journal with the open jobs only, and they survive a reopen", () => {
    const dir = makeTempDir("mq-sched-");
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(dir, clock);
    for (let index = 0; index < 100; index++) scheduler.schedule(ping(`j${index}`, startMs + 1_000 + index));
    for (let index = 0; index < 90; index++) scheduler.complete({ id: `j${index}`, dueMs: startMs + 1_000 + index });
    const bytesBefore = scheduler.journalBytes;
    scheduler.compact();
    expect(scheduler.journalBytes).toBeLessThan(bytesBefore / 10);
    scheduler.close();
    const reopened = openScheduler(dir, clock);
    expect(reopened.openOf("ping").map((job) => job.id)).toEqual(Array.from({ length: 10 }, (_, index) => `j${90 + index}`));
  });
});
