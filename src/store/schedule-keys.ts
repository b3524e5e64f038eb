/**
 * The scheduler's job keys and the small pure functions over them: the map key and the fold of
 * journal records into the open jobs (scheduler.ts). The order of jobs, (dueMs, journal
 * position), is the wheel's (schedule-wheel.ts).
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

/** Folds one record into a map of open jobs due at or after `fromMs`. */
export function applyRecord(open: Map<string, OpenRef>, record: JournalRecord, fromMs: number): void {
  if (record.dueMs < fromMs) return;
  const key = keyOf(record);
  if (record.type === "add") open.set(key, { kind: record.kind, id: record.id, dueMs: record.dueMs, position: record.position, length: record.length });
  else open.delete(key);
}
