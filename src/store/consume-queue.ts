/**
 * One consume queue (topic, queueId): the queue's messages as fixed 20-byte entries pointing
 * into the CommitLog, in files of `entriesPerFile` entries named by their first queue offset.
 * It is derived data: entries are placed at their queue offset (so replaying a record twice is
 * harmless) and, after a crash, rebuilt from the CommitLog past the checkpoint.
 *
 * Offsets: minOffset <= flushedOffset <= maxOffset (the next queue offset to assign).
 */

import { join } from "node:path";
import { assert } from "../common/assert.ts";
import {
  entryBytes, entryPhysicalOffset, entrySize, entryTagHash, readEntry, writeEntry, type ConsumeQueueEntry,
} from "./consume-queue-entry.ts";
import { offsetFileName, parseOffsetFileName } from "./file-names.ts";
import { laterQueueOffset, physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, queueOffsetPlus, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import type { FaultPoints } from "./fault-points.ts";
import type { FileStorage, MappedFile } from "./mapped-file.ts";

export interface ConsumeQueueOptions {
  dir: string;
  topic: string;
  queueId: number;
  entriesPerFile: number;
  storage: FileStorage;
  faults: FaultPoints;
}

const blankEntry: ConsumeQueueEntry = { physicalOffset: toPhysicalOffset(0), size: 0, tagHash: 0 };

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  private readonly dir: string;
  private readonly entriesPerFile: number;
  private readonly fileBytes: number;
  private readonly storage: FileStorage;
  private readonly faults: FaultPoints;
  private files: MappedFile[] = [];
  private firstOffsets: number[] = [];
  minOffset = toQueueOffset(0);
  /** The next queue offset to assign. */
  maxOffset = toQueueOffset(0);
  private flushedOffset = 0;

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.dir = options.dir;
    this.entriesPerFile = options.entriesPerFile;
    this.fileBytes = options.entriesPerFile * entryBytes;
    this.storage = options.storage;
    this.faults = options.faults;
  }

  /**
   * Maps existing files and finds the last written entry. Returns what is damaged — a file
   * missing between two others, or one cut short — and then maps nothing.
   */
  load(): string | undefined {
    const names: { path: string; first: number }[] = [];
    for (const name of this.storage.listFiles(this.dir)) {
      const first = parseOffsetFileName(name);
      if (first === undefined || first % this.entriesPerFile !== 0) continue;
      const path = join(this.dir, name);
      const expected = (names[0]?.first ?? first) + names.length * this.entriesPerFile;
      if (first !== expected) return `file ${offsetFileName(expected)} is missing`;
      const size = this.storage.fileSize(path) ?? 0;
      if (size < this.fileBytes) return `file ${name} is ${size} bytes, expected ${this.fileBytes}`;
      names.push({ path, first });
    }
    for (const { path, first } of names) {
      this.files.push(this.storage.openFile(path, this.fileBytes));
      this.firstOffsets.push(first);
    }
    this.minOffset = toQueueOffset(this.firstOffsets[0] ?? 0);
    this.maxOffset = this.minOffset;
    for (let index = this.files.length - 1; index >= 0; index--) {
      const file = this.files[index]!;
      let last = this.entriesPerFile - 1;
      while (last >= 0 && entrySize(file.view, last * entryBytes) === 0) last--;
      if (last >= 0) {
        this.maxOffset = toQueueOffset(this.firstOffsets[index]! + last + 1);
        break;
      }
    }
    this.flushedOffset = this.maxOffset;
    return undefined;
  }

  /**
   * Drops every entry that points at or past `physicalOffset` (they are rebuilt from the
   * CommitLog), and blank tail entries, so the queue ends at a record that is known durable.
   */
  truncateFrom(physicalOffset: PhysicalOffset): void {
    let offset = this.maxOffset;
    while (offset > this.minOffset) {
      const located = this.locate(queueOffsetPlus(offset, -1));
      if (located === undefined) break;
      const size = entrySize(located.file.view, located.position);
      if (size !== 0 && entryPhysicalOffset(located.file.view, located.position) < physicalOffset) break;
      offset = queueOffsetPlus(offset, -1);
    }
    this.cutAt(offset);
  }

  /**
   * Undoes the entries of appends that were undone: the newest entries pointing at or past
   * `physicalOffset`. Unlike `truncateFrom` it stops at a blank entry (a repaired one, or a gap
   * filled by replay): no append of this run wrote it, so it stays and the offset stays used.
   */
  rollbackFrom(physicalOffset: PhysicalOffset): void {
    let offset = this.maxOffset;
    while (offset > this.minOffset) {
      const located = this.locate(queueOffsetPlus(offset, -1));
      if (located === undefined) break;
      if (entrySize(located.file.view, located.position) === 0 || entryPhysicalOffset(located.file.view, located.position) < physicalOffset) break;
      offset = queueOffsetPlus(offset, -1);
    }
    this.cutAt(offset);
  }

  private cutAt(offset: QueueOffset): void {
    if (offset >= this.maxOffset) return;
    while (this.files.length > 0 && this.firstOffsets[this.firstOffsets.length - 1]! >= Math.max(offset, this.minOffset + 1)) {
      const file = this.files.pop()!;
      this.firstOffsets.pop();
      file.close();
      this.storage.removeFile(file.path);
    }
    const located = this.locate(offset);
    if (located !== undefined) located.file.zeroRange(located.position, this.fileBytes);
    this.maxOffset = toQueueOffset(Math.max(offset, this.minOffset));
    this.flushedOffset = Math.min(this.flushedOffset, this.maxOffset);
  }

  /**
   * Puts the entry for `queueOffset`. An offset already present is left alone (replay); one past
   * the end fills the gap with blank entries.
   */
  put(queueOffset: QueueOffset, entry: ConsumeQueueEntry): void {
    if (queueOffset < this.maxOffset) return;
    while (this.maxOffset < queueOffset) this.writeAt(this.maxOffset, blankEntry);
    this.writeAt(queueOffset, entry);
  }

  private writeAt(queueOffset: QueueOffset, entry: ConsumeQueueEntry): void {
    const fileIndex = Math.floor((queueOffset - (this.firstOffsets[0] ?? 0)) / this.entriesPerFile);
    let file = this.files[fileIndex];
    if (file === undefined || this.files.length === 0) {
      const first = queueOffset - (queueOffset % this.entriesPerFile);
      const path = join(this.dir, offsetFileName(first));
      this.faults.check("consume_queue_open", path);
      this.storage.makeDir(this.dir);
      file = this.storage.openFile(path, this.fileBytes);
      this.files.push(file);
      this.firstOffsets.push(first);
      if (this.files.length === 1) this.minOffset = toQueueOffset(first);
    }
    writeEntry(file.view, (queueOffset % this.entriesPerFile) * entryBytes, entry);
    this.maxOffset = toQueueOffset(queueOffset + 1);
  }

  locate(queueOffset: QueueOffset): { file: MappedFile; position: number } | undefined {
    if (queueOffset < this.minOffset || queueOffset >= this.maxOffset) return undefined;
    const first = this.firstOffsets[0];
    if (first === undefined) return undefined;
    const file = this.files[Math.floor((queueOffset - first) / this.entriesPerFile)];
    if (file === undefined) return undefined;
    return { file, position: (queueOffset % this.entriesPerFile) * entryBytes };
  }

  /** The file holding `queueOffset` (callers check the range); entry position is (offset % entriesPerFile) * 20. */
  fileAt(queueOffset: QueueOffset): MappedFile | undefined {
    return this.files[Math.floor((queueOffset - (this.firstOffsets[0] ?? 0)) / this.entriesPerFile)];
  }

  get entriesInFile(): number {
    return this.entriesPerFile;
  }

  get(queueOffset: QueueOffset): ConsumeQueueEntry | undefined {
    const located = this.locate(queueOffset);
    if (located === undefined) return undefined;
    const entry = readEntry(located.file.view, located.position);
    return entry.size === 0 ? undefined : entry;
  }

  /**
   * Calls `visit` for entries from `from` on, skipping blanks, until it returns false or the
   * queue ends. Reads straight from the mapping: `visit` must not keep anything across calls.
   */
  scan(from: QueueOffset, visit: (queueOffset: QueueOffset, physicalOffset: PhysicalOffset, size: number, tagHash: number) => boolean): QueueOffset {
    let offset = laterQueueOffset(from, this.minOffset);
    while (offset < this.maxOffset) {
      const located = this.locate(offset)!;
      const view = located.file.view;
      const size = entrySize(view, located.position);
      if (size !== 0 && !visit(offset, entryPhysicalOffset(view, located.position), size, entryTagHash(view, located.position))) break;
      offset = queueOffsetPlus(offset, 1);
    }
    return offset;
  }

  /** Smallest offset whose entry points at or past `commitLogMin`; older files are deleted. */
  deleteBefore(commitLogMin: PhysicalOffset): number {
    let removed = 0;
    while (this.files.length > 1) {
      const file = this.files[0]!;
      const lastPosition = (this.entriesPerFile - 1) * entryBytes;
      if (entryPhysicalOffset(file.view, lastPosition) + entrySize(file.view, lastPosition) > commitLogMin) break;
      this.files.shift();
      this.firstOffsets.shift();
      file.close();
      this.storage.removeFile(file.path);
      removed += 1;
    }
    this.minOffset = toQueueOffset(Math.max(this.minOffset, this.firstOffsets[0] ?? this.maxOffset));
    while (this.minOffset < this.maxOffset) {
      const entry = this.get(this.minOffset);
      if (entry !== undefined && entry.physicalOffset >= commitLogMin) break;
      this.minOffset = toQueueOffset(this.minOffset + 1);
    }
    return removed;
  }

  async flush(): Promise<void> {
    const target = this.maxOffset;
    if (target <= this.flushedOffset) return;
    const first = this.firstOffsets[0] ?? 0;
    const jobs: Promise<void>[] = [];
    for (let index = 0; index < this.files.length; index++) {
      const fileFirst = this.firstOffsets[index]!;
      const from = Math.max(this.flushedOffset, fileFirst);
      const to = Math.min(target, fileFirst + this.entriesPerFile);
      if (from < to) jobs.push(this.files[index]!.flush((from - fileFirst) * entryBytes, (to - fileFirst) * entryBytes));
    }
    assert(first <= target, "consume queue flush target precedes its first file");
    await Promise.all(jobs);
    this.flushedOffset = Math.max(this.flushedOffset, target);
  }

  close(): void {
    for (const file of this.files) file.close();
    this.files = [];
    this.firstOffsets = [];
  }

  removeAll(): void {
    this.close();
    this.storage.removeDir(this.dir);
  }
}
