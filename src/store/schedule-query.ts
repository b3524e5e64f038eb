/**
 * Looking into the scheduler without changing it: the open jobs of one kind (and group) due in a
 * time range, counted per bucket and listed a page at a time, and the open job of a kind with a
 * given id.
 *
 * Where the answer comes from. Counts come from the slice summaries (schedule-counts.ts): a
 * slice of due time that lies whole in the range and in one bucket adds its count without
 * reading a job; only a slice cut by the range's ends or by a bucket edge is walked. A page is
 * walked: the wheel (schedule-wheel.ts) names the jobs in due order from where the page starts,
 * their records are read in batches, and the walk stops once the page is full. So a listing of a
 * million pending jobs reads a page's worth of them, never the journal.
 *
 * What a walk counts as open. The wheel keeps naming jobs closed since its last rebuild; the
 * scheduler tells them apart (`QuerySource.openAt`): below its horizon a job is open while it is
 * in memory, at or after it while no DONE closed it. Jobs handed to their handler and held are
 * not listed (scheduled delivery's are being stored).
 *
 * Order: by due time, then id. A page continues after the (dueMs, id) the previous one ended at.
 */

import type { JobKey } from "./schedule-keys.ts";
import type { JournalRecord, ScheduleJournal } from "./schedule-journal.ts";
import { idHashes } from "./schedule-journal-records.ts";
import { scheduleWheelSliceMs } from "../common/limits.ts";
import type { SliceCounts } from "./schedule-counts.ts";
import type { ScheduleWheel, WheelKey } from "./schedule-wheel.ts";

export interface OpenJobRange {
  readonly kind: string;
  /** Due at or after (inclusive). */
  readonly fromMs: number;
  /** Due before (exclusive). */
  readonly toMs: number;
  /** Only jobs of this group (ScheduledJob.group). */
  readonly group?: string;
}

export interface OpenJobPage {
  /** Continue after this job (the last of the previous page). */
  readonly after?: { readonly dueMs: number; readonly id: string };
  readonly limit: number;
  /** Counts per bucket of this width, from `fromMs`. */
  readonly bucketMs: number;
}

export interface OpenJobBucket {
  readonly startMs: number;
  readonly count: number;
}

/** What a query reads: the scheduler's wheel, journal and summaries, and its rule of which named jobs are open. */
export interface QuerySource {
  readonly wheel: ScheduleWheel;
  readonly journal: ScheduleJournal;
  readonly counts: SliceCounts;
  /**
   * Whether the job the wheel names at `ref` is open: false or true when the ref tells, else
   * undefined — then `openAt` is asked with the job's key, once its record is read.
   */
  openRef(ref: WheelKey): boolean | undefined;
  openAt(key: JobKey, position: number): boolean;
}

/** Refs a walk takes from the wheel at a time (and records it reads together). */
const walkBatchRefs = 4_096;

/** The counts per bucket of the range's open jobs (buckets that hold none left out), earliest first. */
export function countOpenJobs(source: QuerySource, range: OpenJobRange, bucketMs: number): OpenJobBucket[] {
  const bucketOf = (ms: number) => range.fromMs + Math.floor((ms - range.fromMs) / bucketMs) * bucketMs;
  const counts = new Map<number, number>();
  const add = (bucket: number, count: number) => counts.set(bucket, (counts.get(bucket) ?? 0) + count);
  for (const [start, count] of source.counts.slices(range.kind, range.group)) {
    const end = start + scheduleWheelSliceMs;
    if (end <= range.fromMs || start >= range.toMs) continue;
    if (start >= range.fromMs && end <= range.toMs && bucketOf(start) === bucketOf(end - 1)) {
      add(bucketOf(start), count);
      continue;
    }
    // Cut by the range or a bucket edge: its jobs are counted one by one.
    const cut = { ...range, fromMs: Math.max(range.fromMs, start), toMs: Math.min(range.toMs, end) };
    walkOpenJobs(source, cut, { dueMs: cut.fromMs, position: -1 }, (job) => {
      add(bucketOf(job.dueMs), 1);
      return true;
    });
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count }));
}

