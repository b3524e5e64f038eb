/**
 * The memory of the dedup window: which ids were stored recently, at about 5–7 bytes an id, so
 * that 10,000,000 ids fit in 64 MiB. Strings, or even 8-byte hashes with offsets in a Map, would
 * cost ten times that, so an id is kept only as a 32-bit fingerprint:
 *
 *   generations   one per time slice (`sliceMs`, a quarter of the longest window), oldest
 *                 first; a generation is dropped whole once its newest id is older than the
 *                 window, so expiry costs nothing per id (and at most one slice is held past it)
 *   table         per generation, an open-addressed Uint32Array (linear probing, 0 = empty)
 *                 holding the id's 32-bit fingerprint (never 0), grown by a quarter whenever it
 *                 passes 4/5 full — so it is always 64–80 % full: 5.0–6.25 bytes an id. The slot
 *                 is a mix of the fingerprint itself (scaled to the table's length), so a table
 *                 can grow without the ids. With 10 M ids held, a new id shares a fingerprint
 *                 with one of them about once in 430
 *
 * A fingerprint says "maybe": the caller confirms a hit by reading the stored record (through the
 * index), which also yields what a duplicate is answered with. A false positive therefore costs
 * a lookup, never a dropped message, and nothing here needs to be exact about time either: the
 * record's store time decides whether it is still inside its topic's window.
 *
 * A generation's table never passes `dedupGenerationSlotsMax` slots: a burst that would grow it
 * further starts the next generation early, so no single allocation grows without bound.
 */

import { assert } from "../common/assert.ts";
import { fmix32 } from "../common/hash.ts";
import { dedupGenerationSlotsMax, dedupGenerationSlotsMin, dedupGenerationsPerWindow } from "../common/limits.ts";

interface Generation {
  readonly startMs: number;
  /** The newest store time among its ids: the generation expires after it. */
  newestMs: number;
  table: Uint32Array;
  count: number;
}

/** Grow (or start a new generation) past this fill ratio: probes stay short (a miss reads ~13 slots, one or two cache lines). */
const loadFactorMax = 0.8;
/** Growth step: small, so a table is never much emptier than loadFactorMax (the memory budget). */
const growthFactor = 1.25;
/** A new generation is made for the last one's ids at this fill: the same traffic again ends it below loadFactorMax. */
const presizeLoadFactor = 0.72;

export class DedupWindow {
  private generations: Generation[] = [];
  private sliceMs: number;

  /**
   * `windowMs`: the longest window of any topic; ids older than it are forgotten. `slotsMax`: the
   * largest table (tests shrink it, so a burst starts a generation within a few ids).
   */
  constructor(
    private windowMs: number,
    private readonly slotsMax = dedupGenerationSlotsMax,
  ) {
    this.sliceMs = sliceOf(windowMs);
  }

  /** Changes the longest window (a topic's window was set); generations already made keep their span. */
  resize(windowMs: number): void {
    this.windowMs = windowMs;
    this.sliceMs = sliceOf(windowMs);
  }

  /**
   * True when an id with this fingerprint (a 32-bit hash) may have been added to a generation
   * still held. Time is the caller's to check (on the record a hit names): asking the clock
   * here would cost every send a call for what expiry in `add` mostly settles.
   */
  mayContain(fingerprintHash: number): boolean {
    const fingerprint = nonZero(fingerprintHash);
    const generations = this.generations;
    for (let index = generations.length - 1; index >= 0; index--) {
      const table = generations[index]!.table;
      if (table[probe(table, fingerprint)] === fingerprint) return true;
    }
    return false;
  }

  /** Remembers an id stored at `storedMs`, and forgets generations older than the window before `nowMs`. */
  add(fingerprintHash: number, storedMs: number, nowMs: number): void {
    this.expire(nowMs - this.windowMs);
    const fingerprint = nonZero(fingerprintHash);
    let current = this.generations[this.generations.length - 1];
    if (current === undefined || storedMs >= current.startMs + this.sliceMs || (current.count + 1 > current.table.length * loadFactorMax && current.table.length >= this.slotsMax)) {
      // Traffic changes slowly: a table sized for the last slice's ids rarely grows (growing rehashes every id).
      const slots = current === undefined ? dedupGenerationSlotsMin : Math.min(this.slotsMax, Math.max(dedupGenerationSlotsMin, Math.ceil(current.count / presizeLoadFactor)));
      current = { startMs: storedMs, newestMs: storedMs, table: new Uint32Array(slots), count: 0 };
      this.generations.push(current);
    }
    if (current.count + 1 > current.table.length * loadFactorMax) current.table = grown(current.table, Math.min(this.slotsMax, Math.ceil((current.table.length * growthFactor) / 64) * 64));
    const slot = probe(current.table, fingerprint);
    if (current.table[slot] !== fingerprint) {
      current.table[slot] = fingerprint;
      current.count += 1;
    }
    if (storedMs > current.newestMs) current.newestMs = storedMs;
  }

  /** Drops the generations whose every id was stored before `beforeMs`. */
  expire(beforeMs: number): void {
    let drop = 0;
    while (drop < this.generations.length && this.generations[drop]!.newestMs < beforeMs) drop += 1;
    if (drop > 0) this.generations = this.generations.slice(drop);
  }

  /**
   * Takes the generations of `older`, a window filled with ids stored before any of this one's
   * (the rebuild at start, while live appends filled this one), as its oldest: expiry keeps
   * dropping from the front, in time order.
   */
  placeBehind(older: DedupWindow): void {
    this.generations = [...older.generations, ...this.generations];
    older.generations = [];
  }

  clear(): void {
    this.generations = [];
  }

  /** Ids held (an id added twice to one generation counts once). */
  get size(): number {
    let size = 0;
    for (const generation of this.generations) size += generation.count;
    return size;
  }

  /** The bytes of every table. */
  get bytes(): number {
    let bytes = 0;
    for (const generation of this.generations) bytes += generation.table.byteLength;
    return bytes;
  }

  get generationCount(): number {
    return this.generations.length;
  }
}

function sliceOf(windowMs: number): number {
  assert(Number.isSafeInteger(windowMs) && windowMs > 0, `a dedup window is a positive number of ms, got ${windowMs}`);
  return Math.max(1, Math.ceil(windowMs / dedupGenerationsPerWindow));
}

function nonZero(hash: number): number {
  return hash >>> 0 === 0 ? 1 : hash >>> 0;
}

/**
 * The slot holding `fingerprint`, or the empty slot where it would go. A table is at most 3/4
 * full, so an empty slot always ends the probe.
 */
function probe(table: Uint32Array, fingerprint: number): number {
  const length = table.length;
  // The fingerprint's bits mixed again so nearby values spread, scaled to [0, length): no power-of-two length needed.
  let slot = Math.floor((fmix32(fingerprint) * length) / 4_294_967_296);
  for (;;) {
    const held = table[slot]!;
    if (held === 0 || held === fingerprint) return slot;
    slot += 1;
    if (slot === length) slot = 0;
  }
}

/** The table at `length` slots, every fingerprint placed again from itself. */
function grown(table: Uint32Array, length: number): Uint32Array {
  const next = new Uint32Array(length);
  for (let index = 0; index < table.length; index++) {
    const fingerprint = table[index]!;
    if (fingerprint !== 0) next[probe(next, fingerprint)] = fingerprint;
  }
  return next;
}
