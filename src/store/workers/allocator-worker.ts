/**
 * Allocation thread: creates the next file ahead of need (open, fallocate, mmap) and warms it,
 * window by window, with madvise(MADV_POPULATE_WRITE), so appends never stall on first-touch faults
 * (~4 µs per 1 KiB append cold, ~0.2 µs warm). The mapping is made here and handed to the main
 * thread by address: one process, one address space.
 */

import { existsSync, unlinkSync } from "node:fs";
import {
  libc, allocateBlocks, errno, errnoName, cString, isMapFailed, O_CREAT, O_RDWR, O_CLOEXEC, PROT_READ, PROT_WRITE, MAP_SHARED,
  MADV_POPULATE_WRITE,
} from "../ffi/libc.ts";

declare const self: Worker;

export type AllocateJob =
  | { id: number; kind: "allocate"; path: string; size: number; warmBytes: number }
  | { id: number; kind: "warm"; address: number; length: number };

export interface AllocateResult {
  id: number;
  fd: number;
  address: number;
  error: string | undefined;
  durationMs: number;
}

self.onmessage = (event: MessageEvent<AllocateJob>) => {
  const job = event.data;
  const startMs = performance.now();
  if (job.kind === "warm") {
    // An unmapped range (the file was closed meanwhile) fails with ENOMEM; it never faults.
    const result = libc.madvise(job.address as unknown as Parameters<typeof libc.madvise>[0], job.length, MADV_POPULATE_WRITE);
    const reply: AllocateResult = { id: job.id, fd: -1, address: job.address, error: result === 0 ? undefined : `madvise failed (errno ${errno()})`, durationMs: performance.now() - startMs };
    self.postMessage(reply);
    return;
  }
  const reply = (fd: number, address: number, error?: string) => {
    const result: AllocateResult = { id: job.id, fd, address, error, durationMs: performance.now() - startMs };
    self.postMessage(result);
  };
  const existed = existsSync(job.path);
  const fd = libc.open(cString(job.path), O_RDWR | O_CREAT | O_CLOEXEC, 0o644);
  if (fd < 0) return reply(-1, 0, `open failed (errno ${errno()})`);
  // The blocks are reserved now, so a full disk shows here, not as SIGBUS on a later write.
  const failed = allocateBlocks(fd, job.size);
  if (failed !== 0) {
    libc.close(fd);
    if (!existed) unlinkSync(job.path); // no empty file left for the next start to trip on
    return reply(-1, 0, errnoName(failed));
  }
  const address = libc.mmap(null, job.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (isMapFailed(address)) {
    const code = errno();
    libc.close(fd);
    return reply(-1, 0, `mmap failed (errno ${code})`);
  }
  // Best effort: an old kernel without MADV_POPULATE_WRITE just gets a cold file. Only the first
  // window is warmed; the CommitLog asks for more as writing approaches it, so resident memory
  // stays near what is written.
  if (job.warmBytes > 0) libc.madvise(address, Math.min(job.warmBytes, job.size), MADV_POPULATE_WRITE);
  reply(fd, Number(address));
};
