/**
 * The scheduler's due index on disk (an on-disk timing wheel): where each job's ADD record is in
 * the journal (schedule-journal.ts), filed by due time, so loading the next due jobs into memory
 * reads a few refs of the next time slices, never the whole journal.
 *
 * Layout: `<schedule dir>/wheel/<slice start ms, 20 digits>`, one file per `scheduleWheelSliceMs`
 * of due time that has jobs, each a sequence of 8-byte refs: one little-endian f64 holding
 * (dueMs - slice start) * 2^38 + the ADD's position in the journal — an exact integer below
 * 2^53, so refs order by (dueMs, position) as plain numbers, and a native sort orders them.
 *
 * Each file is a sorted run followed by a tail in the order jobs were added. A selection
 * binary-searches the run for its start and reads on from there, and reads the tail whole; once
 * a tail passes `wheelTailRefsMax` the file is sorted again (read, sorted, written to a
 * temporary file and renamed: 8 bytes per ref of that one slice in memory while it runs).
 *
 * Derived data: the journal stays the one truth of which jobs are open. The wheel is rebuilt
 * from the journal's open jobs when the scheduler opens and after every compaction (positions
 * change then), so it is never fsync'ed and a crash cannot leave it wrong. Between rebuilds it
 * only grows: a ref may name a job closed since (the scheduler tells those apart).
 */

import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import { scheduleWheelSliceMs } from "../common/limits.ts";
import { offsetFileName } from "./file-names.ts";

const refBytes = 8;
/** The journal positions a ref can hold: 2^38 bytes (256 GiB). */
const positionLimit = 2 ** 38;
/** Refs added to a slice after its last sort, read whole by every selection from it, before it is sorted again. */
const wheelTailRefsMax = 4_096;
/** Refs buffered before they are written to their slice files. */
const pendingRefsMax = 4_096;

if (scheduleWheelSliceMs * positionLimit > Number.MAX_SAFE_INTEGER) throw new Error("Limits are inconsistent: a wheel ref must fit in a safe integer");

/** A job's place in the order (dueMs, then the position of its ADD in the journal). */
export interface WheelKey {
  readonly dueMs: number;
  readonly position: number;
}

export interface WheelSelection {
  /** The earliest refs at or after `from`, at most `count`, in order. */
  readonly refs: WheelKey[];
  /** The first ref after them; undefined when the wheel holds nothing more. */
  readonly next: WheelKey | undefined;
}

export function compareWheelKeys(a: WheelKey, b: WheelKey): number {
  if (a.dueMs !== b.dueMs) return a.dueMs < b.dueMs ? -1 : 1;
  return a.position < b.position ? -1 : a.position > b.position ? 1 : 0;
}

interface Slice {
  /** Refs in the file. */
  refs: number;
  /** The first `sorted` of them are in order. */
  sorted: number;
}

export class ScheduleWheel {
  private readonly slices = new Map<number, Slice>();
  private sortedStarts: number[] | undefined;
  private pending: number[] = [];

  constructor(private readonly dir: string) {
    this.clear();
  }

  /** Refs in the wheel (written and buffered): it grows until the next rebuild. */
  get refs(): number {
    let total = this.pending.length / 2;
    for (const slice of this.slices.values()) total += slice.refs;
    return total;
  }

  /** Files `ref` into its slice (buffered; written before the next selection). */
  add(ref: WheelKey): void {
    if (ref.position >= positionLimit) throw new MqError("INTERNAL", { reason: `the schedule journal passed ${positionLimit} bytes, the most its wheel can address` });
    this.pending.push(ref.dueMs, ref.position);
    if (this.pending.length >= 2 * pendingRefsMax) this.flush();
  }

  /** Replaces the whole wheel with `refs` (the open jobs, after an open or a compaction). */
  rebuild(refs: Iterable<WheelKey>): void {
    this.rebuildWith((take) => {
      for (const ref of refs) take(ref.dueMs, ref.position);
    });
  }

  /**
   * The same, from `forEach`, which hands every ref to `take` (and is called twice: to count each
   * slice's refs, then to fill them). Each slice is written sorted, in one write.
   */
  rebuildWith(forEach: (take: (dueMs: number, position: number) => void) => void): void {
    this.clear();
    const counts = new Map<number, number>();
    forEach((dueMs, position) => {
      if (position >= positionLimit) throw new MqError("INTERNAL", { reason: `the schedule journal passed ${positionLimit} bytes, the most its wheel can address` });
      const start = sliceStart(dueMs);
      counts.set(start, (counts.get(start) ?? 0) + 1);
    });
    const filled = new Map<number, { refs: Float64Array; next: number }>();
    for (const [start, count] of counts) filled.set(start, { refs: new Float64Array(count), next: 0 });
    forEach((dueMs, position) => {
      const start = sliceStart(dueMs);
      const slice = filled.get(start)!;
      slice.refs[slice.next++] = pack(start, dueMs, position);
    });
    for (const [start, { refs }] of filled) {
      refs.sort();
      writeFileSync(this.path(start), new Uint8Array(refs.buffer, refs.byteOffset, refs.byteLength));
      this.slices.set(start, { refs: refs.length, sorted: refs.length });
    }
    this.sortedStarts = undefined;
  }

