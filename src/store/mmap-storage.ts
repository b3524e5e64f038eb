/**
 * FileStorage over real files memory-mapped through bun:ffi. Each MmapFile owns one mapping
 * and its fd; close() unmaps and swaps the views for empty ones so a stale use throws a
 * RangeError instead of touching unmapped memory.
 */

import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { toArrayBuffer, type Pointer } from "bun:ffi";
import { MqError } from "../common/errors.ts";
import { pageBytes } from "../common/limits.ts";
import {
  libc, allocateBlocks, errno, errnoName, cString, isMapFailed, O_CLOEXEC, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE,
  MAP_SHARED, MS_SYNC, FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
} from "./ffi/libc.ts";
import { pageAlignDown, type FileStorage, type FlushHealth, type FlushLane, type MappedFile } from "./mapped-file.ts";
import { Allocator, Flusher } from "./store-workers.ts";

const emptyBytes = new Uint8Array(0);
const emptyView = new DataView(emptyBytes.buffer);

function asPointer(address: number): Pointer {
  return address as unknown as Pointer;
}

function ioError(operation: string, path: string): MqError {
  return new MqError("STORE_IO", { operation, path, reason: errnoName(errno()) });
}

export class MmapFile implements MappedFile {
  bytes: Uint8Array;
  view: DataView;
  closed = false;

  constructor(
    readonly path: string,
    readonly size: number,
    private readonly fd: number,
    private readonly address: number,
    private readonly flusher: Flusher,
    private readonly allocator: Allocator,
  ) {
    this.bytes = new Uint8Array(toArrayBuffer(asPointer(address), 0, size));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  flush(from: number, to: number): Promise<void> {
    if (this.closed || to <= from) return Promise.resolve();
    const start = pageAlignDown(from, pageBytes);
    return this.flusher.msync(this.address + start, Math.min(to, this.size) - start, this.path);
  }

  flushSync(from: number, to: number): void {
    if (this.closed || to <= from) return;
    const start = pageAlignDown(from, pageBytes);
    if (libc.msync(asPointer(this.address + start), Math.min(to, this.size) - start, MS_SYNC) !== 0) {
      throw ioError("msync", this.path);
    }
  }

  warm(from: number, to: number): Promise<void> {
    if (this.closed || to <= from) return Promise.resolve();
    const start = pageAlignDown(from, pageBytes);
    return this.allocator.warm(this.address + start, Math.min(to, this.size) - start, this.path);
  }

  zeroRange(from: number, to: number): void {
    if (to <= from) return;
    // ZERO_RANGE drops the range's pages and extents in one call; fall back to writing zeros.
    if (libc.fallocate(this.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, from, to - from) !== 0) {
      this.bytes.fill(0, from, to);
      this.flushSync(from, to);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bytes = emptyBytes;
    this.view = emptyView;
    libc.munmap(asPointer(this.address), this.size);
    libc.close(this.fd);
  }
}

export class MmapStorage implements FileStorage {
  readonly kind = "mmap";
  // Two flush threads: CommitLog group commits never wait behind a checkpoint's many msyncs.
  private readonly foregroundFlusher: Flusher;
  private readonly backgroundFlusher: Flusher;
  private readonly allocator = new Allocator();

  /**
   * `flushTimeoutMs`: a flush not answered within it fails with FLUSH_TIMEOUT (default
   * flushRequestTimeoutMs); `flushStallReportMs`: past it a waiting flush makes flushHealth not ok.
   */
  constructor(options: { flushTimeoutMs?: number; flushStallReportMs?: number } = {}) {
    const limits = { timeoutMs: options.flushTimeoutMs, stallReportMs: options.flushStallReportMs };
    this.foregroundFlusher = new Flusher(limits);
    this.backgroundFlusher = new Flusher(limits);
  }

  flushHealth(): FlushHealth {
    const foreground = this.foregroundFlusher.health;
    const background = this.backgroundFlusher.health;
    const failure = foreground.failure ?? background.failure;
    return { ok: failure === undefined, failure, threadsReplaced: foreground.replacements + background.replacements };
  }

  /** Fault point for tests: the flush thread of `lane` dies, or hangs for `stallMs`. */
  injectFlushFault(lane: FlushLane, fault: "crash" | "stall", stallMs = 0): void {
    (lane === "foreground" ? this.foregroundFlusher : this.backgroundFlusher).inject(fault, stallMs);
  }

  openFile(path: string, size: number, lane: FlushLane = "background"): MappedFile {
    const existed = existsSync(path);
    const fd = libc.open(cString(path), O_RDWR | O_CREAT | O_CLOEXEC, 0o644);
    if (fd < 0) throw ioError("open", path);
    // Every file written through a mapping is backed first (existing ones too: a file copied or
    // restored may be sparse); cheap where the blocks already exist.
    const failed = allocateBlocks(fd, size);
    if (failed !== 0) {
      libc.close(fd);
      if (!existed) unlinkSync(path); // no empty file left for the next start to trip on
      throw new MqError("STORE_IO", { operation: "allocate", path, reason: errnoName(failed) });
    }
    const address = libc.mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (isMapFailed(address)) {
      const error = ioError("mmap", path);
      libc.close(fd);
      throw error;
    }
    const flusher = lane === "foreground" ? this.foregroundFlusher : this.backgroundFlusher;
    return new MmapFile(path, size, fd, Number(address), flusher, this.allocator);
  }

  async prepareFile(path: string, size: number, warmBytes: number): Promise<MappedFile> {
    const mapping = await this.allocator.allocate(path, size, warmBytes);
    return new MmapFile(path, size, mapping.fd, mapping.address, this.foregroundFlusher, this.allocator);
  }

  fileSize(path: string): number | undefined {
    return existsSync(path) ? statSync(path).size : undefined;
  }

  listFiles(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name)
      .sort();
  }

  listDirs(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  }

  removeFile(path: string): void {
    if (existsSync(path)) unlinkSync(path);
  }

  removeDir(path: string): void {
    rmSync(path, { recursive: true, force: true });
  }

  makeDir(path: string): void {
    mkdirSync(path, { recursive: true });
  }

  async close(): Promise<void> {
    await Promise.all([this.foregroundFlusher.stop(), this.backgroundFlusher.stop(), this.allocator.stop()]);
  }
}
