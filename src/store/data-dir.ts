/**
 * The data directory's guards: an exclusive lock (one process per data dir, held with flock so
 * a killed process releases it) and the abort marker, which exists exactly while a store is
 * open — finding it at start means the last run did not shut down cleanly.
 */

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, ftruncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import { libc, LOCK_EX, LOCK_NB } from "./ffi/libc.ts";

export class DataDirLock {
  private constructor(private readonly fd: number, readonly path: string) {}

  static acquire(dir: string): DataDirLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "lock");
    const fd = openSync(path, "a+");
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
