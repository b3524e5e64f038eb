/**
 * Flush thread: runs msync/fdatasync so the event loop never waits on the disk. It shares the
 * process's address space, so the main thread sends raw mapping addresses. A job on a range
 * that was unmapped meanwhile fails with ENOMEM; it never faults.
 */

import { libc, errno, MS_SYNC } from "../ffi/libc.ts";

declare const self: Worker;

export interface FlushJob {
  id: number;
  /** "crash" and "stall" are fault points for tests: the thread dies, or hangs for `length` ms. */
  kind: "msync" | "fdatasync" | "crash" | "stall";
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
  if (job.kind === "crash") throw new Error("The flush thread crashed: fault point");
  if (job.kind === "stall") {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.length);
    return;
  }
  const startMs = performance.now();
  const result =
    job.kind === "msync"
      ? libc.msync(job.address as unknown as Parameters<typeof libc.msync>[0], job.length, MS_SYNC)
      : libc.fdatasync(job.fd);
  const reply: FlushResult = { id: job.id, result, errno: result === 0 ? 0 : errno(), durationMs: performance.now() - startMs };
  self.postMessage(reply);
};
