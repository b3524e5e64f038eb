/**
 * The scheduler's slice summaries of open jobs: per kind, group (ScheduledJob.group: scheduled
 * delivery's is the real topic) and wheel slice of due time (schedule-wheel.ts), how many jobs
 * are open. Counted at open and compaction from the journal's record keys (the group is in each
 * ADD's header), then kept up to date as jobs open and close: a listing counts a million pending
 * jobs per bucket without reading one. Exact while every completion names its kind and group
 * (the scheduler's own firings and owners completing the job they were handed do).
 */

import { scheduleWheelSliceMs } from "../common/limits.ts";

export class SliceCounts {
  /** kind → group ("" for none) → slice start → open jobs. */
  private readonly byKind = new Map<string, Map<string, Map<number, number>>>();

  add(kind: string, group: string | undefined, dueMs: number, delta: number): void {
    let byGroup = this.byKind.get(kind);
    if (byGroup === undefined) this.byKind.set(kind, (byGroup = new Map()));
    let bySlice = byGroup.get(group ?? "");
    if (bySlice === undefined) byGroup.set(group ?? "", (bySlice = new Map()));
    const start = sliceStartOf(dueMs);
    const count = (bySlice.get(start) ?? 0) + delta;
    if (count > 0) bySlice.set(start, count);
    else bySlice.delete(start);
  }

  /** Open jobs of `kind` (and `group`, when given) per slice start, in no order. */
  slices(kind: string, group: string | undefined): Map<number, number> {
    const byGroup = this.byKind.get(kind);
    if (byGroup === undefined) return new Map();
    if (group !== undefined) return new Map(byGroup.get(group) ?? []);
    const total = new Map<number, number>();
    for (const bySlice of byGroup.values()) for (const [start, count] of bySlice) total.set(start, (total.get(start) ?? 0) + count);
    return total;
  }

  clear(): void {
    this.byKind.clear();
  }
}

export function sliceStartOf(dueMs: number): number {
  return Math.floor(dueMs / scheduleWheelSliceMs) * scheduleWheelSliceMs;
}
