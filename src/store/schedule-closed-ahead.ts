/**
 * Jobs closed while a later selection from the scheduler's wheel (schedule-wheel.ts) could still
 * meet them. The wheel only grows between rebuilds, so it keeps naming a job after its DONE; the
 * journal is not read to tell, this small map is: key (dueMs|id) → the position of the DONE
 * (an ADD of the same key written after it is open again).
 *
 * What must be remembered. A selection starts at the horizon (scheduler.ts). The horizon moves
 * forward at each load and back only by eviction, to a job due later than the clock's now. So a
 * job closed at or after the horizon, or due later than now, may be met again; one below the
 * horizon and due by now never can, and is forgotten at the next prune. Bounded: past the
 * scheduler's window it asks for a compaction, which rebuilds the wheel and clears the map.
 */

import { keyOf, type JobKey } from "./schedule-keys.ts";

export class ClosedAhead {
  private readonly closed = new Map<string, number>();

  constructor(private readonly sizeMax: number) {}

  get size(): number {
    return this.closed.size;
  }

  /** True when the map has outgrown its bound: the scheduler should compact. */
  get overfull(): boolean {
    return this.closed.size > this.sizeMax;
  }

  add(key: JobKey, donePosition: number): void {
    this.closed.set(keyOf(key), donePosition);
  }

  /** Whether the ADD of `key` at `position` was closed after it was written. */
  closes(key: JobKey, position: number): boolean {
    if (this.closed.size === 0) return false;
    const donePosition = this.closed.get(keyOf(key));
    return donePosition !== undefined && donePosition > position;
  }

  /** Forgets every job due before `horizonDueMs` and by `nowMs`. */
  prune(horizonDueMs: number, nowMs: number): void {
    for (const key of this.closed.keys()) {
      const dueMs = Number(key.slice(0, key.indexOf("|")));
      if (dueMs < horizonDueMs && dueMs <= nowMs) this.closed.delete(key);
    }
  }

  clear(): void {
    this.closed.clear();
  }
}
