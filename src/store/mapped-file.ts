/**
 * The storage seam of the store. A MappedFile is a fixed-size file seen as bytes in memory;
 * a FileStorage creates, lists and removes them. Two implementations run one conformance
 * suite: `MmapStorage` (real files mapped through bun:ffi) and `MemoryStorage` (an in-memory
 * twin for fast deterministic tests, which can also simulate a crash that loses unflushed bytes).
 *
 * Lifetime rule: `bytes` and `view` are valid only until `close()`. Touching a real mapping
 * after munmap kills the process, so close() swaps them for empty ones, and nothing outside the
 * owner keeps them: readers copy what they return.
 */

export type FlushLane = "foreground" | "background";

export interface FlushHealth {
  ok: boolean;
  /** Why flushes are failing: a thread died or hung (until its replacement answers), or one waits too long. */
  failure: string | undefined;
  /** Flush threads replaced so far (each after a death or a timeout). */
  threadsReplaced: number;
}

export interface MappedFile {
  readonly path: string;
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly closed: boolean;
  /** Makes [from, to) durable off the event loop; resolves once it is on disk. */
  flush(from: number, to: number): Promise<void>;
  /** Makes [from, to) durable, blocking; for shutdown only. */
  flushSync(from: number, to: number): void;
  /** Faults in [from, to) off the event loop so later writes there do not stall. */
  warm(from: number, to: number): Promise<void>;
  /** Zeroes [from, to) cheaply (on disk too): cuts a torn tail without rewriting the file. */
  zeroRange(from: number, to: number): void;
  close(): void;
}

export interface FileStorage {
  readonly kind: "mmap" | "memory";
  /**
   * Opens `path`, creating it or extending it with zeros to `size` bytes. Flushes of the
   * "foreground" lane (the CommitLog: sends wait on them) never queue behind "background" ones.
   */
  openFile(path: string, size: number, lane?: FlushLane): MappedFile;
  /** Creates `path` off the event loop and warms its first `warmBytes`, so appends do not fault. */
  prepareFile(path: string, size: number, warmBytes: number): Promise<MappedFile>;
  fileSize(path: string): number | undefined;
  /** File names (not paths) in `dir`, sorted; empty when `dir` does not exist. */
  listFiles(dir: string): string[];
  listDirs(dir: string): string[];
  removeFile(path: string): void;
  removeDir(path: string): void;
  makeDir(path: string): void;
  /** Whether flushes are completing: false after a flush thread died or hung, until one succeeds. */
  flushHealth(): FlushHealth;
  /** Stops helper threads; files must be closed first. */
  close(): Promise<void>;
}

/** Rounds `offset` down to a page boundary (msync needs a page-aligned start). */
export function pageAlignDown(offset: number, pageBytes: number): number {
  return offset - (offset % pageBytes);
}
