/**
 * The scheduler's job keys and the map key made of them (scheduler.ts; the opening scan folds
 * keys without strings, schedule-open-jobs.ts). The order of jobs, (dueMs, journal position), is
 * the wheel's (schedule-wheel.ts).
 */

export interface JobKey {
  readonly id: string;
  readonly dueMs: number;
}

/** An open job: where its ADD is, not its payload. */
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
