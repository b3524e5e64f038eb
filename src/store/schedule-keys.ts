/**
 * The scheduler's job keys and the small pure functions over them: the order of jobs (due time,
 * then id), the map key, the fold of journal records into the open jobs, and the bounded
 * selection of the earliest ones that fills the memory window (scheduler.ts).
 */

import type { JournalRecord } from "./schedule-journal.ts";

export interface JobKey {
  readonly id: string;
  readonly dueMs: number;
}

/** An open job found by a scan: where its ADD is, not its payload (scans stay small). */
export interface OpenRef {
  readonly kind: string;
  readonly id: string;
  readonly dueMs: number;
  readonly position: number;
  readonly length: number;
}


export function keyOf(key: JobKey): string {
  return `${key.dueMs}|${key.id}`;
}

/** The order of jobs: by dueMs, then id. */
export function compareKeys(a: JobKey, b: JobKey): number {
  if (a.dueMs !== b.dueMs) return a.dueMs < b.dueMs ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The `count` earliest of `refs` in order, and the first one after them: a bounded selection
 * (candidates cut back to `count` whenever they reach twice that), not a sort of everything —
 * a restart with a million open jobs loads the window without sorting the million.
 */
export function selectEarliest(refs: Iterable<OpenRef>, count: number): { earliest: OpenRef[]; next: OpenRef | undefined } {
  let candidates: OpenRef[] = []; // every ref seen that is ordered before `cut`
  let cut: OpenRef | undefined; // the first ref known not to be among the earliest
  for (const ref of refs) {
    if (cut !== undefined && compareKeys(ref, cut) >= 0) continue;
    candidates.push(ref);
    if (candidates.length <= 2 * count) continue;
    candidates.sort(compareKeys);
    cut = candidates[count]!;
    candidates = candidates.slice(0, count);
  }
  candidates.sort(compareKeys);
  if (candidates.length > count) return { earliest: candidates.slice(0, count), next: candidates[count] };
  return { earliest: candidates, next: cut };
}

/** The horizon when every open job is in memory. */
export const unbounded: JobKey = { id: "", dueMs: Infinity };

/** Folds one record into a map of open jobs due at or after `fromMs`. */
export function applyRecord(open: Map<string, OpenRef>, record: JournalRecord, fromMs: number): void {
  if (record.dueMs < fromMs) return;
  const key = keyOf(record);
  if (record.type === "add") open.set(key, { kind: record.kind, id: record.id, dueMs: record.dueMs, position: record.position, length: record.length });
  else open.delete(key);
}
