/**
 * The scheduler's slice summaries of job floors (ScheduledJob.floor: scheduled delivery's is the
 * CommitLog offset of its timer record, which retention must keep). Per wheel slice of due time
 * (schedule-wheel.ts), the lowest floor of the jobs opened in it since the last rebuild (open or
 * compaction, which fold the journal's record keys: the floor is in each ADD's header, so no
 * payload is read). Jobs closed since keep counting until the next rebuild, so the lowest floor
 * may be lower than needed, never higher. A slice that ends before the earliest open job holds
 * closed jobs only and is dropped.
 */

import { scheduleWheelSliceMs } from "../common/limits.ts";
import { sliceStartOf } from "./schedule-counts.ts";

export class SliceFloors {
  private readonly lowestBySlice = new Map<number, number>();

  /** A job due at `dueMs` with `floor` (NaN: none) was opened. */
  note(dueMs: number, floor: number): void {
    if (Number.isNaN(floor)) return;
    const start = sliceStartOf(dueMs);
    const lowest = this.lowestBySlice.get(start);
    if (lowest === undefined || floor < lowest) this.lowestBySlice.set(start, floor);
  }

  /** The lowest floor of the slices that can still hold an open job, none due before `earliestOpenMs`; undefined: none. */
  lowest(earliestOpenMs: number): number | undefined {
    let lowest: number | undefined;
    for (const [start, floor] of this.lowestBySlice) {
      if (start + scheduleWheelSliceMs <= earliestOpenMs) this.lowestBySlice.delete(start);
      else if (lowest === undefined || floor < lowest) lowest = floor;
    }
    return lowest;
  }

  clear(): void {
    this.lowestBySlice.clear();
  }
}
