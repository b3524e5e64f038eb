/**
 * One hash-index file: maps the CRC32 of a key (index-keys.ts) to CommitLog offsets, RocketMQ's IndexFile. A
 * fixed size, memory-mapped, so memory stays bounded however many keys arrive.
 *
 *   header   40 bytes: beginTimestamp (8), endTimestamp (8), beginPhysicalOffset (8),
 *                      endPhysicalOffset (8), slotCount (4), entryCount (4)
 *   slots    slotCount x u32: the newest entry number of that hash slot (0 = none)
 *   entries  entryCount x 20 bytes: keyHash (4), physicalOffset (8), timeDiffMs (4), previous (4)
 *
 * Entries are numbered from 1 and each chain points strictly backwards, so a walk always ends.
 * Entries are hints: readers verify the record they point at, so a stale entry left by a crash
 * (or written twice by a replay) is harmless.
 */

import { getUint64, setUint64 } from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "../common/offsets.ts";
import type { MappedFile } from "./mapped-file.ts";

export const indexHeaderBytes = 40;
export const indexEntryBytes = 20;
const timeDiffMax = 0xffff_ffff;

export function indexFileBytes(slotCount: number, entryCount: number): number {
  return indexHeaderBytes + slotCount * 4 + (entryCount + 1) * indexEntryBytes;
}

export class IndexFile {
  private readonly entriesStart: number;
  /**
   * The header fields `put` reads on every entry, held here as well: only `put` writes them
   * (to both), and DataView reads of the mapping cost more than the entry's own writes.
   */
  private entries: number;
  private beginMs: number;
  private endMs: number;
  private endOffset: number;

  constructor(
    readonly file: MappedFile,
    readonly slotCount: number,
    readonly entryCapacity: number,
  ) {
    this.entriesStart = indexHeaderBytes + slotCount * 4;
    this.entries = Math.min(this.header(36), entryCapacity);
    this.beginMs = getUint64(file.view, 0);
    this.endMs = getUint64(file.view, 8);
    this.endOffset = getUint64(file.view, 24);
    if (this.header(32) === 0 && this.entries === 0) file.view.setUint32(32, slotCount);
  }

  private header(position: number): number {
    return this.file.view.getUint32(position);
  }

  get beginTimestampMs(): number {
    return this.beginMs;
  }

  get endTimestampMs(): number {
    return this.endMs;
  }

  get beginPhysicalOffset(): PhysicalOffset {
    return toPhysicalOffset(getUint64(this.file.view, 16));
  }

  get endPhysicalOffset(): PhysicalOffset {
    return toPhysicalOffset(this.endOffset);
  }

  get entryCount(): number {
    return this.entries;
  }

  get usedBytes(): number {
    return this.entriesStart + (this.entryCount + 1) * indexEntryBytes;
  }

  /** What is wrong with the header (written by another geometry, or garbage), if anything. */
  damage(): string | undefined {
    const slots = this.header(32);
    if (slots !== this.slotCount) return `header says ${slots} slots, expected ${this.slotCount}`;
    const entries = this.header(36);
    if (entries > this.entryCapacity) return `header says ${entries} entries, capacity is ${this.entryCapacity}`;
    if (entries > 0 && this.endTimestampMs < this.beginTimestampMs) return "its time range ends before it begins";
    return undefined;
  }

  isFull(): boolean {
    return this.entryCount >= this.entryCapacity;
  }

  /** Whether an entry stored at `timestampMs` still fits this file's time-difference field. */
  acceptsTime(timestampMs: number): boolean {
    return this.entryCount === 0 || (timestampMs >= this.beginTimestampMs && timestampMs - this.beginTimestampMs <= timeDiffMax);
  }

  put(keyHash: number, physicalOffset: PhysicalOffset, timestampMs: number): void {
    const view = this.file.view;
    const count = this.entries;
    if (count === 0) {
      setUint64(view, 0, timestampMs);
      setUint64(view, 16, physicalOffset);
      this.beginMs = timestampMs;
    }
    const slotPosition = indexHeaderBytes + (keyHash % this.slotCount) * 4;
    const previous = view.getUint32(slotPosition);
    const number = count + 1;
    const position = this.entriesStart + number * indexEntryBytes;
    view.setUint32(position, keyHash);
    setUint64(view, position + 4, physicalOffset);
    view.setUint32(position + 12, Math.max(0, timestampMs - this.beginMs));
    view.setUint32(position + 16, previous < number ? previous : 0);
    view.setUint32(slotPosition, number);
    if (timestampMs > this.endMs || count === 0) {
      this.endMs = timestampMs;
      setUint64(view, 8, timestampMs);
    }
    if (physicalOffset > this.endOffset || count === 0) {
      this.endOffset = physicalOffset;
      setUint64(view, 24, physicalOffset);
    }
    view.setUint32(36, number);
    this.entries = number;
  }

  /** Physical offsets whose key hash matches, newest first, within [beginMs, endMs]. */
  lookup(keyHash: number, beginMs: number, endMs: number, limit: number, into: PhysicalOffset[]): void {
    const view = this.file.view;
    const count = this.entryCount;
    let number = view.getUint32(indexHeaderBytes + (keyHash % this.slotCount) * 4);
    let steps = 0;
    while (number > 0 && number <= count && steps < count && into.length < limit) {
      const position = this.entriesStart + number * indexEntryBytes;
      const timestampMs = this.beginTimestampMs + view.getUint32(position + 12);
      if (view.getUint32(position) === keyHash && timestampMs >= beginMs && timestampMs <= endMs) {
        into.push(toPhysicalOffset(getUint64(view, position + 4)));
      }
      const previous = view.getUint32(position + 16);
      number = previous < number ? previous : 0;
      steps += 1;
    }
  }
}
