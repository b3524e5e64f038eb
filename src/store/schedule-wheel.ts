/**
 * The scheduler's due index on disk (an on-disk timing wheel): where each job's ADD record is in
 * the journal (schedule-journal.ts), filed by due time, so loading the next due jobs into memory
 * reads the next time slices only, never the whole journal.
 *
 * Layout: `<schedule dir>/wheel/<slice start ms, 20 digits>`, one file per `scheduleWheelSliceMs`
 * of due time that has jobs, each a sequence of 20-byte refs, little-endian:
 *
 *     0   8  dueMs (f64, an integer)
 *     8   8  position of the job's ADD record in the journal (f64, an integer)
 *    16   4  length of that record
 *
 * Derived data: the journal stays the one truth of which jobs are open. The wheel is rebuilt
 * from the journal's open jobs when the scheduler opens and after every compaction (positions
 * change then), so it is never fsync'ed and a crash cannot leave it wrong. Between rebuilds it
 * only grows: a ref may point at a job closed since (the scheduler tells closed ones apart).
 *
 * Order: by (dueMs, position). A selection reads the slices from the one holding `from` on,
 * in fixed-size chunks, keeping at most about twice the number of refs asked for: its memory is
 * bounded by the window, whatever one slice holds (a hot second of a million jobs is one slice).
 */

import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from "node:fs";
import { join } from "node:path";
import { scheduleWheelSliceMs } from "../common/limits.ts";
import { offsetFileName, parseOffsetFileName } from "./file-names.ts";

export const wheelRefBytes = 20;
/** Refs read per read() of a slice file. */
const chunkRefs = 52_428;
/** Refs buffered before they are written to their slice files. */
const pendingRefsMax = 4_096;

/** A job's place in the order and in the journal. */
export interface WheelRef {
  readonly dueMs: number;
  readonly position: number;
  readonly length: number;
}

export interface WheelKey {
  readonly dueMs: number;
  readonly position: number;
}

export interface WheelSelection {
  /** The earliest refs at or after `from`, at most `count`, in no particular order. */
  readonly refs: WheelRef[];
  /** The first ref after them; undefined when the wheel holds nothing more. */
  readonly next: WheelKey | undefined;
}

export function compareWheelKeys(a: WheelKey, b: WheelKey): number {
  if (a.dueMs !== b.dueMs) return a.dueMs < b.dueMs ? -1 : 1;
  return a.position < b.position ? -1 : a.position > b.position ? 1 : 0;
}

export class ScheduleWheel {
  /** Slice start → refs written to its file. */
  private readonly slices = new Map<number, number>();
  private sortedStarts: number[] | undefined;
  private pending: number[] = [];

  constructor(private readonly dir: string) {
    this.clear();
  }

  /** Refs in the wheel (written and buffered): it grows until the next rebuild. */
  get refs(): number {
    let total = this.pending.length / 3;
    for (const count of this.slices.values()) total += count;
    return total;
  }

  /** Files the next selection for `ref` into its slice (buffered; written before the next read). */
  add(ref: WheelRef): void {
    this.pending.push(ref.dueMs, ref.position, ref.length);
    if (this.pending.length >= 3 * pendingRefsMax) this.flush();
  }

  /** Replaces the whole wheel with `refs` (the open jobs, after an open or a compaction). */
  rebuild(refs: Iterable<WheelRef>): void {
    this.clear();
    for (const ref of refs) this.add(ref);
    this.flush();
  }

  /**
   * The `count` earliest refs at or after `from` in (dueMs, position) order, and the one after
   * them. Slices wholly before `from` are not read.
   */
  select(from: WheelKey, count: number): WheelSelection {
    this.flush();
    const refs: WheelRef[] = [];
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
    for (let index = 0; index < pending.length; index += 3) {
      const start = sliceStart(pending[index]!);
      let list = bySlice.get(start);
      if (list === undefined) bySlice.set(start, (list = []));
      list.push(pending[index]!, pending[index + 1]!, pending[index + 2]!);
    }
    for (const [start, list] of bySlice) {
      const bytes = new Uint8Array((list.length / 3) * wheelRefBytes);
      const view = new DataView(bytes.buffer);
      for (let index = 0, offset = 0; index < list.length; index += 3, offset += wheelRefBytes) {
        view.setFloat64(offset, list[index]!, true);
        view.setFloat64(offset + 8, list[index + 1]!, true);
        view.setUint32(offset + 16, list[index + 2]!, true);
      }
      appendFileSync(join(this.dir, offsetFileName(start)), bytes);
      if (!this.slices.has(start)) this.sortedStarts = undefined;
      this.slices.set(start, (this.slices.get(start) ?? 0) + list.length / 3);
    }
  }