/** One page of the range's open jobs in (dueMs, id) order, after `page.after`, at most `page.limit`; each made by `toJob` while its record is visited. */
export function pageOpenJobs<J>(source: QuerySource, range: OpenJobRange, page: OpenJobPage, toJob: (record: JournalRecord) => J): J[] {
  const after = page.after;
  const jobs: Array<{ readonly id: string; readonly job: J }> = [];
  // Jobs of one due time arrive by position: each due time is sorted by id once it is whole.
  let dueGroup: Array<{ readonly id: string; readonly job: J }> = [];
  let dueMs = Number.NaN;
  const flush = () => {
    dueGroup.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const entry of dueGroup) if (after === undefined || dueMs !== after.dueMs || entry.id > after.id) jobs.push(entry);
    dueGroup = [];
  };
  const fromMs = Math.max(range.fromMs, after?.dueMs ?? range.fromMs);
  walkOpenJobs(source, range, { dueMs: fromMs, position: -1 }, (record) => {
    if (record.dueMs !== dueMs) {
      flush();
      if (jobs.length >= page.limit) return false;
      dueMs = record.dueMs;
    }
    dueGroup.push({ id: record.id, job: toJob(record) });
    return true;
  });
  if (jobs.length < page.limit) flush();
  return jobs.slice(0, page.limit).map((entry) => entry.job);
}

/**
 * Visits the open jobs of the range (its kind and group) in (dueMs, position) order from `from`,
 * until `visit` answers false or the range ends.
 */
function walkOpenJobs(source: QuerySource, range: OpenJobRange, from: WheelKey, visit: (record: JournalRecord) => boolean): void {
  let cursor: WheelKey | undefined = from;
  while (cursor !== undefined && cursor.dueMs < range.toMs) {
    const { refs, next } = source.wheel.select(cursor, walkBatchRefs);
    const wanted: number[] = [];
    const known = new Map<number, boolean | undefined>();
    for (const ref of refs) {
      if (ref.dueMs >= range.toMs) break;
      const open = source.openRef(ref);
      known.set(ref.position, open);
      if (open !== false) wanted.push(ref.position);
    }
    const matches = new Map<number, JournalRecord>();
    wanted.sort((a, b) => a - b);
    source.journal.readRecordsAt(wanted, (record) => {
      if (record.type !== "add" || record.kind !== range.kind || (range.group !== undefined && record.group !== range.group)) return;
      if (known.get(record.position) === undefined && !source.openAt(record, record.position)) return;
      // The payload is a view into the read buffer: kept as a copy until visited below.
      matches.set(record.position, { ...record, payload: record.payload?.slice() });
    });
    for (const ref of refs) {
      if (ref.dueMs >= range.toMs) return;
      const record = matches.get(ref.position);
      if (record !== undefined && record.dueMs === ref.dueMs && !visit(record)) return;
    }
    cursor = next;
  }
}

/**
 * The open job of `kind` with `id` (any due time), from one pass over the journal's record keys:
 * records are told apart by the hashes of their ids, and only the candidate found is read whole.
 */
export function findOpenJob(journal: ScheduleJournal, kind: string, id: string): { readonly dueMs: number; readonly position: number; readonly length: number } | undefined {
  const { idHashA, idHashB } = idHashes(id);
  const open = new Map<number, { dueMs: number; position: number; length: number }>();
  journal.scanKeys((key) => {
    if (key.idHashA !== idHashA || key.idHashB !== idHashB) return;
    if (key.type === "done") open.delete(key.dueMs);
    else if (key.kind === kind) open.set(key.dueMs, { dueMs: key.dueMs, position: key.position, length: key.length });
  });
  let earliest: { dueMs: number; position: number; length: number } | undefined;
  for (const ref of open.values()) {
    if ((earliest === undefined || ref.dueMs < earliest.dueMs) && journal.readRecord(ref.position, ref.length).id === id) earliest = ref;
  }
  return earliest;
}
