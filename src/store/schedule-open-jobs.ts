/**
 * The open jobs of a journal, folded from its records' keys (schedule-journal-records.ts) into
 * typed arrays: what the scheduler's opening scan and compaction build instead of a map with a
 * string and an object per job. A million open jobs take about 50 MB here, for the time the fold
 * is needed, against several hundred in a map of keys to objects.
 *
 * Fold. An ADD opens its key (id, dueMs) — replacing an ADD of the same key open before it — and
 * a DONE closes it. Keys are found through an
 * open-addressing table over (dueMs, two 32-bit hashes of the id's bytes): ids are never decoded.
 * Two ids of one dueMs with both hashes equal would be taken for one job; with 64 bits of hash
 * that is about one chance in 10^10 for a million jobs due in one second — accepted, as a
 * msgId's own uniqueness is.
 *
 * Entries are kept in journal order, so the open ones come out by ascending position.
 */

import { idHashes, type RecordKey } from "./schedule-journal-records.ts";
import type { JobKey, OpenRef } from "./schedule-keys.ts";

const initialEntries = 1_024;

/** One open job as `forEach` visits it: an object reused for every job of the pass. */
export interface OpenJobHeader {
  readonly kind: string;
  readonly group: string | undefined;
  readonly dueMs: number;
  /** NaN: none. */
  readonly floor: number;
  readonly position: number;
  readonly length: number;
}
const emptySlot = -1;

export class OpenJobs {
  private capacity = initialEntries;
  private size = 0;
  private positions = new Float64Array(initialEntries);
  private dues = new Float64Array(initialEntries);
  private floors = new Float64Array(initialEntries);
  private lengths = new Uint32Array(initialEntries);
  private kindIndexes = new Uint32Array(initialEntries);
  /** Index into the names + 1; 0: no group. */
  private groupIndexes = new Uint32Array(initialEntries);
  private hashesA = new Uint32Array(initialEntries);
  private hashesB = new Uint32Array(initialEntries);
  private isOpen = new Uint8Array(initialEntries);
  private slots = new Int32Array(4 * initialEntries).fill(emptySlot);
  /** Kinds and groups, numbered as they are met. */
  private readonly names: string[] = [];
  private readonly indexByName = new Map<string, number>();
  private openCount = 0;

  /** Open jobs now. */
  get count(): number {
    return this.openCount;
  }

  /** Folds one record's key in. */
  apply(key: RecordKey): void {
    if (key.type === "add") this.add(key.kind, key.group, key.dueMs, key.idHashA, key.idHashB, key.floor, key.position, key.length);
    else this.close(key.dueMs, key.idHashA, key.idHashB);
  }

  /** A job opened after the scan (its ADD at `position`). */
  opened(ref: OpenRef & { readonly floor?: number; readonly group?: string }): void {
    const { idHashA, idHashB } = idHashes(ref.id);
    this.add(ref.kind, ref.group, ref.dueMs, idHashA, idHashB, ref.floor ?? Number.NaN, ref.position, ref.length);
  }

  /** A job closed after the scan. */
  closed(key: JobKey): void {
    const { idHashA, idHashB } = idHashes(key.id);
    this.close(key.dueMs, idHashA, idHashB);
  }

  /** Whether the job with `key` is open, and of `kind`. */
  has(kind: string, key: JobKey): boolean {
    const { idHashA, idHashB } = idHashes(key.id);
    const entry = this.slots[this.find(key.dueMs, idHashA, idHashB)]!;
    return entry !== emptySlot && this.isOpen[entry] === 1 && this.names[this.kindIndexes[entry]!] === kind;
  }

  /** Open jobs per kind. */
  countsByKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (let entry = 0; entry < this.size; entry++) {
      if (this.isOpen[entry] === 0) continue;
      const kind = this.names[this.kindIndexes[entry]!]!;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return counts;
  }

