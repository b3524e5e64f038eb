/**
 * The message index: keys and producer msgIds to CommitLog offsets, across a series of
 * IndexFiles named by sequence number. Only the newest file takes writes; the oldest are
 * deleted once every record they point at is gone from the CommitLog.
 */

import { basename, dirname, join } from "node:path";
import { offsetFileName, parseOffsetFileName } from "./file-names.ts";
import { IndexFile, indexFileBytes } from "./index-file.ts";
import type { IndexKey } from "./index-keys.ts";
import type { PhysicalOffset } from "../common/offsets.ts";
import type { FaultPoints } from "./fault-points.ts";
import type { FileStorage } from "./mapped-file.ts";

export interface IndexServiceOptions {
  dir: string;
  slotsPerFile: number;
  entriesPerFile: number;
  storage: FileStorage;
  faults: FaultPoints;
}

export class IndexService {
  private readonly options: IndexServiceOptions;
  private files: { sequence: number; index: IndexFile }[] = [];
  private flushedCounts = new Map<IndexFile, number>();

  constructor(options: IndexServiceOptions) {
    this.options = options;
  }

  /**
   * Maps existing files. Returns why the index must be rebuilt from the CommitLog: its directory
   * is missing (deleted between runs), or a file is damaged — then every file is removed.
   */
  load(): string | undefined {
    const { storage, dir } = this.options;
    if (!storage.listDirs(dirname(dir)).includes(basename(dir))) {
      storage.makeDir(dir);
      return "the index directory is missing";
    }
    for (const name of storage.listFiles(dir)) {
      const sequence = parseOffsetFileName(name);
      if (sequence === undefined) continue;
      const path = join(dir, name);
      const size = storage.fileSize(path) ?? 0;
      const expected = (this.files[0]?.sequence ?? sequence) + this.files.length;
      const damage = size !== this.fileBytes ? `index file ${name} is ${size} bytes, expected ${this.fileBytes}` : sequence !== expected ? `index file ${offsetFileName(expected)} is missing` : undefined;
      if (damage !== undefined) return this.removeAll(damage);
      const index = new IndexFile(storage.openFile(path, this.fileBytes), this.options.slotsPerFile, this.options.entriesPerFile);
      this.files.push({ sequence, index });
      const headerDamage = index.damage();
      if (headerDamage !== undefined) return this.removeAll(`index file ${name}: ${headerDamage}`);
      this.flushedCounts.set(index, index.entryCount); // what is on disk needs no flush
    }
    return undefined;
  }

  private removeAll(reason: string): string {
    for (const { index } of this.files) index.file.close();
    this.files = [];
    this.flushedCounts.clear();
    for (const name of this.options.storage.listFiles(this.options.dir)) this.options.storage.removeFile(join(this.options.dir, name));
    return reason;
  }

  private get fileBytes(): number {
    return indexFileBytes(this.options.slotsPerFile, this.options.entriesPerFile);
  }

  put(key: IndexKey, physicalOffset: PhysicalOffset, timestampMs: number): void {
    let last = this.files[this.files.length - 1];
    if (last === undefined || last.index.isFull() || !last.index.acceptsTime(timestampMs)) {
      const sequence = (last?.sequence ?? 0) + 1;
      const path = join(this.options.dir, offsetFileName(sequence));
      this.options.faults.check("index_open", path);
      this.options.storage.makeDir(this.options.dir);
      const file = this.options.storage.openFile(path, this.fileBytes);
      last = { sequence, index: new IndexFile(file, this.options.slotsPerFile, this.options.entriesPerFile) };
      this.files.push(last);
    }
    last.index.put(key, physicalOffset, timestampMs);
  }

  /** Candidate offsets for `key`, newest first, deduplicated; callers verify each record. */
  lookup(key: IndexKey, limit: number, beginMs = 0, endMs = Number.MAX_SAFE_INTEGER): PhysicalOffset[] {
    const found: PhysicalOffset[] = [];
    for (let index = this.files.length - 1; index >= 0 && found.length < limit; index--) {
      const file = this.files[index]!.index;
      if (file.entryCount === 0 || file.endTimestampMs < beginMs || file.beginTimestampMs > endMs) continue;
      file.lookup(key, beginMs, endMs, limit, found);
    }
    return [...new Set(found)].slice(0, limit);
  }

  async flush(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const { index } of this.files) {
      const count = index.entryCount;
      if (this.flushedCounts.get(index) === count) continue;
      jobs.push(index.file.flush(0, index.usedBytes).then(() => void this.flushedCounts.set(index, count)));
    }
    await Promise.all(jobs);
  }

  /** Deletes files whose every entry points below `commitLogMin`; never the newest. */
  deleteBefore(commitLogMin: PhysicalOffset): number {
    let removed = 0;
    while (this.files.length > 1 && this.files[0]!.index.endPhysicalOffset < commitLogMin) {
      const { index } = this.files.shift()!;
      this.flushedCounts.delete(index);
      index.file.close();
      this.options.storage.removeFile(index.file.path);
      removed += 1;
    }
    return removed;
  }

  get fileCount(): number {
    return this.files.length;
  }

  close(): void {
    for (const { index } of this.files) index.file.close();
    this.files = [];
    this.flushedCounts.clear();
  }
}
