/**
 * The scheduler's in-memory window (scheduler.ts says which jobs are in it): jobs by key, and a
 * deadline heap to find the next one due. Entries leave the heap lazily — a forgotten or
 * re-remembered entry is marked stale and skipped when it reaches the top — and the heap is
 * rebuilt before its stale nodes outnumber the live ones, so it stays within twice the window.
 */

import { DeadlineHeap } from "../common/deadline-heap.ts";
import { type JobKey, keyOf } from "./schedule-keys.ts";
import type { ScheduledJob } from "./scheduled-job.ts";
import { compareWheelKeys, type WheelKey } from "./schedule-wheel.ts";

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
  private readonly byKey = new Map<string, MemoryJob>();
  private readonly heap = new DeadlineHeap<HeapNode>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: JobKey): MemoryJob | undefined {
    return this.byKey.get(keyOf(key));
  }

  values(): IterableIterator<MemoryJob> {
    return this.byKey.values();
  }

  /** Keeps `job` (replacing an entry with its key), to fire at `fireAtMs`. */
  remember(job: ScheduledJob, fireAtMs: number, position: number): void {
    const entry: MemoryJob = { job, position, fireAtMs, live: true };
    const key = keyOf(job);
    const previous = this.byKey.get(key);
    if (previous !== undefined) previous.live = false;
    this.byKey.set(key, entry);
    this.heap.push({ deadlineMs: fireAtMs, entry });
    if (this.heap.size > 2 * this.byKey.size + staleNodesSlack) {
      this.heap.clear();
      for (const live of this.byKey.values()) this.heap.push({ deadlineMs: live.fireAtMs, entry: live });
    }
  }

  forget(key: JobKey): void {
    const mapKey = keyOf(key);
    const entry = this.byKey.get(mapKey);
    if (entry === undefined) return;
    entry.live = false;
    this.byKey.delete(mapKey);
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
    return [...this.byKey.values()].filter((entry) => entry.job.dueMs > nowMs).sort((a, b) => compareWheelKeys(wheelKeyOf(b), wheelKeyOf(a)));
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