  /** The `count` earliest refs at or after `from`, in order, and the one after them. */
  select(from: WheelKey, count: number): WheelSelection {
    this.flush();
    const refs: WheelKey[] = [];
    for (const start of this.starts()) {
      if (start + scheduleWheelSliceMs <= from.dueMs) continue;
      const found = this.selectInSlice(start, from, count - refs.length);
      refs.push(...found.refs);
      if (found.next !== undefined) return { refs, next: found.next };
    }
    return { refs, next: undefined };
  }

  /** Writes the buffered refs to their slice files. */
  flush(): void {
    if (this.pending.length === 0) return;
    const bySlice = new Map<number, number[]>();
    const pending = this.pending;
    this.pending = [];
    for (let index = 0; index < pending.length; index += 2) {
      const start = sliceStart(pending[index]!);
      let packed = bySlice.get(start);
      if (packed === undefined) bySlice.set(start, (packed = []));
      packed.push(pack(start, pending[index]!, pending[index + 1]!));
    }
    for (const [start, packed] of bySlice) {
      appendFileSync(this.path(start), new Uint8Array(Float64Array.from(packed).buffer));
      let slice = this.slices.get(start);
      if (slice === undefined) {
        this.slices.set(start, (slice = { refs: 0, sorted: 0 }));
        this.sortedStarts = undefined;
      }
      slice.refs += packed.length;
    }
  }

  private clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.slices.clear();
    this.sortedStarts = undefined;
    this.pending = [];
  }

  private path(start: number): string {
    return join(this.dir, offsetFileName(start));
  }

  private starts(): number[] {
    this.sortedStarts ??= [...this.slices.keys()].sort((a, b) => a - b);
    return this.sortedStarts;
  }

  /**
   * One slice's `count` earliest refs at or after `from`: the next `count + 1` of its sorted run
   * (found by binary search) merged with its tail.
   */
  private selectInSlice(start: number, from: WheelKey, count: number): WheelSelection {
    const slice = this.slices.get(start)!;
    if (slice.refs - slice.sorted > wheelTailRefsMax) this.sort(start, slice);
    const fromPacked = from.dueMs < start ? -1 : pack(start, from.dueMs, from.position);
    const fd = openSync(this.path(start), "r");
    let found: Float64Array;
    try {
      const first = lowerBound(fd, slice.sorted, fromPacked);
      const run = readRefs(fd, first, Math.min(count + 1, slice.sorted - first));
      const tail = readRefs(fd, slice.sorted, slice.refs - slice.sorted).filter((packed) => packed >= fromPacked);
      found = new Float64Array(run.length + tail.length);
      found.set(run, 0);
      found.set(tail, run.length);
      found.sort();
    } finally {
      closeSync(fd);
    }
    const refs: WheelKey[] = [];
    for (let index = 0; index < Math.min(count, found.length); index++) refs.push(unpack(start, found[index]!));
    return { refs, next: found.length > count ? unpack(start, found[count]!) : undefined };
  }

  /** Sorts a slice's file whole: written to a temporary file and renamed over it. */
  private sort(start: number, slice: Slice): void {
    const fd = openSync(this.path(start), "r");
    let refs: Float64Array;
    try {
      refs = readRefs(fd, 0, slice.refs).sort();
    } finally {
      closeSync(fd);
    }
    const temporary = `${this.path(start)}.sorting`;
    writeFileSync(temporary, new Uint8Array(refs.buffer, refs.byteOffset, refs.byteLength));
    renameSync(temporary, this.path(start));
    slice.sorted = slice.refs;
  }
}

function sliceStart(dueMs: number): number {
  return Math.floor(dueMs / scheduleWheelSliceMs) * scheduleWheelSliceMs;
}

function pack(start: number, dueMs: number, position: number): number {
  return (dueMs - start) * positionLimit + position;
}

function unpack(start: number, packed: number): WheelKey {
  const offsetMs = Math.floor(packed / positionLimit);
  return { dueMs: start + offsetMs, position: packed - offsetMs * positionLimit };
}

/** `count` refs from ref index `first` of the file. */
function readRefs(fd: number, first: number, count: number): Float64Array {
  const refs = new Float64Array(Math.max(0, count));
  const bytes = new Uint8Array(refs.buffer);
  let done = 0;
  while (done < bytes.length) {
    const read = readSync(fd, bytes, done, bytes.length - done, first * refBytes + done);
    if (read <= 0) throw new MqError("STORE_IO", { operation: "read", path: `schedule wheel file (fd ${fd}, ${fstatSync(fd).size} bytes)`, reason: `ended at byte ${first * refBytes + done}` });
    done += read;
  }
  return refs;
}

/** The index of the first ref of the sorted run [0, sorted) that is at least `packed` (binary search, one 8-byte read a step). */
function lowerBound(fd: number, sorted: number, packed: number): number {
  const probe = new Float64Array(1);
  const bytes = new Uint8Array(probe.buffer);
  let low = 0;
  let high = sorted;
  while (low < high) {
    const middle = (low + high) >>> 1;
    readSync(fd, bytes, 0, refBytes, middle * refBytes);
    if (probe[0]! < packed) low = middle + 1;
    else high = middle;
  }
  return low;
}
