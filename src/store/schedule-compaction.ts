/**
 * Compaction of the scheduler's journal (scheduler.ts): the journal is rewritten with the open
 * jobs' ADDs only, in their order, and the wheel rebuilt with their new positions. Records keep
 * their order, so each job keeps its place in the (dueMs, position) order: jobs in memory move to
 * their new positions, and the horizon becomes the job that was the first at or after it, at its
 * new position.
 */

import { journalHeaderBytes, type ScheduleJournal } from "./schedule-journal.ts";
import type { MemoryJob } from "./schedule-memory.ts";
import { OpenJobs } from "./schedule-open-jobs.ts";
import { compareWheelKeys, type ScheduleWheel, type WheelKey } from "./schedule-wheel.ts";

/** The open jobs of the journal, from one pass over its record keys. */
export function scanOpenJobs(journal: ScheduleJournal): OpenJobs {
  const open = new OpenJobs();
  journal.scanKeys((key) => open.apply(key));
  return open;
}

/** Compacts; answers the open jobs (their old positions) and the new horizon (dueMs Infinity: every open job is in memory). */
export function compactJournal(journal: ScheduleJournal, wheel: ScheduleWheel, memory: Iterable<MemoryJob>, horizon: WheelKey): { open: OpenJobs; horizon: WheelKey } {
  const open = scanOpenJobs(journal);
  const refs: Array<{ readonly position: number; readonly length: number }> = [];
  open.forEach((job) => refs.push({ position: job.position, length: job.length }));
  journal.rewrite(refs);
  const inMemory = new Map<number, MemoryJob>();
  for (const entry of memory) inMemory.set(entry.position, entry);
  let horizonBefore: WheelKey | undefined;
  let newHorizon: WheelKey = { dueMs: Infinity, position: Infinity };
  let position = journalHeaderBytes;
  open.forEach((job) => {
    const entry = inMemory.get(job.position);
    if (entry !== undefined) entry.position = position;
    const old = { dueMs: job.dueMs, position: job.position };
    if (compareWheelKeys(old, horizon) >= 0 && (horizonBefore === undefined || compareWheelKeys(old, horizonBefore) < 0)) {
      horizonBefore = old;
      newHorizon = { dueMs: job.dueMs, position };
    }
    position += job.length;
  });
  wheel.rebuildWith((take) => {
    let moved = journalHeaderBytes;
    open.forEach((job) => {
      take(job.dueMs, moved);
      moved += job.length;
    });
  });
  return { open, horizon: newHorizon };
}
