/**
 * The data directory's guards: an exclusive lock (one process per data dir, held with flock so
 * a killed process releases it) and the abort marker, which exists exactly while a store is
 * open — finding it at start means the last run did not shut down cleanly.
 */

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, ftruncateSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { MqError } from "../common/errors.ts";
import { libc, LOCK_EX, LOCK_NB } from "./ffi/libc.ts";

export class DataDirLock {
  private constructor(private readonly fd: number, readonly path: string) {}

  static acquire(dir: string): DataDirLock {
    createDataDir(dir);
    const path = join(dir, "lock");
    let fd: number;
    try {
      fd = openSync(path, "a+");
    } catch (error) {
      throw new MqError("STORE_IO", { operation: "write to data dir", path: dir, reason: fileSystemReason(error) });
    }
    if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      let holder = "";
      try {
        const pid = readFileSync(path, "utf8").trim();
        if (/^\d+$/.test(pid)) holder = ` (pid ${pid})`;
      } catch {
        // The holder's pid is a courtesy; the lock itself is what matters.
      }
      closeSync(fd);
      throw new MqError("STORE_LOCKED", { dir, holder });
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new DataDirLock(fd, path);
  }

  release(): void {
    closeSync(this.fd); // closing the descriptor drops the flock
  }
}

/**
 * Creates the data dir (and its parents) or explains in one line why it cannot be used: a
 * path that is a file, a parent that is a file, a read-only file system, no permission.
 */
function createDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new MqError("STORE_IO", { operation: "use data dir", path: dir, reason: "it is a file, not a directory" });
    if (code === "ENOTDIR") {
      const file = firstFileAbove(dir);
      throw new MqError("STORE_IO", { operation: "create data dir", path: dir, reason: file === undefined ? "a parent is not a directory" : `"${file}" is a file, not a directory` });
    }
    throw new MqError("STORE_IO", { operation: "create data dir", path: dir, reason: fileSystemReason(error) });
  }
}

/** The nearest ancestor of `dir` that exists and is not a directory. */
function firstFileAbove(dir: string): string | undefined {
  for (let path = dirname(dir); path !== dirname(path); path = dirname(path)) {
    try {
      if (!statSync(path).isDirectory()) return path;
    } catch {
      // Missing or unreadable: look further up.
    }
  }
  return undefined;
}

/** A file-system error as the end of a one-line message. */
export function fileSystemReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "EROFS":
      return "the file system is read-only (EROFS)";
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`;
    case "ENOSPC":
      return "no space left on the device (ENOSPC)";
    case "ENOTDIR":
      return "a parent is not a directory (ENOTDIR)";
    case "EISDIR":
      return "it is a directory (EISDIR)";
    default:
      return (error as Error).message;
  }
}

export class AbortMarker {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, "abort");
  }

  /** Whether the previous run ended without a clean shutdown. */
  exists(): boolean {
    return existsSync(this.path);
  }

  create(): void {
    writeFileSync(this.path, `${process.pid}\n`);
  }

  remove(): void {
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
