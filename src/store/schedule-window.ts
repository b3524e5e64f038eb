/**
 * The scheduler's in-memory window (scheduler.ts, "Bounded memory"): which open jobs are in
 * memory. Every open job ordered before the horizon — a (dueMs, journal position) — is in memory
 * (schedule-memory.ts) or held by its owner; the rest wait on disk, filed by due time in the
 * wheel (schedule-wheel.ts). Here: a job opened before the horizon is kept (a full memory drops
 * its latest quarter, which stays on disk, and lowers the horizon to them); a closed job is
 * forgotten, and remembered as closed ahead when a later selection from the wheel could meet it
 * (schedule-closed-ahead.ts); when memory runs low the next earliest are selected from the wheel
 * and read from the journal, and the horizon moves to the first one left on disk.
 */

import type { Clock } from "../common/clock.ts";
import { ClosedAhead } from "./schedule-closed-ahead.ts";
import type { ScheduleJournal } from "./schedule-journal.ts";
import { jobOfRecord } from "./schedule-journal-records.ts";
import type { JobKey } from "./schedule-keys.ts";
import { type MemoryJob, ScheduleMemory, wheelKeyOf } from "./schedule-memory.ts";
import { compareWheelKeys, type ScheduleWheel, type WheelKey } from "./schedule-wheel.ts";
import type { ScheduledJob } from "./scheduled-job.ts";

/** The horizon when every open job is in memory. */
export const unbounded: WheelKey = { dueMs: Infinity, position: Infinity };

export class ScheduleWindow {
  readonly memory = new ScheduleMemory();
  /** Open jobs ordered at or after this are not all in memory (dueMs Infinity: every open job is). Before the first load, none is. */
  horizon: WheelKey = { dueMs: -Infinity, position: -Infinity };
  /** Jobs closed that a later selection from the wheel could still meet. */
  readonly closedAhead: ClosedAhead;

  constructor(
    private readonly inMemoryMax: number,
    private readonly wheel: ScheduleWheel,
    private readonly journal: ScheduleJournal,
    private readonly clock: Clock,
    private readonly counters: { loaded: number; evicted: number },
  ) {
    this.closedAhead = new ClosedAhead(inMemoryMax);
  }

  /** A job opened (its ADD at `ref`): kept in memory when it is ordered before the horizon. */
  opened(job: ScheduledJob, ref: WheelKey): void {
    if (compareWheelKeys(ref, this.horizon) >= 0) return;
    this.memory.remember(job, job.dueMs, ref.position);
    if (this.memory.size > this.inMemoryMax) this.evict();
  }

  /** A job closed by the DONE at `donePosition`: forgotten; answers the entry memory had for it. */
  closed(key: JobKey, donePosition: number): MemoryJob | undefined {
    const entry = this.memory.get(key);
    // A selection from the wheel may meet this job again unless it is below the horizon for good
    // (schedule-closed-ahead.ts). Its position is known only in memory.
    const ahead = entry === undefined ? key.dueMs >= this.horizon.dueMs : compareWheelKeys({ dueMs: key.dueMs, position: entry.position }, this.horizon) >= 0;
    if (ahead || key.dueMs > this.clock.nowMs()) this.closedAhead.add(key, donePosition);
    this.memory.forget(key);
    return entry;
  }

  /** After a compaction (positions changed): its horizon, and nothing closed ahead (the journal holds open jobs only). */
  compacted(horizon: WheelKey): void {
    this.horizon = horizon;
    this.closedAhead.clear();
  }

  /** Which jobs the wheel names are open, for a query: below the horizon, those in memory (true or false); at or after it, undefined (the journal says). */
  openRefTest(): (ref: WheelKey) => boolean | undefined {
    const inMemory = this.memory.positions();
    const horizon = this.horizon;
    return (ref) => (compareWheelKeys(ref, horizon) < 0 ? inMemory.has(ref.position) : undefined);
  }

  /** When memory runs low, loads the next earliest jobs from the wheel. */
  refillIfLow(): void {
    if (this.horizon.dueMs === Infinity || this.memory.size > this.inMemoryMax / 4) return;
    this.load();
  }

  /**
   * Moves the earliest open jobs at or after the horizon into memory, up to three quarters of
   * the window, and sets the horizon to the first one left on disk. The wheel names them; each
   * is read from the journal, skipping jobs closed since it was filed.
   */
  load(): void {
    // Jobs added in an open batch are in the wheel already: their records must be on disk to be read.
    this.journal.writeBatched();
    const { refs, next } = this.wheel.select(this.horizon, this.loadRoom());
    const positions = refs.map((ref) => ref.position).sort((a, b) => a - b);
    this.journal.readRecordsAt(positions, (record) => {
      if (this.closedAhead.closes(record, record.position)) return;
      if (this.memory.get(record)?.position === record.position) return;
      this.memory.remember(jobOfRecord(record), record.dueMs, record.position);
      this.counters.loaded += 1;
    });
    this.horizon = next ?? unbounded;
    this.closedAhead.prune(this.horizon.dueMs, this.clock.nowMs());
  }

  /** Drops the latest quarter of memory (it is all on disk, none of it due) and lowers the horizon to them. */
  private evict(): void {
    const entries = this.memory.notDueLatestFirst(this.clock.nowMs());
    const target = Math.floor((this.inMemoryMax * 3) / 4);
    for (let index = 0; this.memory.size > target && index < entries.length; index++) {
      const entry = entries[index]!;
      this.memory.forget(entry.job);
      this.counters.evicted += 1;
      if (compareWheelKeys(wheelKeyOf(entry), this.horizon) < 0) this.horizon = wheelKeyOf(entry);
    }
  }

  /**
   * Room to load into: up to three quarters of the window, so a refill (run when a quarter or
   * less is left) loads at least half a window per pass over the journal, and a quarter stays
   * free for earlier jobs scheduled meanwhile before anything is evicted.
   */
  private loadRoom(): number {
    return Math.max(1, Math.floor((this.inMemoryMax * 3) / 4) - this.memory.size);
  }
}
