/**
 * The CommitLog: every message of every topic appended to one log of fixed-size mapped files,
 * each named by its first byte offset. Records never span files: when one does not fit, the rest
 * of the file is padded with an end-of-file marker and the log rolls to the next file, which the
 * allocator thread has already created and warmed.
 *
 * Positions: `writePosition` (end of the last record) >= `flushedPosition` (durable) >= min.
 * Sync flush is group commit: each waiter resolves once a flush has covered its record's end;
 * appends that arrive while a flush runs share the next one.
 */

import { join } from "node:path";
import { assert } from "../common/assert.ts";
import { MiB, pageBytes } from "../common/limits.ts";
import { MqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import {
  checkRecord, endOfFileMagic, endOfFileMarkerBytes, recordBytes, writeEndOfFileMarker, writeRecord, readStoreTimestamp,
  type RecordInput, type RecordPlacement,
} from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "../common/offsets.ts";
import { CommitLogRemovals } from "./commit-log-removals.ts";
import type { FaultPoints } from "./fault-points.ts";
import { offsetFileName, parseOffsetFileName } from "./file-names.ts";
import type { FileStorage, MappedFile } from "./mapped-file.ts";

export interface CommitLogOptions {
  dir: string;
  fileBytes: number;
  storage: FileStorage;
  faults: FaultPoints;
  logger: Logger;
  /** How far ahead of the write position pages are kept faulted in. */
  warmAheadBytes: number;
}

export type CommitLogAppend =
  | { status: "ok"; physicalOffset: PhysicalOffset; size: number }
  | { status: "message_too_large"; size: number; limit: number }
  | { status: "io_error"; error: MqError };

interface DurableWaiter {
  end: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class CommitLog {
  readonly dir: string;
  readonly fileBytes: number;
  private readonly storage: FileStorage;
  private readonly faults: FaultPoints;
  private readonly logger: Logger;
  private readonly removals: CommitLogRemovals;
  private files: MappedFile[] = [];
  private bases: number[] = [];
  private current: MappedFile | undefined;
  private currentBase = 0;
  private prepared: { base: number; file: Promise<MappedFile> } | undefined;
  private waiters: DurableWaiter[] = [];
  private flushChain: Promise<void> = Promise.resolve();
  private groupCommitScheduled = false;
  private warmAheadBytes: number;
  private readonly warmAheadBytesMax: number;
  /** End of the warmed (or requested) window in the current file. */
  private warmedEnd = 0;
  private preparedWarmBytes = 0;
  writePosition = toPhysicalOffset(0);
  flushedPosition = toPhysicalOffset(0);

  constructor(options: CommitLogOptions) {
    this.dir = options.dir;
    this.fileBytes = options.fileBytes;
    this.storage = options.storage;
    this.faults = options.faults;
    this.logger = options.logger;
    this.removals = new CommitLogRemovals(options.storage, options.logger);
    this.warmAheadBytesMax = Math.max(pageBytes, options.warmAheadBytes);
    this.warmAheadBytes = Math.min(this.warmAheadBytesMax, 8 * MiB);
  }

  /** Maps every existing file. Positions are set by `recover`. */
  load(): void {
    this.storage.makeDir(this.dir);
    let expectedBase: number | undefined;
    for (const name of this.storage.listFiles(this.dir)) {
      const base = parseOffsetFileName(name);
      if (base === undefined) {
        this.logger.warn(`Ignoring "${name}" in the CommitLog directory: not a CommitLog file name`);
        continue;
      }
      if (base % this.fileBytes !== 0) {
        throw new MqError("STORE_CORRUPT", { what: `CommitLog file "${name}"`, reason: `offset is not a multiple of the file size ${this.fileBytes}` });
      }
      if (expectedBase !== undefined && base !== expectedBase) {
        throw new MqError("STORE_CORRUPT", { what: "the CommitLog", reason: `file ${offsetFileName(expectedBase)} is missing before "${name}"` });
      }
      this.files.push(this.storage.openFile(join(this.dir, name), this.fileBytes, "foreground"));
      this.bases.push(base);
      expectedBase = base + this.fileBytes;
    }
  }

  get minOffset(): PhysicalOffset {
    return toPhysicalOffset(this.bases[0] ?? this.currentBase);
  }

  get fileCount(): number {
    return this.files.length;
  }

  /** Base offset of the last file, or 0 for an empty log. */
  get lastFileBase(): number {
    return this.bases[this.bases.length - 1] ?? 0;
  }

  fileBaseOf(offset: number): number {
    return offset - (offset % this.fileBytes);
  }

  /** Unmaps every file without flushing: for a store that failed to open. */
  abandon(): void {
    for (const file of this.files) file.close();
    this.files = [];
    this.bases = [];
    this.current = undefined;
  }

  /** Base offset of the first file whose on-disk size is short (a cut file), if any. */
  firstShortFileBase(): number | undefined {
    for (let index = 0; index < this.files.length; index++) {
      const size = this.storage.fileSize(this.files[index]!.path);
      if (size !== undefined && size < this.fileBytes) return this.bases[index];
    }
    return undefined;
  }

  /** The mapped file at `index` (0 = oldest) with its base offset; recovery walks them. */
  fileAt(index: number): { file: MappedFile; base: number } | undefined {
    const file = this.files[index];
    return file === undefined ? undefined : { file, base: this.bases[index]! };
  }

  /** Index of the file holding `offset`, or -1 when no file does. */
  fileIndexOf(offset: number): number {
    return this.files.findIndex((_, fileIndex) => offset >= this.bases[fileIndex]! && offset < this.bases[fileIndex]! + this.fileBytes);
  }

  /**
   * Ends the log at `position` after recovery: later files are deleted, so a stale record can
   * never reappear, and writing continues there. The caller zeroes the torn tail.
   */
  resetTo(position: PhysicalOffset): void {
    this.truncateFilesAfter(position);
    this.setPositions(position);
  }

  private truncateFilesAfter(position: number): void {
    while (this.files.length > 0 && this.bases[this.bases.length - 1]! > position) {
      const file = this.files.pop()!;
      this.bases.pop();
      file.close();
      this.removals.remove(file.path);
    }
  }

  private setPositions(position: PhysicalOffset): void {
    this.writePosition = position;
    this.flushedPosition = position;
    const index = this.files.findIndex((_, fileIndex) => position < this.bases[fileIndex]! + this.fileBytes);
    if (index >= 0) {
      this.current = this.files[index];
      this.currentBase = this.bases[index]!;
      this.warmedEnd = position - this.currentBase; // mapped cold by load(): warm from here
      this.warmAhead();
    } else {
      this.current = undefined;
      this.currentBase = position;
    }
  }

  /** Appends one record; the caller checks limits. Rolls to a new file when it does not fit. */
  append(input: RecordInput, placement: Omit<RecordPlacement, "physicalOffset">): CommitLogAppend {
    const size = recordBytes(input);
    const limit = this.fileBytes - endOfFileMarkerBytes;
    if (size > limit) return { status: "message_too_large", size, limit };
    try {
      this.faults.check("append", this.dir);
      let local = this.writePosition - this.currentBase;
      if (this.current === undefined || local + size > limit) {
        this.roll();
        local = 0;
      }
      const file = this.current!;
      const physicalOffset = this.currentBase + local;
      writeRecord(file.bytes, file.view, local, input, { ...placement, physicalOffset });
      this.writePosition = toPhysicalOffset(physicalOffset + size);
      if (local + size + this.warmAheadBytes >= this.warmedEnd) this.warmAhead();
      return { status: "ok", physicalOffset: toPhysicalOffset(physicalOffset), size };
    } catch (error) {
      if (error instanceof MqError) return { status: "io_error", error };
      throw error;
    }
  }

  /**
   * Undoes the appends at or past `position`, a record boundary this process wrote and has not
   * flushed: their bytes are zeroed and files rolled into since are removed, so neither a reader
   * nor recovery can see them. The end-of-file marker of a file left behind is zeroed too: the
   * next append continues that file.
   */
  rollbackTo(position: PhysicalOffset): void {
    assert(position >= this.flushedPosition && position <= this.writePosition, `CommitLog rollback to ${position} outside [${this.flushedPosition}, ${this.writePosition}]`);
    if (position === this.writePosition) return;
    this.truncateFilesAfter(position);
    const index = this.bases.length - 1;
    const file = this.files[index]!;
    const base = this.bases[index]!;
    assert(position >= base && position < base + this.fileBytes, `CommitLog rollback to ${position}: no file holds it`);
    const end = file === this.current ? this.writePosition - base : writtenEnd(file.view, position - base, this.fileBytes);
    file.bytes.fill(0, position - base, end);
    if (file !== this.current) this.warmedEnd = this.fileBytes; // written through once: its pages are in
    this.current = file;
    this.currentBase = base;
    this.writePosition = position;
  }

  private roll(): void {
    this.faults.check("roll", this.dir);
    let nextBase = this.currentBase;
    if (this.current !== undefined) {
      const local = this.writePosition - this.currentBase;
      writeEndOfFileMarker(this.current.bytes, this.current.view, local, this.fileBytes);
      nextBase = this.currentBase + this.fileBytes;
    }
    const path = join(this.dir, offsetFileName(nextBase));
    let file: MappedFile | undefined;
    if (this.prepared?.base === nextBase) {
      // Bun resolves a settled promise's value only asynchronously, so the allocator stores it.
      file = this.preparedReady.get(nextBase);
    }
    if (file === undefined) {
      file = this.storage.openFile(path, this.fileBytes, "foreground");
      if (this.prepared?.base === nextBase) this.discardPrepared();
      this.warmedEnd = 0;
    } else {
      this.warmedEnd = Math.min(this.fileBytes, this.preparedWarmBytes);
      this.preparedReady.delete(nextBase);
      this.prepared = undefined;
    }
    this.files.push(file);
    this.bases.push(nextBase);
    this.current = file;
    this.currentBase = nextBase;
    this.writePosition = toPhysicalOffset(nextBase);
    this.warmAhead();
    this.prepareNext();
  }

  /**
   * Keeps a window ahead of the write position faulted in by the allocator thread, in chunks of
   * a quarter window. The window starts small (resident memory stays near what is written) and
   * doubles, up to warmAheadBytesMax, whenever the writer comes close to its edge.
   */
  private warmAhead(): void {
    const file = this.current;
    if (file === undefined || this.warmedEnd >= this.fileBytes) return;
    const local = this.writePosition - this.currentBase;
    if (this.warmedEnd - local < this.warmAheadBytes / 4 && this.warmAheadBytes < this.warmAheadBytesMax) {
      this.warmAheadBytes = Math.min(this.warmAheadBytesMax, this.warmAheadBytes * 2);
    }
    const chunk = Math.max(pageBytes, this.warmAheadBytes / 4);
    while (this.warmedEnd < Math.min(this.fileBytes, local + this.warmAheadBytes)) {
      const from = Math.max(this.warmedEnd, local);
      const to = Math.min(this.fileBytes, from + chunk);
      this.warmedEnd = to;
      file.warm(from, to).catch((error: Error) => {
        if (!file.closed) this.logger.warn(`Cannot warm CommitLog file "${file.path}": ${error.message}`);
      });
    }
  }

  private readonly preparedReady = new Map<number, MappedFile>();

  /** Asks the allocator thread for the file after the current one. */
  prepareNext(): void {
    const base = (this.current === undefined ? this.currentBase : this.currentBase + this.fileBytes);
    if (this.prepared?.base === base) return;
    const path = join(this.dir, offsetFileName(base));
    this.preparedWarmBytes = Math.min(this.fileBytes, this.warmAheadBytes);
    const file = this.storage.prepareFile(path, this.fileBytes, this.preparedWarmBytes);
    this.removals.trackAllocation(path, file);
    this.prepared = { base, file };
    file.then(
      (mapped) => {
        if (this.prepared?.base === base && !this.closed) this.preparedReady.set(base, mapped);
        else if (!this.files.includes(mapped)) mapped.close();
      },
      (error) => this.logger.warn(`Cannot prepare CommitLog file "${path}" ahead of need: ${error.message}`),
    );
  }

  private discardPrepared(): void {
    // The roll opened the file itself; the allocator's mapping of the same file is dropped.
    const prepared = this.prepared;
    this.prepared = undefined;
    prepared?.file.then((mapped) => { if (!this.files.includes(mapped)) mapped.close(); }, () => {});
  }

  private closed = false;

  /** Resolves once every byte below `end` is durable (group commit). */
  waitDurable(end: PhysicalOffset): Promise<void> {
    if (end <= this.flushedPosition) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ end, resolve, reject });
      if (!this.groupCommitScheduled) {
        this.groupCommitScheduled = true;
        queueMicrotask(() => {
          this.groupCommitScheduled = false;
          void this.flush();
        });
      }
    });
  }

  /** Flushes everything written so far; concurrent calls run one after another. */
  flush(): Promise<void> {
    const run = this.flushChain.then(() => this.flushOnce());
    this.flushChain = run.catch(() => {});
    return run;
  }

  private async flushOnce(): Promise<void> {
    const target = this.writePosition;
    if (target > this.flushedPosition) {
      try {
        this.faults.check("flush", this.dir);
        const jobs: Promise<void>[] = [];
        for (let index = 0; index < this.files.length; index++) {
          const base = this.bases[index]!;
          const from = Math.max(this.flushedPosition, base);
          const to = Math.min(target, base + this.fileBytes);
          if (from < to) jobs.push(this.files[index]!.flush(from - base, to - base));
        }
        await Promise.all(jobs);
      } catch (error) {
        const failed = this.waiters.filter((waiter) => waiter.end <= target);
        this.waiters = this.waiters.filter((waiter) => waiter.end > target);
        for (const waiter of failed) waiter.reject(error as Error);
        throw error;
      }
      this.flushedPosition = toPhysicalOffset(Math.max(this.flushedPosition, target));
    }
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    let released = 0;
    while (released < this.waiters.length && this.waiters[released]!.end <= this.flushedPosition) {
      this.waiters[released]!.resolve();
      released += 1;
    }
    if (released > 0) this.waiters = this.waiters.slice(released);
    if (this.waiters.length > 0) void this.flush().catch(() => {});
  }

  /** The file holding `offset` (a hot-path twin of `locate`, without allocating). */
  fileHolding(offset: PhysicalOffset): MappedFile | undefined {
    if (offset < this.minOffset || offset >= this.writePosition) return undefined;
    return this.files[Math.floor((offset - this.minOffset) / this.fileBytes)];
  }

  /** Finds the file holding `offset`, with the offset's position inside it. */
  locate(offset: PhysicalOffset): { file: MappedFile; position: number; base: PhysicalOffset } | undefined {
    if (offset < this.minOffset || offset >= this.writePosition) return undefined;
    const index = Math.floor((offset - this.minOffset) / this.fileBytes);
    const file = this.files[index];
    if (file === undefined) return undefined;
    const base = this.bases[index]!;
    assert(offset >= base && offset < base + this.fileBytes, `CommitLog file index ${index} does not hold offset ${offset}`);
    return { file, position: offset - base, base: toPhysicalOffset(base) };
  }

  /** The store timestamp of the first record of each file (for retention by age). */
  firstRecordTimestamp(fileIndex: number): number | undefined {
    const file = this.files[fileIndex];
    if (file === undefined) return undefined;
    const base = this.bases[fileIndex]!;
    if (base >= this.writePosition) return undefined;
    const check = checkRecord(file.bytes, file.view, 0, this.fileBytes, base);
    return check.kind === "record" ? readStoreTimestamp(file.view, 0) : undefined;
  }

  /** Files other than the one being written, oldest first, with their bases. */
  fullFiles(): { base: number; path: string; index: number }[] {
    const result: { base: number; path: string; index: number }[] = [];
    for (let index = 0; index < this.files.length; index++) {
      const base = this.bases[index]!;
      if (base + this.fileBytes <= this.flushedPosition && this.files[index] !== this.current) {
        result.push({ base, path: this.files[index]!.path, index });
      }
    }
    return result;
  }

  /** Deletes the oldest file; only whole, flushed files that are not being written. */
  deleteOldestFile(): number | undefined {
    const file = this.files[0];
    if (file === undefined || file === this.current) return undefined;
    const base = this.bases[0]!;
    if (base + this.fileBytes > this.flushedPosition) return undefined;
    this.files.shift();
    this.bases.shift();
    file.close();
    this.removals.remove(file.path);
    return base;
  }

  async close(): Promise<void> {
    await this.flush().catch((error) => this.logger.error(`Final CommitLog flush failed: ${error.message}`));
    this.closed = true;
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared !== undefined) {
      const mapped = await prepared.file.catch(() => undefined);
      if (mapped !== undefined && !this.files.includes(mapped)) mapped.close();
    }
    for (const mapped of this.preparedReady.values()) if (!this.files.includes(mapped)) mapped.close();
    this.preparedReady.clear();
    await this.removals.done();
    for (const file of this.files) file.close();
    this.files = [];
    this.bases = [];
    this.current = undefined;
    for (const waiter of this.waiters) waiter.reject(new MqError("STORE_CLOSED", { state: "closed" }));
    this.waiters = [];
  }
}

/** The end of what was written in a file from `position` on: its records, then the end-of-file marker. */
function writtenEnd(view: DataView, position: number, fileBytes: number): number {
  let local = position;
  while (local + endOfFileMarkerBytes <= fileBytes) {
    const size = view.getUint32(local + 4);
    if (view.getUint32(local + 8) === endOfFileMagic) return local + endOfFileMarkerBytes;
    if (size === 0) return local;
    local += size;
  }
  return fileBytes;
}
