/**
 * Looking into and cancelling the scheduler's jobs on a ManualClock with real journal files:
 * range queries by due time see jobs in memory and on disk alike, count them per bucket (from
 * the slice summaries, and one by one in slices a bucket edge or the range cuts) and page through
 * them, the same after a restart and a compaction, never listing a closed job the wheel still names; per-kind counts follow schedules, completions, firings, restarts and compaction;
 * a cancel by (kind, id) is durable, so a job cancelled before a crash never fires after it.
 */

import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { withSeed } from "../../helpers/seeded-random.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { schedulerOpener } from "../../helpers/test-scheduler.ts";

type Kinds = { ping: { n: number; topic: string }; other: { text: string } };

const startMs = Date.UTC(2026, 0, 1);
const openScheduler = schedulerOpener<Kinds>();

function ping(id: string, dueMs: number, topic = "t") {
  return { kind: "ping" as const, id, dueMs, payload: { n: 0, topic }, group: topic };
}

describe("Scheduler: range queries", () => {
  test("counts per bucket and pages through jobs in memory and on disk alike, in (dueMs, id) order", () => {
    withSeed((random) => {
      const clock = new ManualClock(startMs);
      const scheduler = openScheduler(makeTempDir("mq-sched-q-"), clock, { inMemoryMax: 16 });
      scheduler.start();
      const jobs: Array<{ id: string; dueMs: number; topic: string }> = [];
      for (let index = 0; index < 500; index++) {
        const job = { id: `m${index}`, dueMs: startMs + 1_000 + random.int(60_000), topic: random.int(2) === 0 ? "a" : "b" };
        jobs.push(job);
        scheduler.schedule(ping(job.id, job.dueMs, job.topic));
      }
      scheduler.schedule({ kind: "other", id: "x", dueMs: startMs + 2_000, payload: { text: "not a ping" } });
      for (const job of jobs.slice(0, 50)) scheduler.complete(ping(job.id, job.dueMs));
      expect(scheduler.inMemory).toBeLessThanOrEqual(16);

      const fromMs = startMs + 10_000;
      const toMs = startMs + 40_000;
      const expected = jobs
        .slice(50)
        .filter((job) => job.topic === "a" && job.dueMs >= fromMs && job.dueMs < toMs)
        .sort((x, y) => x.dueMs - y.dueMs || (x.id < y.id ? -1 : 1));
      const range = { kind: "ping" as const, fromMs, toMs, group: "a" };
      const seen: string[] = [];
      let after: { dueMs: number; id: string } | undefined;
      for (let pageIndex = 0; pageIndex < 100; pageIndex++) {
        const answer = scheduler.openBetween(range, { after, limit: 7, bucketMs: 10_000 });
        expect(answer.total).toBe(expected.length);
        expect(answer.buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(expected.length);
        expect(answer.buckets.every((bucket) => (bucket.startMs - fromMs) % 10_000 === 0)).toBe(true);
        if (answer.jobs.length === 0) break;
        expect(answer.jobs.every((job) => job.payload.topic === "a")).toBe(true);
        seen.push(...answer.jobs.map((job) => job.id));
        const last = answer.jobs.at(-1)!;
        after = { dueMs: last.dueMs, id: last.id };
      }
      expect(seen).toEqual(expected.map((job) => job.id));
    });
  });

  test("a fired job leaves the range; a job of another kind is never in it", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-q-"), clock);
    scheduler.register("ping", () => "done");
    scheduler.start();
    scheduler.schedule(ping("early", startMs + 100));
    scheduler.schedule(ping("late", startMs + 5_000));
    scheduler.schedule({ kind: "other", id: "other-late", dueMs: startMs + 6_000, payload: { text: "" } });
    clock.advance(1_000);
    const answer = scheduler.openBetween({ kind: "ping", fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, { limit: 10, bucketMs: 1_000 });
    expect(answer.jobs.map((job) => job.id)).toEqual(["late"]);
    expect(answer.buckets).toEqual([{ startMs: startMs + 5_000, count: 1 }]);
  });
});

describe("Scheduler: range queries across restarts, compaction and firing", () => {
  /** Pages through the whole range; every page's counts checked against the expected jobs. */
  function listAll(scheduler: ReturnType<typeof openScheduler>, range: { kind: "ping"; fromMs: number; toMs: number; group?: string }, bucketMs: number, expected: Array<{ id: string; dueMs: number }>): string[] {
    const seen: string[] = [];
    let after: { dueMs: number; id: string } | undefined;
    const buckets = new Map<number, number>();
    for (const job of expected) {
      const startMs = range.fromMs + Math.floor((job.dueMs - range.fromMs) / bucketMs) * bucketMs;
      buckets.set(startMs, (buckets.get(startMs) ?? 0) + 1);
    }
    for (let pageIndex = 0; pageIndex < 1_000; pageIndex++) {
      const answer = scheduler.openBetween(range, { after, limit: 13, bucketMs });
      expect(answer.total).toBe(expected.length);
      expect(answer.buckets).toEqual([...buckets].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count })));
      if (answer.jobs.length === 0) break;
      seen.push(...answer.jobs.map((job) => job.id));
      const last = answer.jobs.at(-1)!;
      after = { dueMs: last.dueMs, id: last.id };
    }
    return seen;
  }

  test("jobs sharing due times, several topics, fired and cancelled ones: the same listing live, after a restart and after a compaction", () => {
    withSeed((random) => {
      const dir = makeTempDir("mq-sched-q-");
      const clock = new ManualClock(startMs);
      const scheduler = openScheduler(dir, clock, { inMemoryMax: 32 });
      scheduler.register("ping", () => "done");
      scheduler.start();
      const jobs: Array<{ id: string; dueMs: number; topic: string }> = [];
      for (let index = 0; index < 600; index++) {
        // Few distinct due times (many jobs share one), spread over four 30 s slices.
        const job = { id: `m${random.int(1_000_000)}-${index}`, dueMs: startMs + 1_000 + 7_000 * random.int(18), topic: ["a", "b", "c"][random.int(3)]! };
        jobs.push(job);
        scheduler.schedule(ping(job.id, job.dueMs, job.topic));
      }
      const cancelled = new Set(jobs.filter(() => random.int(5) === 0).map((job) => job.id));
      for (const id of cancelled) scheduler.cancel("ping", id);
      clock.advance(15_000); // the earliest due times fire
      const nowMs = clock.nowMs();
      const open = jobs.filter((job) => !cancelled.has(job.id) && job.dueMs > nowMs).sort((x, y) => x.dueMs - y.dueMs || (x.id < y.id ? -1 : 1));
      const check = (subject: ReturnType<typeof openScheduler>) => {
        // Whole range, aligned buckets (summaries only), and a cut range with 10 s buckets (slices walked).
        expect(listAll(subject, { kind: "ping", fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, 60_000, open)).toEqual(open.map((job) => job.id));
        const fromMs = startMs + 20_000;
        const toMs = startMs + 100_000;
        const cut = open.filter((job) => job.topic === "b" && job.dueMs >= fromMs && job.dueMs < toMs);
        expect(listAll(subject, { kind: "ping", fromMs, toMs, group: "b" }, 10_000, cut)).toEqual(cut.map((job) => job.id));
      };
      check(scheduler);
      scheduler.close();
      const reopened = openScheduler(dir, clock, { inMemoryMax: 32 });
      reopened.register("ping", () => "done");
      reopened.start();
      check(reopened);
      reopened.compact();
      check(reopened);
    });
  });

  test("a page never splits a due time's jobs wrongly: after (dueMs, id) it goes on with the next id of that due time", () => {
    const scheduler = openScheduler(makeTempDir("mq-sched-q-"), new ManualClock(startMs), { inMemoryMax: 16 });
    scheduler.start();
    const ids = ["e", "a", "d", "b", "c"];
    for (const id of ids) scheduler.schedule(ping(id, startMs + 5_000));
    scheduler.schedule(ping("z", startMs + 4_000));
    const first = scheduler.openBetween({ kind: "ping", fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, { limit: 3, bucketMs: 1_000 });
    expect(first.jobs.map((job) => job.id)).toEqual(["z", "a", "b"]);
    const second = scheduler.openBetween({ kind: "ping", fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, { after: { dueMs: startMs + 5_000, id: "b" }, limit: 3, bucketMs: 1_000 });
    expect(second.jobs.map((job) => job.id)).toEqual(["c", "d", "e"]);
    expect(second.buckets).toEqual([
      { startMs: startMs + 4_000, count: 1 },
      { startMs: startMs + 5_000, count: 5 },
    ]);
  });
});

describe("Scheduler: counts per kind", () => {
  test("follow schedules, completions and firings, and are the same after a restart and after compaction", () => {
    const dir = makeTempDir("mq-sched-q-");
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(dir, clock, { inMemoryMax: 16 });
    scheduler.register("ping", () => "done");
    scheduler.start();
    for (let index = 0; index < 100; index++) scheduler.schedule(ping(`p${index}`, startMs + 1_000 * (index + 1)));
    for (let index = 0; index < 10; index++) scheduler.schedule({ kind: "other", id: `o${index}`, dueMs: startMs + 500_000, payload: { text: "" } });
    expect(scheduler.openOfKind("ping")).toBe(100);
    expect(scheduler.openOfKind("other")).toBe(10);
    scheduler.complete({ kind: "ping", id: "p99", dueMs: startMs + 100_000 }); // on disk only: the kind keeps the count exact
    scheduler.cancel("other", "o0");
    clock.advance(20_500);
    expect(scheduler.firedOfKind("ping")).toBe(20);
    expect(scheduler.openOfKind("ping")).toBe(79);
    expect(scheduler.openOfKind("other")).toBe(9);
    scheduler.compact();
    expect(scheduler.openOfKind("ping")).toBe(79);
    scheduler.close();
    const reopened = openScheduler(dir, clock, { inMemoryMax: 16 });
    expect(reopened.openOfKind("ping")).toBe(79);
    expect(reopened.openOfKind("other")).toBe(9);
  });

  test("a fire listener hears each job handed over, with how late it fired", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-q-"), clock);
    const heard: Array<{ id: string; lateMs: number }> = [];
    scheduler.register("ping", () => "done");
    scheduler.onFire((job, lateMs) => heard.push({ id: job.id, lateMs }));
    scheduler.schedule(ping("a", startMs + 100));
    scheduler.schedule(ping("b", startMs + 300));
    scheduler.schedule(ping("c", startMs + 1_000));
    clock.advance(350); // not started yet: a and b are late when it starts
    scheduler.start();
    scheduler.runDue();
    clock.advance(1_000);
    expect(heard).toEqual([
      { id: "a", lateMs: 250 },
      { id: "b", lateMs: 50 },
      { id: "c", lateMs: 0 },
    ]);
  });
});

