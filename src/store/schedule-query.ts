/**
 * Looking into the scheduler without changing it: the open jobs of one kind due in a time range
 * (counted per bucket and listed a page at a time), and the open job of a kind with a given id.
 *
 * Where the answer comes from. The journal (schedule-journal.ts) is the truth of which jobs are
 * open; memory holds only the earliest. A query reads one pass of the journal and keeps, per
 * open match, where its ADD is and its due time (not its payload), so its memory is bounded by
 * the matches, never by the whole journal; only the page's jobs are decoded in full. A filter
 * on the payload is applied during the pass to ADDs of the kind in range only.
 *
 * Order: by due time, then id. A page continues after the (dueMs, id) the previous one ended at.
 */

import type { JournalRecord, ScheduleJournal } from "./schedule-journal.ts";

export interface OpenJobRange<P> {
  readonly kind: string;
  /** Due at or after (inclusive). */
  readonly fromMs: number;
  /** Due before (exclusive). */
  readonly toMs: number;
  /** Only jobs whose payload this accepts. */
  readonly match?: (payload: P) => boolean;
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

export interface OpenJobRef {
  readonly id: string;
  readonly dueMs: number;
  readonly position: number;
  readonly length: number;
}

export interface OpenJobMatches {
  readonly total: number;
  /** Buckets that hold at least one job, earliest first. */
  readonly buckets: OpenJobBucket[];
  /** The page: at most `limit` jobs after `after`, earliest first. */
  readonly refs: OpenJobRef[];
}

const decoder = new TextDecoder();

/** One pass of the journal: the open jobs of the range that the filter accepts. */
export function findOpenJobs<P>(journal: ScheduleJournal, range: OpenJobRange<P>, page: OpenJobPage): OpenJobMatches {
  const open = new Map<string, OpenJobRef>();
  journal.scan((record) => {
    if (record.dueMs < range.fromMs || record.dueMs >= range.toMs) return;
    const key = `${record.dueMs}|${record.id}`;
    if (record.type === "done") {
      open.delete(key);
      return;
    }
    if (record.kind !== range.kind || !accepts(range, record)) return;
    open.set(key, { id: record.id, dueMs: record.dueMs, position: record.position, length: record.length });
  });
  const counts = new Map<number, number>();
  const candidates: OpenJobRef[] = [];
  for (const ref of open.values()) {
    const startMs = range.fromMs + Math.floor((ref.dueMs - range.fromMs) / page.bucketMs) * page.bucketMs;
    counts.set(startMs, (counts.get(startMs) ?? 0) + 1);
    if (page.after !== undefined && compareJobs(ref, page.after) <= 0) continue;
    candidates.push(ref);
    // Keep the candidate list near the page size: sort and cut when it doubles.
    if (candidates.length >= 2 * page.limit + 1024) keepEarliest(candidates, page.limit);
  }
  keepEarliest(candidates, page.limit);
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([startMs, count]) => ({ startMs, count }));
  return { total: open.size, buckets, refs: candidates };
}

/** The open job of `kind` with `id` (any due time), from one pass of the journal. */
export function findOpenJob(journal: ScheduleJournal, kind: string, id: string): OpenJobRef | undefined {
  const open = new Map<number, OpenJobRef>();
  journal.scan((record) => {
    if (record.id !== id) return;
    if (record.type === "done") open.delete(record.dueMs);
    else if (record.kind === kind) open.set(record.dueMs, { id, dueMs: record.dueMs, position: record.position, length: record.length });
  });
  let earliest: OpenJobRef | undefined;
  for (const ref of open.values()) if (earliest === undefined || ref.dueMs < earliest.dueMs) earliest = ref;
  return earliest;
}

export function compareJobs(a: { dueMs: number; id: string }, b: { dueMs: number; id: string }): number {
  if (a.dueMs !== b.dueMs) return a.dueMs - b.dueMs;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function keepEarliest(refs: OpenJobRef[], limit: number): void {
  refs.sort(compareJobs);
  refs.length = Math.min(refs.length, limit);
}

function accepts<P>(range: OpenJobRange<P>, record: JournalRecord): boolean {
  if (range.match === undefined) return true;
  return range.match(JSON.parse(decoder.decode(record.payload)) as P);
}
