/**
 * The index and the consume queues are derived from the CommitLog: when they are found missing
 * or damaged at start (index/ deleted between runs, an index file cut short, a consume-queue file
 * missing, a queue's directory deleted), the store logs it and rebuilds them from the CommitLog, with progress each second,
 * so lookups by key and msgId and reads by queue offset find every message again.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { ManualClock, type Clock } from "../../../src/common/clock.ts";
import { createLogger } from "../../../src/common/logger.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const messages = 40;

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: "info", write: (line) => void lines.push(line.replace(/^\S+ \S+\s+/, "")) }) }; // the message alone
}

function storeOptions(dataDir: string, overrides: Partial<MessageStoreOptions> = {}): MessageStoreOptions {
  return { dataDir, ...tinyStoreProfile, logger: capturingLogger().logger, clock: new ManualClock(), diskUsage: () => 0, ...overrides };
}

function msgIdOf(index: number): string {
  return `ABCD${index.toString(16).toUpperCase().padStart(28, "0")}`;
}

/** A cleanly closed store with `messages` keyed messages over two queues. */
async function filledDataDir(): Promise<string> {
  const dataDir = join(makeTempDir(), "data");
  const store = await MessageStore.open(storeOptions(dataDir));
  for (let index = 0; index < messages; index++) {
    expect(store.append({ topic: "R", queueId: index % 2, body: encoder.encode(`m${index}`), keys: [`k${index}`], msgId: msgIdOf(index) }).status).toBe("ok");
  }
  await store.close();
  return dataDir;
}

function queueBodies(store: MessageStore, queueId: number): string[] {
  const read = store.getMessages({ topic: "R", queueId, offset: asQueueOffset(0), maxCount: 100 });
  return read.messages.map((message) => decoder.decode(decodeRecord(read.buffer.subarray(message.position, message.position + message.size)).body));
}

async function expectEverythingFound(dataDir: string, damage: string | RegExp): Promise<void> {
  const { lines, logger } = capturingLogger();
  const store = await MessageStore.open(storeOptions(dataDir, { logger }));
  try {
    expect(store.recovery.recordsReplayed).toBe(messages);
    const rebuilding = lines.filter((line) => line.includes("Rebuilding"));
    expect(rebuilding.length).toBe(1);
    if (typeof damage === "string") expect(rebuilding[0]).toBe(`Rebuilding the index and consume queues from the CommitLog (0 MiB): ${damage}`);
    else expect(rebuilding[0]).toMatch(damage);
    for (let index = 0; index < messages; index++) {
      expect(store.queryByKey("R", `k${index}`).map((message) => decoder.decode(message.body))).toEqual([`m${index}`]);
      expect(store.queryByMsgId(msgIdOf(index))?.msgId).toBe(msgIdOf(index));
    }
    expect(queueBodies(store, 0)).toEqual(Array.from({ length: messages / 2 }, (_, index) => `m${index * 2}`));
    expect(queueBodies(store, 1)).toEqual(Array.from({ length: messages / 2 }, (_, index) => `m${index * 2 + 1}`));
  } finally {
    await store.close();
  }
  // Rebuilt once: the next open has nothing to rebuild.
  const again = await MessageStore.open(storeOptions(dataDir));
  try {
    expect(again.recovery.recordsReplayed).toBe(0);
    expect(again.queryByKey("R", "k0").length).toBe(1);
  } finally {
    await again.close();
  }
}

describe("Derived data rebuilt at start", () => {
  test("a deleted index directory is rebuilt: lookups by key and msgId work after reopen", async () => {
    const dataDir = await filledDataDir();
    rmSync(join(dataDir, "index"), { recursive: true });
    await expectEverythingFound(dataDir, "the index directory is missing");
  });

  test("an index file cut short is rebuilt", async () => {
    const dataDir = await filledDataDir();
    const files = readdirSync(join(dataDir, "index")).sort();
    expect(files.length).toBeGreaterThan(1);
    truncateSync(join(dataDir, "index", files[0]!), 100);
    await expectEverythingFound(dataDir, `index file ${files[0]} is 100 bytes, expected 956`);
  });

  test("a consume queue with a file missing is rebuilt", async () => {
    const dataDir = await filledDataDir();
    const queueDir = join(dataDir, "consumequeue", "R", "0");
    const files = readdirSync(queueDir).sort();
    expect(files.length).toBeGreaterThan(2);
    rmSync(join(queueDir, files[1]!));
    await expectEverythingFound(dataDir, `consume queue 0 of "R" was damaged`);
  });

  test("a consume queue whose directory was deleted is rebuilt", async () => {
    const dataDir = await filledDataDir();
    rmSync(join(dataDir, "consumequeue", "R", "1"), { recursive: true });
    await expectEverythingFound(dataDir, /^Rebuilding the index and consume queues from the CommitLog \(0 MiB\): consume queue 1 of "R" has no entry for queue offset \d+$/);
  });

  test("a deleted consume-queue directory is rebuilt", async () => {
    const dataDir = await filledDataDir();
    rmSync(join(dataDir, "consumequeue"), { recursive: true });
    await expectEverythingFound(dataDir, "no consume queue is on disk");
  });

  test("a long rebuild logs its progress each second", async () => {
    const dataDir = join(makeTempDir(), "data");
    const store = await MessageStore.open(storeOptions(dataDir));
    const count = 3_000;
    for (let index = 0; index < count; index++) expect(store.append({ topic: "P", queueId: index % 4, body: encoder.encode(`p${index}`), keys: [`p${index}`] }).status).toBe("ok");
    await store.close();
    rmSync(join(dataDir, "index"), { recursive: true });
    // Each reading of the monotonic clock is 0.6 s later than the one before; replay reads it
    // every 1024 records, so the second reading is past a second and reports.
    let monotonicMs = 0;
    const manual = new ManualClock();
    const steppingClock: Clock = { nowMs: () => manual.nowMs(), monotonicMs: () => (monotonicMs += 600), setTimeout: manual.setTimeout.bind(manual), setInterval: manual.setInterval.bind(manual) };
    const { lines, logger } = capturingLogger();
    const reopened = await MessageStore.open(storeOptions(dataDir, { logger, clock: steppingClock }));
    try {
      expect(reopened.recovery.recordsReplayed).toBe(count);
      expect(lines.filter((line) => line.includes("Recovery: replayed")).map((line) => line.replace(/, .*/, ""))).toEqual(["Recovery: replayed 2048 records"]);
      expect(reopened.queryByKey("P", "p2999").length).toBe(1);
    } finally {
      await reopened.close();
    }
  }, 30_000);
});
