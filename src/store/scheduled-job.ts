/**
 * What a scheduled job is, as the scheduler's users see it: its key and kind, the answers a
 * handler gives, the typed map of kinds a feature registers, and the scheduler's options. The
 * model (journal, bounded window, exactly-once rules) is described in scheduler.ts.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { JobKey } from "./schedule-keys.ts";
import type { OpenJobBucket } from "./schedule-query.ts";

export interface ScheduledJob<K extends string = string, P = unknown> extends JobKey {
  readonly kind: K;
  readonly payload: P;
  /**
   * A number the owner wants the lowest of over the open jobs (`Scheduler.lowestFloor`), kept in
   * the ADD's header so a restart knows it without reading payloads: scheduled delivery's is the
   * CommitLog offset of the timer record, which retention must keep.
   */
  readonly floor?: number;
  /** A label the scheduler counts open jobs by, per slice of due time (scheduled delivery's: the real topic); kept in the ADD's header. */
  readonly group?: string;
}

/** A job's key with its kind, when the caller knows it (per-kind counts stay exact). */
export interface KindedJobKey extends JobKey {
  readonly kind?: string;
  /** Its group, when it has one: the counts per group stay exact. */
  readonly group?: string;
}

export type JobOutcome = "done" | "held";

/** Told of every job handed to its handler: how late it fired (never negative). */
export type FireListener = (job: ScheduledJob, lateMs: number) => void;

export interface OpenJobsAnswer<J> {
  readonly total: number;
  readonly buckets: OpenJobBucket[];
  readonly jobs: J[];
}

/** Kind name → payload type: each feature adds its kinds to the map its scheduler is typed by. */
export type JobKindMap = Record<string, unknown>;

export type JobHandler<K extends string, P> = (job: ScheduledJob<K, P>) => JobOutcome;

export type AnyJob<M extends JobKindMap> = { [K in keyof M & string]: ScheduledJob<K, M[K]> }[keyof M & string];

export interface SchedulerOptions {
  /** The directory of the journal (`<dataDir>/schedule`). */
  readonly dir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly inMemoryMax?: number;
  readonly jobsMax?: number;
  readonly compactRecordsMin?: number;
  readonly jobsPerTurnMax?: number;
}
