/**
 * The store's two long-lived helper threads and the promise plumbing around them: the flusher
 * (msync/fdatasync) and the allocator (create + warm the next file). Workers are started once
 * and kept: spawn/terminate churn is where Bun's Workers are fragile. They do not keep the
 * process alive while idle.
 *
 * A thread that dies (an uncaught error, an exit) or does not answer a request within its
 * timeout (stuck in a syscall on a dead disk) fails every pending request — flushes with
 * FLUSH_TIMEOUT, so sync sends, checkpoints and shutdown never hang — and is replaced by a new
 * thread for the requests that follow. `health` is not ok from such a failure until the new
 * thread answers, and while a request has waited longer than `flushStallReportMs`: the
 * readiness probe reports the broker not ready.
 */

import { MqError } from "../common/errors.ts";
import { flushRequestTimeoutMs, flushStallReportMs } from "../common/limits.ts";
import type { FlushJob, FlushResult } from "./workers/flush-worker.ts";
import type { AllocateJob, AllocateResult } from "./workers/allocator-worker.ts";
import { errnoName } from "./ffi/libc.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending<Result> {
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  startedMs: number;
}

export interface ThreadHealth {
  ok: boolean;
  /** Why the last request failed, while the thread has not answered one since. */
  failure: string | undefined;
  replacements: number;
}

interface ChannelOptions<Job extends { id: number }> {
  url: URL;
  name: string;
  /** No answer within this long fails the request and replaces the thread; undefined waits. */
  timeoutMs: number | undefined;
  /** The error pending requests fail with when the thread dies or times out. */
  failure: (reason: string) => MqError;
  /** A request still unanswered after this long makes `health` not ok; undefined never. */
  stallReportMs: number | undefined;
  /** A harmless job sent to a replacement thread, so an idle lane shows healthy once it answers. */
  probe: DistributiveOmit<Job, "id"> | undefined;
}

class WorkerChannel<Job extends { id: number }, Result extends { id: number }> {
  private worker: Worker;
  private readonly pending = new Map<number, Pending<Result>>();
  private nextId = 1;
  private stopped = false;
  private failure: string | undefined;
  private replacements = 0;

  constructor(private readonly options: ChannelOptions<Job>) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = new Worker(this.options.url.href);
    worker.unref();
    worker.onmessage = (event: MessageEvent<Result>) => {
      if (worker !== this.worker) return; // a replaced thread answering late
      const pending = this.pending.get(event.data.id);
      if (pending === undefined) return;
      this.pending.delete(event.data.id);
      if (pending.timer !== undefined) clearTimeout(pending.timer);
      if (this.pending.size === 0) worker.unref();
      this.failure = undefined;
      pending.resolve(event.data);
    };
    worker.onerror = (event) => {
      if (worker === this.worker && !this.stopped) this.replace(`the ${this.options.name} thread failed: ${event.message}`);
    };
    worker.addEventListener("close", (event) => {
      if (worker === this.worker && !this.stopped) this.replace(`the ${this.options.name} thread exited with code ${(event as CloseEvent).code}`);
    });
    return worker;
  }

  /** Fails every pending request and starts a new thread; the old one is dropped (it may be stuck). */
  private replace(reason: string): void {
    const old = this.worker;
    this.failure = reason;
    this.replacements += 1;
    const error = this.options.failure(reason);
    const failed = [...this.pending.values()];
    this.pending.clear();
    this.worker = this.spawn();
    old.terminate();
    for (const pending of failed) {
      if (pending.timer !== undefined) clearTimeout(pending.timer);
      pending.reject(error);
    }
    if (this.options.probe !== undefined) this.run(this.options.probe).catch(() => {});
  }

  run(job: DistributiveOmit<Job, "id">): Promise<Result> {
    if (this.stopped) return Promise.reject(new MqError("STORE_CLOSED", { state: "closed" }));
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs;
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.replace(`no answer from the ${this.options.name} thread within ${timeoutMs} ms`), timeoutMs);
      timer?.unref();
      this.pending.set(id, { resolve, reject, timer, startedMs: performance.now() });
      // Keep the process alive while the disk owes us an answer.
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...job, id });
    });
  }

  /** Sends a job nobody waits for (the flush thread's fault points). */
  post(job: DistributiveOmit<Job, "id">): void {
    this.worker.postMessage({ ...job, id: 0 });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  get health(): ThreadHealth {
    const failure = this.failure ?? this.stalled();
    return { ok: failure === undefined, failure, replacements: this.replacements };
  }

  private stalled(): string | undefined {
    const limitMs = this.options.stallReportMs;
    if (limitMs === undefined || this.pending.size === 0) return undefined;
    // Map iteration follows insertion: the first pending request is the oldest.
    const oldest = this.pending.values().next().value!;
    const waitedMs = performance.now() - oldest.startedMs;
    return waitedMs < limitMs ? undefined : `a request to the ${this.options.name} thread has waited ${Math.round(waitedMs)} ms`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.pending.size > 0) await Bun.sleep(1);
    this.worker.terminate();
  }
}

export class Flusher {
  private readonly channel: WorkerChannel<FlushJob, FlushResult>;

  constructor(limits: { timeoutMs?: number; stallReportMs?: number } = {}) {
    const timeoutMs = limits.timeoutMs ?? flushRequestTimeoutMs;
    this.channel = new WorkerChannel<FlushJob, FlushResult>({
      url: new URL("./workers/flush-worker.ts", import.meta.url),
      name: "flush",
      timeoutMs,
      failure: (reason) => new MqError("FLUSH_TIMEOUT", { reason, timeoutMs }),
      stallReportMs: limits.stallReportMs ?? flushStallReportMs,
      // msync of an empty range succeeds at once: it proves the new thread answers.
      probe: { kind: "msync", address: 0, length: 0, fd: -1 },
    });
  }

  async msync(address: number, length: number, path: string): Promise<void> {
    const result = await this.channel.run({ kind: "msync", address, length, fd: -1 });
    if (result.result !== 0) {
      throw new MqError("STORE_IO", { operation: "msync", path, reason: errnoName(result.errno) });
    }
  }

  get health(): ThreadHealth {
    return this.channel.health;
  }

  /** Fault point for tests: the flush thread dies ("crash") or hangs for `stallMs` ("stall"). */
  inject(fault: "crash" | "stall", stallMs = 0): void {
    this.channel.post({ kind: fault, address: 0, length: stallMs, fd: -1 });
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
  private readonly channel = new WorkerChannel<AllocateJob, AllocateResult>({
    url: new URL("./workers/allocator-worker.ts", import.meta.url),
    name: "allocator",
    // Allocating and warming a large file legitimately takes seconds: no timeout, only death.
    timeoutMs: undefined,
    failure: (reason) => new MqError("STORE_IO", { operation: "allocate", path: "", reason }),
    stallReportMs: undefined,
    probe: undefined,
  });

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