  private clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.slices.clear();
    this.sortedStarts = undefined;
    this.pending = [];
  }

  private starts(): number[] {
    this.sortedStarts ??= [...this.slices.keys()].sort((a, b) => a - b);
    return this.sortedStarts;
  }

  /**
   * One slice's `count` earliest refs at or after `from`, read in chunks. Candidates are kept in
   * file order; whenever they fill twice `count` (plus slack), the latest are cut and every ref
   * at or after the first one cut is skipped from then on, so memory stays bounded.
   */
  private selectInSlice(start: number, from: WheelKey, count: number): WheelSelection {
    const candidates = new Candidates(2 * count + 1_024);
    const fd = openSync(join(this.dir, offsetFileName(start)), "r");
    try {
      const buffer = new Uint8Array(chunkRefs * wheelRefBytes);
      const view = new DataView(buffer.buffer);
      for (let filePosition = 0; ; ) {
        const read = readSync(fd, buffer, 0, buffer.length, filePosition);
        const whole = read - (read % wheelRefBytes);
        if (whole <= 0) break;
        filePosition += whole;
        for (let offset = 0; offset < whole; offset += wheelRefBytes) {
          const dueMs = view.getFloat64(offset, true);
          const position = view.getFloat64(offset + 8, true);
          if (dueMs < from.dueMs || (dueMs === from.dueMs && position < from.position)) continue;
          if (!candidates.before(dueMs, position)) continue;
          candidates.push(dueMs, position, view.getUint32(offset + 16, true));
          if (candidates.full) candidates.cut(count + 1);
        }
      }
    } finally {
      closeSync(fd);
    }
    return candidates.earliest(count);
  }
}

/** Candidate refs of a selection in parallel typed arrays, with the cut every later ref is compared to. */
class Candidates {
  private readonly dueMs: Float64Array;
  private readonly position: Float64Array;
  private readonly length: Uint32Array;
  private size = 0;
  /** Refs at or after this key were cut (or never taken): none of them is among the earliest. */
  private cutDueMs = Infinity;
  private cutPosition = Infinity;

  constructor(private readonly capacity: number) {
    this.dueMs = new Float64Array(capacity);
    this.position = new Float64Array(capacity);
    this.length = new Uint32Array(capacity);
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  before(dueMs: number, position: number): boolean {
    return dueMs < this.cutDueMs || (dueMs === this.cutDueMs && position < this.cutPosition);
  }

  push(dueMs: number, position: number, length: number): void {
    this.dueMs[this.size] = dueMs;
    this.position[this.size] = position;
    this.length[this.size] = length;
    this.size += 1;
  }

  /**
   * Keeps the `keep` earliest (by dueMs, then position: native sorts of copies, no comparator)
   * and moves the cut down to the earliest one dropped.
   */
  cut(keep: number): void {
    if (this.size <= keep) return;
    const sortedDue = this.dueMs.slice(0, this.size).sort();
    const lastDue = sortedDue[keep - 1]!;
    let less = 0;
    while (sortedDue[less]! < lastDue) less += 1;
    // Of the refs due at lastDue, the (keep - less) with the lowest positions stay.
    const tiePositions: number[] = [];
    for (let index = 0; index < this.size; index++) if (this.dueMs[index] === lastDue) tiePositions.push(this.position[index]!);
    const sortedTies = Float64Array.from(tiePositions).sort();
    const lastPosition = sortedTies[keep - less - 1]!;
    let kept = 0;
    for (let index = 0; index < this.size; index++) {
      const dueMs = this.dueMs[index]!;
      const position = this.position[index]!;
      if (dueMs < lastDue || (dueMs === lastDue && position <= lastPosition)) {
        this.dueMs[kept] = dueMs;
        this.position[kept] = position;
        this.length[kept] = this.length[index]!;
        kept += 1;
      } else if (dueMs < this.cutDueMs || (dueMs === this.cutDueMs && position < this.cutPosition)) {
        this.cutDueMs = dueMs;
        this.cutPosition = position;
      }
    }
    this.size = kept;
  }

  /** The `count` earliest and the next one (the earliest left: kept or cut). */
  earliest(count: number): WheelSelection {
    this.cut(count + 1);
    let next: WheelKey | undefined = this.cutDueMs === Infinity ? undefined : { dueMs: this.cutDueMs, position: this.cutPosition };
    let nextIndex = -1;
    if (this.size > count) {
      // count + 1 kept: the latest of them is the next one.
      nextIndex = 0;
      for (let index = 1; index < this.size; index++) {
        if (this.dueMs[index]! > this.dueMs[nextIndex]! || (this.dueMs[index] === this.dueMs[nextIndex] && this.position[index]! > this.position[nextIndex]!)) nextIndex = index;
      }
      next = { dueMs: this.dueMs[nextIndex]!, position: this.position[nextIndex]! };
    }
    const refs: WheelRef[] = [];
    for (let index = 0; index < this.size; index++) {
      if (index !== nextIndex) refs.push({ dueMs: this.dueMs[index]!, position: this.position[index]!, length: this.length[index]! });
    }
    return { refs, next };
  }
}

function sliceStart(dueMs: number): number {
  return Math.floor(dueMs / scheduleWheelSliceMs) * scheduleWheelSliceMs;
}

/** The slice files in `dir` (for tests and diagnostics). */
export function wheelSliceFiles(dir: string): number[] {
  return readdirSync(dir).map(parseOffsetFileName).filter((start): start is number => start !== undefined);
}