  /** Visits each open job (of `kind`, when given) by ascending position: what its ADD's header says, and where it is. */
  forEach(visit: (job: OpenJobHeader) => void, kind?: string): void {
    const only = kind === undefined ? -1 : (this.indexByName.get(kind) ?? -2);
    if (only === -2) return;
    const job = { kind: "", group: undefined as string | undefined, dueMs: 0, floor: 0, position: 0, length: 0 };
    for (let entry = 0; entry < this.size; entry++) {
      if (this.isOpen[entry] === 0 || (only >= 0 && this.kindIndexes[entry] !== only)) continue;
      job.kind = this.names[this.kindIndexes[entry]!]!;
      const group = this.groupIndexes[entry]!;
      job.group = group === 0 ? undefined : this.names[group - 1];
      job.dueMs = this.dues[entry]!;
      job.floor = this.floors[entry]!;
      job.position = this.positions[entry]!;
      job.length = this.lengths[entry]!;
      visit(job);
    }
  }

  private add(kind: string, group: string | undefined, dueMs: number, idHashA: number, idHashB: number, floor: number, position: number, length: number): void {
    if (this.size === this.capacity) this.grow();
    const slot = this.find(dueMs, idHashA, idHashB);
    const previous = this.slots[slot]!;
    if (previous !== emptySlot && this.isOpen[previous] === 1) {
      this.isOpen[previous] = 0;
      this.openCount -= 1;
    }
    const entry = this.size++;
    this.positions[entry] = position;
    this.dues[entry] = dueMs;
    this.floors[entry] = floor;
    this.lengths[entry] = length;
    this.kindIndexes[entry] = this.nameIndexOf(kind);
    this.groupIndexes[entry] = group === undefined ? 0 : this.nameIndexOf(group) + 1;
    this.hashesA[entry] = idHashA;
    this.hashesB[entry] = idHashB;
    this.isOpen[entry] = 1;
    this.openCount += 1;
    this.slots[slot] = entry;
  }

  private close(dueMs: number, idHashA: number, idHashB: number): void {
    const entry = this.slots[this.find(dueMs, idHashA, idHashB)]!;
    if (entry === emptySlot || this.isOpen[entry] === 0) return;
    this.isOpen[entry] = 0;
    this.openCount -= 1;
  }

  /** The slot holding the key, or the empty slot where it would go (linear probing; slots are never emptied). */
  private find(dueMs: number, idHashA: number, idHashB: number): number {
    const mask = this.slots.length - 1;
    let slot = (Math.imul(idHashA ^ (dueMs % 0x7fffffff), 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === emptySlot || (this.dues[entry] === dueMs && this.hashesA[entry] === idHashA && this.hashesB[entry] === idHashB)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private nameIndexOf(name: string): number {
    let index = this.indexByName.get(name);
    if (index === undefined) {
      index = this.names.length;
      this.names.push(name);
      this.indexByName.set(name, index);
    }
    return index;
  }

  /** Doubles the entries and the slots (a quarter full at most), placing every entry again. */
  private grow(): void {
    this.capacity *= 2;
    this.positions = grown(this.positions, new Float64Array(this.capacity));
    this.dues = grown(this.dues, new Float64Array(this.capacity));
    this.floors = grown(this.floors, new Float64Array(this.capacity));
    this.lengths = grown(this.lengths, new Uint32Array(this.capacity));
    this.kindIndexes = grown(this.kindIndexes, new Uint32Array(this.capacity));
    this.groupIndexes = grown(this.groupIndexes, new Uint32Array(this.capacity));
    this.hashesA = grown(this.hashesA, new Uint32Array(this.capacity));
    this.hashesB = grown(this.hashesB, new Uint32Array(this.capacity));
    this.isOpen = grown(this.isOpen, new Uint8Array(this.capacity));
    this.slots = new Int32Array(4 * this.capacity).fill(emptySlot);
    // Later entries of a key replace earlier ones: placing them in order keeps the latest.
    for (let entry = 0; entry < this.size; entry++) this.slots[this.find(this.dues[entry]!, this.hashesA[entry]!, this.hashesB[entry]!)] = entry;
  }
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
