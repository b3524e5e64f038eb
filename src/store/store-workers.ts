/**
 * The store's two long-lived helper threads and the promise plumbing around them: the flusher
 * (msync/fdatasync) and the allocator (create + warm the next file). Workers are started once
 * and kept: spawn/terminate churn is where Bun's Workers are fragile. They do not keep the
 * process alive while idle.
 */

import { MqError } from "../common/errors.ts";
import type { FlushJob, FlushResult } from "./workers/flush-worker.ts";
import type { AllocateJob, AllocateResult } from "./workers/allocator-worker.ts";
import { errnoName } from "./ffi/libc.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending<Result> {
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
}

class WorkerChannel<Job extends { id: number }, Result extends { id: number }> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending<Result>>();
  private nextId = 1;
  private stopped = false;

  constructor(url: URL, private readonly name: string) {
    this.worker = new Worker(url.href);
    this.worker.unref();
    this.worker.onmessage = (event: MessageEvent<Result>) => {
      const pending = this.pending.get(event.data.id);
      if (pending === undefined) return;
      this.pending.delete(event.data.id);
      if (this.pending.size === 0) this.worker.unref();
      pending.resolve(event.data);
    };
    this.worker.onerror = (event) => {
      const error = new MqError("INTERNAL", { reason: `${this.name} thread failed: ${event.message}` });
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
  }

  run(job: DistributiveOmit<Job, "id">): Promise<Result> {
    if (this.stopped) return Promise.reject(new MqError("STORE_CLOSED", { state: "closed" }));
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive while the disk owes us an answer.
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...job, id });
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.pending.size > 0) await Bun.sleep(1);
    this.worker.terminate();
  }
}

export class Flusher {
  private readonly channel = new WorkerChannel<FlushJob, FlushResult>(
    new URL("./workers/flush-worker.ts", import.meta.url),
    "flush",
  );

  async msync(address: number, length: number, path: string): Promise<void> {
    const result = await this.channel.run({ kind: "msync", address, length, fd: -1 });
    if (result.result !== 0) {
      throw new MqError("STORE_IO", { operation: "msync", path, reason: errnoName(result.errno) });
    }
  }

  stop(): Promise<void> {
    return this.channel.stop();
  }
}

export interface AllocatedMapping {
  fd: number;
  address: number;
}

export class Allocator {
  private readonly channel = new WorkerChannel<AllocateJob, AllocateResult>(
    new URL("./workers/allocator-worker.ts", import.meta.url),
    "allocator",
  );

  async allocate(path: string, size: number, warmBytes: number): Promise<AllocatedMapping> {
    const result = await this.channel.run({ kind: "allocate", path, size, warmBytes });
    if (result.error !== undefined) {
      throw new MqError("STORE_IO", { operation: "allocate", path, reason: result.error });
    }
    return { fd: result.fd, address: result.address };
  }

  /** Faults in [address, address + length) of a live mapping, off the event loop. */
  async warm(address: number, length: number, path: string): Promise<void> {
    const result = await this.channel.run({ kind: "warm", address, length });
    if (result.error !== undefined) throw new MqError("STORE_IO", { operation: "warm", path, reason: result.error });
  }

  stop(): Promise<void> {
    return this.channel.stop();
  }
}
