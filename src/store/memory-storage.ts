/**
 * The in-memory twin of MmapStorage, for fast deterministic tests. Each file keeps two copies:
 * what was written, and what was flushed. `crash()` throws away every unflushed byte, as a
 * power loss would, so group commit and recovery are testable without killing a process.
 */

import { dirname } from "node:path";
import type { FileStorage, FlushHealth, FlushLane, MappedFile } from "./mapped-file.ts";

interface MemoryInode {
  bytes: Uint8Array;
  durable: Uint8Array;
}

const emptyBytes = new Uint8Array(0);

class MemoryFile implements MappedFile {
  bytes: Uint8Array;
  view: DataView;
  closed = false;

  constructor(readonly path: string, readonly size: number, private readonly inode: MemoryInode) {
    this.bytes = inode.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  flush(from: number, to: number): Promise<void> {
    this.flushSync(from, to);
    return Promise.resolve();
  }

  flushSync(from: number, to: number): void {
    if (this.closed || to <= from) return;
    this.inode.durable.set(this.inode.bytes.subarray(from, to), from);
  }

  warm(): Promise<void> {
    return Promise.resolve();
  }

  zeroRange(from: number, to: number): void {
    this.inode.bytes.fill(0, from, to);
    this.inode.durable.fill(0, from, to);
  }

  close(): void {
    this.closed = true;
    this.bytes = emptyBytes;
    this.view = new DataView(emptyBytes.buffer);
  }
}

export class MemoryStorage implements FileStorage {
  readonly kind = "memory";
  private readonly files = new Map<string, MemoryInode>();
  private readonly dirs = new Set<string>();

  openFile(path: string, size: number, _lane?: FlushLane): MappedFile {
    let inode = this.files.get(path);
    if (inode === undefined) {
      inode = { bytes: new Uint8Array(size), durable: new Uint8Array(size) };
      this.files.set(path, inode);
      this.makeDir(dirname(path));
    } else if (inode.bytes.length < size) {
      inode = { bytes: grow(inode.bytes, size), durable: grow(inode.durable, size) };
      this.files.set(path, inode);
    }
    return new MemoryFile(path, size, inode);
  }

  prepareFile(path: string, size: number, _warmBytes: number): Promise<MappedFile> {
    return Promise.resolve(this.openFile(path, size));
  }

  fileSize(path: string): number | undefined {
    return this.files.get(path)?.bytes.length;
  }

  listFiles(dir: string): string[] {
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    const names: string[] = [];
    for (const path of this.files.keys()) {
      if (path.startsWith(prefix) && !path.slice(prefix.length).includes("/")) names.push(path.slice(prefix.length));
    }
    return names.sort();
  }

  listDirs(dir: string): string[] {
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    const names = new Set<string>();
    for (const path of [...this.files.keys(), ...this.dirs]) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash > 0) names.add(rest.slice(0, slash));
      else if (this.dirs.has(path) && rest.length > 0) names.add(rest);
    }
    return [...names].sort();
  }

  removeFile(path: string): void {
    this.files.delete(path);
  }

  removeDir(path: string): void {
    const prefix = path.endsWith("/") ? path : path + "/";
    for (const key of [...this.files.keys()]) if (key.startsWith(prefix)) this.files.delete(key);
    for (const key of [...this.dirs]) if (key === path || key.startsWith(prefix)) this.dirs.delete(key);
  }

  makeDir(path: string): void {
    let current = path;
    while (current.length > 1 && !this.dirs.has(current)) {
      this.dirs.add(current);
      current = dirname(current);
    }
  }

  /** Simulates power loss: every file reverts to its last flushed bytes. Close files first. */
  crash(): void {
    for (const inode of this.files.values()) inode.bytes.set(inode.durable);
  }

  /** Cuts a file to `length` bytes, as a torn write or a hostile user might. */
  truncate(path: string, length: number): void {
    const inode = this.files.get(path);
    if (inode === undefined) return;
    this.files.set(path, { bytes: inode.bytes.slice(0, length), durable: inode.durable.slice(0, length) });
  }

  /** An independent copy of every file, as written (for restoring a pristine state in tests). */
  clone(): MemoryStorage {
    const copy = new MemoryStorage();
    for (const [path, inode] of this.files) copy.files.set(path, { bytes: inode.bytes.slice(), durable: inode.durable.slice() });
    for (const dir of this.dirs) copy.dirs.add(dir);
    return copy;
  }

  /** The bytes of a file as written (tests read and damage them). */
  contents(path: string): Uint8Array | undefined {
    return this.files.get(path)?.bytes;
  }

  flushHealth(): FlushHealth {
    return { ok: true, failure: undefined, threadsReplaced: 0 };
  }

  async close(): Promise<void> {}
}

function grow(bytes: Uint8Array, size: number): Uint8Array {
  const grown = new Uint8Array(size);
  grown.set(bytes);
  return grown;
}
