/**
 * What the benchmark scripts share: a standalone broker on a loopback port over a fresh store
 * (the child process each script measures against) and the ready line it prints, the seeded
 * generator their inputs come from, and the windowed driver that keeps a fixed number of
 * operations in flight. The broker's modules are imported when it starts, so a driver process
 * never loads them.
 */

import type { Broker, BrokerOptions } from "../src/broker/broker.ts";
import type { Server } from "../src/net/server.ts";
import type { MessageStore } from "../src/store/message-store.ts";

export interface BenchBroker {
  readonly server: Server;
  readonly store: MessageStore;
  readonly broker: Broker;
  /** Milliseconds to open the store, and then to start the broker on it. */
  readonly storeOpenMs: number;
  readonly brokerStartMs: number;
}

export interface BenchBrokerOptions {
  readonly dataDir: string;
  readonly commitLogFileBytes: number;
  readonly config?: BrokerOptions["config"];
  readonly clock?: BrokerOptions["clock"];
}

export async function startBenchBroker(options: BenchBrokerOptions): Promise<BenchBroker> {
  const { EventBus } = await import("../src/common/bus.ts");
  const { silentLogger } = await import("../src/common/logger.ts");
  const { Server } = await import("../src/net/server.ts");
  const { MessageStore } = await import("../src/store/message-store.ts");
  const { Broker } = await import("../src/broker/broker.ts");
  const server = await Server.listen({ host: "127.0.0.1", port: 0, logger: silentLogger });
  const storeStartMs = performance.now();
  const store = await MessageStore.open({ dataDir: options.dataDir, commitLogFileBytes: options.commitLogFileBytes, logger: silentLogger, storeHost: { ip: "127.0.0.1", port: server.port }, bus: new EventBus() });
  const brokerStartMs = performance.now();
  const broker = await Broker.start({ store, server, advertisedHost: "127.0.0.1", logger: silentLogger, ...(options.clock === undefined ? {} : { clock: options.clock }), ...(options.config === undefined ? {} : { config: options.config }) });
  const doneMs = performance.now();
  return { server, store, broker, storeOpenMs: brokerStartMs - storeStartMs, brokerStartMs: doneMs - brokerStartMs };
}

/** The first line a broker child prints once it serves (its port, as JSON), parsed. */
export async function readyLine<T>(stdout: ReadableStream<Uint8Array>): Promise<T> {
  const reader = stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the broker child exited before it was ready");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return JSON.parse(text.slice(0, text.indexOf("\n"))) as T;
}

/** A seeded generator (mulberry32): the same inputs every run. */
export function seededRandom(start: number): () => number {
  let state = start >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface WindowedRun {
  readonly label: string;
  readonly total: number;
  /** Operations in flight at most. */
  readonly window: number;
}

/** Runs `total` operations with at most `window` in flight, printing progress each second; seconds taken. */
export async function windowed(run: WindowedRun, operation: (index: number) => Promise<unknown>): Promise<number> {
  const startMs = performance.now();
  let next = 0;
  let done = 0;
  const progress = setInterval(() => console.log(`  ${run.label}: ${done.toLocaleString("en")} / ${run.total.toLocaleString("en")}`), 1_000);
  const worker = async (): Promise<void> => {
    while (next < run.total) {
      const index = next++;
      await operation(index);
      done += 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(run.window, run.total) }, worker));
  } finally {
    clearInterval(progress);
  }
  return (performance.now() - startMs) / 1000;
}
