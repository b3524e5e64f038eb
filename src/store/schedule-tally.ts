/**
 * What the scheduler counts of its jobs (scheduler.ts), kept as jobs open, close and fire, so
 * nothing that asks reads a job: the open jobs in all (the cap, SCHEDULE_FULL) and per kind (the
 * pending-timers metric), those handed to their handler per kind (the delivered total), the open
 * jobs per kind, group and slice of due time (listings' counts per bucket, schedule-counts.ts),
 * and the lowest floor per slice (retention, schedule-floors.ts). `recount` rebuilds all of it
 * from a fold of the journal (opening, compaction); between two, a close that does not name its
 * kind cannot be counted against one, so the per-kind counts are exact when every close does.
 */

import { SliceCounts } from "./schedule-counts.ts";
import { SliceFloors } from "./schedule-floors.ts";
import type { OpenJobs } from "./schedule-open-jobs.ts";

export class ScheduleTally {
  /** Open jobs: in memory, held by their owners, or waiting on disk. */
  open = 0;
  private readonly openByKind = new Map<string, number>();
  private readonly firedByKind = new Map<string, number>();
  readonly counts = new SliceCounts();
  readonly floors = new SliceFloors();

  openOfKind(kind: string): number {
    return this.openByKind.get(kind) ?? 0;
  }

  firedOfKind(kind: string): number {
    return this.firedByKind.get(kind) ?? 0;
  }

  /** Everything again from the open jobs of a fold of the journal. */
  recount(open: OpenJobs): void {
    this.open = open.count;
    this.openByKind.clear();
    for (const [kind, count] of open.countsByKind()) this.openByKind.set(kind, count);
    this.floors.clear();
    this.counts.clear();
    open.forEach((job) => {
      this.floors.note(job.dueMs, job.floor);
      this.counts.add(job.kind, job.group, job.dueMs, 1);
    });
  }

  /** A job was opened; `fresh` false when it replaced an open job of the same key (counted already). */
  opened(job: { readonly kind: string; readonly group?: string; readonly dueMs: number; readonly floor?: number }, fresh: boolean): void {
    if (fresh) {
      this.open += 1;
      this.openByKind.set(job.kind, (this.openByKind.get(job.kind) ?? 0) + 1);
      this.counts.add(job.kind, job.group, job.dueMs, 1);
    }
    this.floors.note(job.dueMs, job.floor ?? Number.NaN);
  }

  /** A job was closed; its kind undefined when neither memory nor the caller knew it. */
  closed(kind: string | undefined, group: string | undefined, dueMs: number): void {
    if (kind !== undefined) {
      this.openByKind.set(kind, Math.max(0, (this.openByKind.get(kind) ?? 0) - 1));
      this.counts.add(kind, group, dueMs, -1);
    }
    this.open = Math.max(0, this.open - 1);
  }

  fired(kind: string): void {
    this.firedByKind.set(kind, (this.firedByKind.get(kind) ?? 0) + 1);
  }
}
