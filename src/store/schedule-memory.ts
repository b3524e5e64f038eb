/**
 * The scheduler's in-memory window (scheduler.ts says which jobs are in it): jobs by key, and a
 * deadline heap to find the next one due. Entries leave the heap lazily — a forgotten or
 * re-remembered entry is marked stale and skipped when it reaches the top — and the heap is
 * rebuilt before its stale nodes outnumber the live ones, so it stays within twice the window.
 */

import { DeadlineHeap } from "../common/deadline-heap.ts";
import type { JobKey } from "./schedule-keys.ts";
import type { ScheduledJob } from "./scheduled-job.ts";
import type { WheelKey } from "./schedule-wheel.ts";

export interface MemoryJob {
  readonly job: ScheduledJob;
  /** Where its ADD is in the journal (changes when the journal is compacted). */
  position: number;
  fireAtMs: number;
  live: boolean;
}

interface HeapNode {
  readonly deadlineMs: number;
  readonly entry: MemoryJob;
}

/** Stale heap nodes tolerated beyond the live ones before the heap is rebuilt. */
const staleNodesSlack = 1_024;

export class ScheduleMemory {
  /**
   * Entries by id, and by due time among the few that share an id: found without building a
   * "dueMs|id" string per lookup (a hot second makes millions of lookups).
   */
  private readonly byId = new Map<string, MemoryJob | MemoryJob[]>();
  private count = 0;
  private readonly heap = new DeadlineHeap<HeapNode>();

  get size(): number {
    return this.count;
  }

  get(key: JobKey): MemoryJob | undefined {
    const found = this.byId.get(key.id);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return found.job.dueMs === key.dueMs ? found : undefined;
    return found.find((entry) => entry.job.dueMs === key.dueMs);
  }

  *values(): IterableIterator<MemoryJob> {
    for (const found of this.byId.values()) {
      if (Array.isArray(found)) yield* found;
      else yield found;
    }
  }

  /** Where the entries' ADDs are in the journal. */
  positions(): Set<number> {
    const positions = new Set<number>();
    for (const entry of this.values()) positions.add(entry.position);
    return positions;
  }

  /** The earliest due time of an entry (Infinity: none). */
  earliestDueMs(): number {
    let earliestMs = Infinity;
    for (const entry of this.values()) if (entry.job.dueMs < earliestMs) earliestMs = entry.job.dueMs;
    return earliestMs;
  }

  /** Keeps `job` (replacing an entry with its key), to fire at `fireAtMs`. */
  remember(job: ScheduledJob, fireAtMs: number, position: number): void {
    const entry: MemoryJob = { job, position, fireAtMs, live: true };
    this.put(entry);
    this.heap.push({ deadlineMs: fireAtMs, entry });
    if (this.heap.size > 2 * this.count + staleNodesSlack) {
      this.heap.clear();
      for (const live of this.values()) this.heap.push({ deadlineMs: live.fireAtMs, entry: live });
    }
  }

  forget(key: JobKey): void {
    const found = this.byId.get(key.id);
    if (found === undefined) return;
    if (!Array.isArray(found)) {
      if (found.job.dueMs !== key.dueMs) return;
      found.live = false;
      this.byId.delete(key.id);
      this.count -= 1;
      return;
    }
    const index = found.findIndex((entry) => entry.job.dueMs === key.dueMs);
    if (index < 0) return;
    found[index]!.live = false;
    found.splice(index, 1);
    this.count -= 1;
    if (found.length === 1) this.byId.set(key.id, found[0]!);
  }

  private put(entry: MemoryJob): void {
    const { id, dueMs } = entry.job;
    const found = this.byId.get(id);
    if (found === undefined) {
      this.byId.set(id, entry);
      this.count += 1;
    } else if (!Array.isArray(found)) {
      if (found.job.dueMs === dueMs) {
        found.live = false;
        this.byId.set(id, entry);
      } else {
        this.byId.set(id, [found, entry]);
        this.count += 1;
      }
    } else {
      const index = found.findIndex((other) => other.job.dueMs === dueMs);
      if (index >= 0) {
        found[index]!.live = false;
        found[index] = entry;
      } else {
        found.push(entry);
        this.count += 1;
      }
    }
  }

  /** When the earliest entry is to fire (Infinity: none). */
  nextFireMs(): number {
    return this.liveTop()?.deadlineMs ?? Infinity;
  }

  /** The earliest entry if it is to fire by `nowMs`, taken off the heap (still remembered until forgotten). */
  takeDue(nowMs: number): MemoryJob | undefined {
    const top = this.liveTop();
    if (top === undefined || top.deadlineMs > nowMs) return undefined;
    this.heap.pop();
    return top.entry;
  }

  /** The entries due after `nowMs` (none of them can fire yet), latest first by (dueMs, position). */
  notDueLatestFirst(nowMs: number): MemoryJob[] {
    return [...this.values()].filter((entry) => entry.job.dueMs > nowMs).sort((a, b) => b.job.dueMs - a.job.dueMs || b.position - a.position);
  }

  private liveTop(): HeapNode | undefined {
    let top = this.heap.peek();
    while (top !== undefined && (!top.entry.live || top.entry.fireAtMs !== top.deadlineMs)) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }
}

export function wheelKeyOf(entry: MemoryJob): WheelKey {
  return { dueMs: entry.job.dueMs, position: entry.position };
}
