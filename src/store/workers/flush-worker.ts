/**
 * Flush thread: runs msync/fdatasync so the event loop never waits on the disk. It shares the
 * process's address space, so the main thread sends raw mapping addresses. A job on a range
 * that was unmapped meanwhile fails with ENOMEM; it never faults.
 */

import { libc, errno, MS_SYNC } from "../ffi/libc.ts";

declare const self: Worker;

export interface FlushJob {
  id: number;
  kind: "msync" | "fdatasync";
  address: number;
  length: number;
  fd: number;
}

export interface FlushResult {
  id: number;
  result: number;
  errno: number;
  durationMs: number;
}

self.onmessage = (event: MessageEvent<FlushJob>) => {
  const job = event.data;
  const startMs = performance.now();
  const result =
    job.kind === "msync"
      ? libc.msync(job.address as unknown as Parameters<typeof libc.msync>[0], job.length, MS_SYNC)
      : libc.fdatasync(job.fd);
  const reply: FlushResult = { id: job.id, result, errno: result === 0 ? 0 : errno(), durationMs: performance.now() - startMs };
  self.postMessage(reply);
};