describe("Scheduler: cancel by kind and id", () => {
  test("cancels a job in memory and one on disk; an unknown or already fired id answers undefined", () => {
    const clock = new ManualClock(startMs);
    const scheduler = openScheduler(makeTempDir("mq-sched-q-"), clock, { inMemoryMax: 16 });
    const fired: string[] = [];
    scheduler.register("ping", (job) => (fired.push(job.id), "done"));
    scheduler.start();
    for (let index = 0; index < 100; index++) scheduler.schedule(ping(`p${index}`, startMs + 1_000 * (index + 1)));
    expect(scheduler.cancel("ping", "p1")?.dueMs).toBe(startMs + 2_000); // in memory
    expect(scheduler.cancel("ping", "p90")?.dueMs).toBe(startMs + 91_000); // on disk only
    expect(scheduler.cancel("other", "p2")).toBeUndefined(); // another kind's id space
    expect(scheduler.cancel("ping", "nobody")).toBeUndefined();
    clock.advance(1_000);
    expect(scheduler.cancel("ping", "p0")).toBeUndefined(); // fired already
    for (let step = 0; step < 200 && scheduler.open > 0; step++) clock.advance(1_000);
    expect(fired).toHaveLength(98);
    expect(fired).not.toContain("p1");
    expect(fired).not.toContain("p90");
  });

  test("a cancel is durable: after a crash the cancelled job never fires, every other one does", () => {
    const dir = makeTempDir("mq-sched-q-");
    const before = openScheduler(dir, new ManualClock(startMs), { inMemoryMax: 16 });
    before.start();
    for (let index = 0; index < 50; index++) before.schedule(ping(`p${index}`, startMs + 1_000 * (index + 1)));
    before.cancel("ping", "p3");
    before.cancel("ping", "p40");
    // Crash: no close, no sync; a new process opens the same journal after every due time.
    const after = openScheduler(dir, new ManualClock(startMs + 100_000), { inMemoryMax: 16 });
    const fired: string[] = [];
    after.register("ping", (job) => (fired.push(job.id), "done"));
    after.start();
    for (let step = 0; step < 20 && after.open > 0; step++) after.runDue();
    expect(fired).toHaveLength(48);
    expect(fired).not.toContain("p3");
    expect(fired).not.toContain("p40");
  });
});
