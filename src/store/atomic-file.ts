/**
 * Atomic small-file writes for configuration and offsets: write a temp file, fsync it, rename it
 * over the target, fsync the directory. A crash leaves either the old or the new content, never
 * a mix. The async form runs on libuv's thread pool so the event loop never waits on the disk.
 */

import { closeSync, fsyncSync, openSync, renameSync, writeFileSync, readFileSync, existsSync, mkdirSync } from "node:fs";
import { open, rename, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { MqError } from "../common/errors.ts";

const writesInFlight = new Map<string, Promise<void>>();

/** Concurrent writes to one path run in order, so the last call's content wins. */
export function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const previous = writesInFlight.get(path) ?? Promise.resolve();
  const write = previous.catch(() => {}).then(() => writeOnce(path, content));
  writesInFlight.set(path, write);
  void write.finally(() => {
    if (writesInFlight.get(path) === write) writesInFlight.delete(path);
  }).catch(() => {});
  return write;
}

async function writeOnce(path: string, content: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

export function writeFileAtomicSync(path: string, content: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, content);
  const fd = openSync(temporary, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function readFileIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/** The parsed JSON of a file written by `writeFileAtomic`, undefined when it does not exist; `what` names it in the STORE_CORRUPT error a malformed file gets. */
export function readJsonFileIfExists(path: string, what: string): unknown {
  const text = readFileIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MqError("STORE_CORRUPT", { what, reason: `not JSON: ${(error as Error).message}` });
  }
}
