/**
 * Exhaustive recovery on a small log (RocketMQ's testRecover, NATS's truncate tests): write
 * records, then for every cut point of the last CommitLog file restore the pristine files, cut
 * them, reopen, and check that exactly the longest valid prefix survives and that consume queues
 * and the index agree with it. For one flipped byte in every record (damage in the middle of the
 * last file, after a clean shutdown) every other record survives: recovery drops only the damaged
 * record and resynchronises at the next valid one, and reports what it dropped.
 *
 * The abort marker does not change what recovery verifies (the checkpoint does: after a crash it
 * lies behind the end, and everything from it is verified; see store-kill.test.ts); it changes
 * only the report. So these cases run once, on a dir left by a clean shutdown.
 *
 * Every cut point runs on the in-memory twin (fast); on real memory-mapped files the cut points
 * are the edges of every record, and every record gets a flipped byte.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, openSync, closeSync, ftruncateSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../../src/common/logger.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import { offsetFileName } from "../../../src/store/file-names.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";
import { physicalOffset, queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

interface Written {
  seq: number;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  key: string;
  body: Uint8Array;
}

const topic = "Recover";
const queues = 3;
const options = { ...tinyStoreProfile, logger: silentLogger, flushIntervalMs: 3_600_000 };
const random = seededRandom();
let pristine: string;
let pristineMemory: MemoryStorage;
const memoryDataDir = join(makeTempDir(), "memory-data");
let written: Written[] = [];
let lastFileBase = 0;
let lastFileEnd = 0;

function bodyFor(seq: number): Uint8Array {
  // Bodies of varied length so cuts land in every field of some record.
  const length = seq < 30 ? 1800 + (seq % 7) * 97 : 20 + (seq % 5) * 9;
  return new Uint8Array(length).map((_, index) => (seq * 31 + index) & 0xff);
}

async function writeAll(storeOptions: MessageStoreOptions): Promise<Written[]> {
  const result: Written[] = [];
  const store = await MessageStore.open(storeOptions);
  // ~30 large records fill the first file and spill into the second; then small ones.
  for (let seq = 0; seq < 62; seq++) {
    const key = `key-${seq}`;
    const body = bodyFor(seq);
    const appended = store.append({ topic, queueId: seq % queues, body, keys: [key], msgId: `MSG${seq}`, tags: seq % 2 === 0 ? "even" : "odd" });
    if (appended.status !== "ok") throw new Error(`append ${seq} failed: ${appended.status}`);
    result.push({ seq, queueId: seq % queues, queueOffset: appended.queueOffset, physicalOffset: appended.physicalOffset, size: appended.size, key, body });
  }
  await store.close();
  return result;
}

beforeAll(async () => {
  pristine = join(makeTempDir(), "data");
  written = await writeAll({ dataDir: pristine, ...options });
  pristineMemory = new MemoryStorage();
  const inMemory = await writeAll({ dataDir: memoryDataDir, ...options, storage: pristineMemory });
  expect(inMemory).toEqual(written);
  const last = written[written.length - 1]!;
  lastFileBase = last.physicalOffset - (last.physicalOffset % tinyStoreProfile.commitLogFileBytes);
  lastFileEnd = last.physicalOffset + last.size - lastFileBase;
  expect(lastFileBase).toBeGreaterThan(0); // the log rolled at least once
});

afterAll(removeTempDirs);

const work = join(makeTempDir(), "work");

function restore(withAbort: boolean): string {
  rmSync(work, { recursive: true, force: true });
  cpSync(pristine, work, { recursive: true });
  if (withAbort) writeFileSync(join(work, "abort"), "1\n");
  return join(work, "commitlog", offsetFileName(lastFileBase));
}

async function expectPrefix(survivors: number, context: string, storeOptions: MessageStoreOptions = { dataDir: work, ...options }): Promise<void> {
  await expectKept((seq) => seq < survivors, context, storeOptions);
}

/** Reopens the store and checks that exactly the records `kept` says survive, in every view. */
async function expectKept(kept: (seq: number) => boolean, context: string, storeOptions: MessageStoreOptions = { dataDir: work, ...options }): Promise<void> {
  const store = await MessageStore.open(storeOptions);
  try {
    const survivors = written.filter((record) => kept(record.seq));
    const lastKept = survivors[survivors.length - 1];
    const expectedEnd = lastKept === undefined ? 0 : lastKept.physicalOffset + lastKept.size;
    const position = store.commitLog.writePosition;
    // A log that ends in the file before the last continues at the last file's start (the
    // end-of-file marker pads the rest).
    const rolled = expectedEnd <= lastFileBase && position === lastFileBase;
    if (position !== expectedEnd && !rolled) expect(`${context}: write position ${position}`).toBe(`${context}: write position ${expectedEnd}`);
    for (let queueId = 0; queueId < queues; queueId++) {
      const expected = survivors.filter((record) => record.queueId === queueId);
      // A dropped record leaves a blank entry below the queue's last kept one.
      expect(`${context}: queue ${queueId} max ${store.maxOffset(topic, queueId)}`).toBe(`${context}: queue ${queueId} max ${(expected[expected.length - 1]?.queueOffset ?? -1) + 1}`);
      const read = store.getMessages({ topic, queueId, offset: asQueueOffset(0), maxCount: 100 });
      const seen = read.messages.map((message) => decodeRecord(read.buffer.subarray(message.position, message.position + message.size)).keys[0]);
      expect(seen).toEqual(expected.map((record) => record.key));
    }
    // Every record of the last file, and the last few of the file before it.
    for (const record of written.filter((entry) => entry.seq >= 25)) {
      const byOffset = store.getByPhysicalOffset(physicalOffset(record.physicalOffset));
      if (kept(record.seq)) {
        expect(byOffset?.body).toEqual(record.body);
        expect<number[]>(store.queryByKey(topic, record.key).map((message) => message.physicalOffset)).toEqual([record.physicalOffset]);
      } else {
        expect(byOffset).toBeUndefined();
        expect(store.queryByKey(topic, record.key)).toEqual([]);
        expect(store.queryByMsgId(`MSG${record.seq}`)).toBeUndefined();
      }
    }
    // The store takes writes after recovery.
    const after = store.append({ topic, queueId: 0, body: new Uint8Array([1]) });
    expect(after.status).toBe("ok");
  } finally {
    await store.close();
  }
}

function survivorsAfterCut(cutInLastFile: number): number {
  const cutAt = lastFileBase + cutInLastFile;
  return written.filter((record) => record.physicalOffset + record.size <= cutAt).length;
}

function restoreMemory(withAbort: boolean): MemoryStorage {
  const storage = pristineMemory.clone();
  const abortPath = join(memoryDataDir, "abort");
  if (withAbort) writeFileSync(abortPath, "1\n");
  else rmSync(abortPath, { force: true });
  return storage;
}

/** Cut points at both edges of every record of the last file, and in its middle. */
function recordEdgeCuts(): number[] {
  const cuts = new Set<number>([0, 1, lastFileEnd + 1]);
  for (const record of written.filter((entry) => entry.physicalOffset >= lastFileBase)) {
    const start = record.physicalOffset - lastFileBase;
    for (const cut of [start - 1, start, start + 1, start + Math.floor(record.size / 2), start + record.size - 1, start + record.size]) cuts.add(cut);
  }
  return [...cuts].filter((cut) => cut >= 0).sort((a, b) => a - b);
}

describe("MessageStore: recovery › truncation", () => {
  test("keeps exactly the longest valid prefix for every cut point of the last file (in memory)", async () => {
    const path = join(memoryDataDir, "commitlog", offsetFileName(lastFileBase));
    for (let cut = 0; cut <= lastFileEnd + 1; cut++) {
      const storage = restoreMemory(false);
      storage.truncate(path, cut);
      await expectPrefix(survivorsAfterCut(cut), `cut at ${cut}`, { dataDir: memoryDataDir, ...options, storage });
    }
  }, 240_000);

  test("keeps exactly the longest valid prefix for cuts at every record edge (memory-mapped files)", async () => {
    for (const cut of recordEdgeCuts()) {
      const path = restore(false);
      const fd = openSync(path, "r+");
      ftruncateSync(fd, cut);
      closeSync(fd);
      await expectPrefix(survivorsAfterCut(cut), `cut at ${cut}`);
    }
  }, 120_000);

  test("cuts a tail of garbage after the last record (a torn write that is not zeros)", async () => {
    const path = restore(false);
    const bytes = readFileSync(path);
    for (let at = lastFileEnd; at < lastFileEnd + 300; at++) bytes[at] = 1 + random.int(255);
    writeFileSync(path, bytes);
    await expectPrefix(written.length, "garbage tail");
  });
});

describe("MessageStore: recovery › corruption", () => {
  test(`drops only the record with one flipped byte and keeps every valid record after it, for every record of the last file (seed ${random.seed})`, async () => {
    for (const record of written.filter((entry) => entry.physicalOffset >= lastFileBase)) {
      const path = restore(false);
      const bytes = readFileSync(path);
      const at = record.physicalOffset - lastFileBase + random.int(record.size);
      bytes[at] = bytes[at]! ^ (1 + random.int(255));
      writeFileSync(path, bytes);
      await expectKept((seq) => seq !== record.seq, `flip at ${at} in record ${record.seq}`);
    }
  }, 120_000);

  test("reports each dropped range (offset, bytes) and keeps the records between and after them", async () => {
    const path = restore(false);
    const bytes = readFileSync(path);
    const victims = written.filter((entry) => entry.physicalOffset >= lastFileBase).filter((_, index) => index === 2 || index === 3 || index === 9);
    for (const victim of victims) {
      const at = victim.physicalOffset - lastFileBase + 40;
      bytes[at] = bytes[at]! ^ 0x5a;
    }
    writeFileSync(path, bytes);
    const store = await MessageStore.open({ dataDir: work, ...options });
    try {
      // Two neighbours form one damaged range; each range is everything up to the next valid record.
      expect(store.recovery.dropped.map((range) => [range.offset, range.bytes])).toEqual([
        [victims[0]!.physicalOffset, victims[0]!.size + victims[1]!.size],
        [victims[2]!.physicalOffset, victims[2]!.size],
      ]);
      expect(store.recovery.droppedBytes).toBe(victims.reduce((sum, victim) => sum + victim.size, 0));
      expect<number>(store.commitLog.writePosition).toBe(lastFileBase + lastFileEnd);
    } finally {
      await store.close();
    }
    const seqs = new Set(victims.map((victim) => victim.seq));
    await expectKept((seq) => !seqs.has(seq), "three damaged records");
  });

  test("a damaged end-of-file marker costs no record of the files after it", async () => {
    restore(false);
    const firstFile = join(work, "commitlog", offsetFileName(0));
    const bytes = readFileSync(firstFile);
    const lastOfFirst = written.filter((entry) => entry.physicalOffset < lastFileBase).at(-1)!;
    const markerAt = lastOfFirst.physicalOffset + lastOfFirst.size + 2;
    bytes[markerAt] = bytes[markerAt]! ^ 0xff;
    writeFileSync(firstFile, bytes);
    // Clean shutdown: recovery starts in the last file; a crash-like checkpoint makes it start at 0.
    rmSync(join(work, "checkpoint"));
    await expectKept(() => true, "damaged end-of-file marker");
  });

  test("never serves a corrupt record of an older file, which recovery does not re-verify", async () => {
    restore(false);
    const victim = written[3]!;
    const path = join(work, "commitlog", offsetFileName(0));
    const bytes = readFileSync(path);
    bytes[victim.physicalOffset + 200] = bytes[victim.physicalOffset + 200]! ^ 0xff;
    writeFileSync(path, bytes);
    const store = await MessageStore.open({ dataDir: work, ...options });
    try {
      expect(store.getByPhysicalOffset(physicalOffset(victim.physicalOffset))).toBeUndefined();
      const read = store.getMessages({ topic, queueId: victim.queueId, offset: asQueueOffset(0), maxCount: 100 });
      expect(read.corruptSkipped).toBe(1);
      expect(read.messages.map((message) => message.queueOffset)).not.toContain(victim.queueOffset);
      expect(read.messages.length).toBe(written.filter((record) => record.queueId === victim.queueId).length - 1);
    } finally {
      await store.close();
    }
  });

  test("rebuilds consume queues and the index when their files are lost", async () => {
    restore(true);
    rmSync(join(work, "consumequeue"), { recursive: true, force: true });
    rmSync(join(work, "index"), { recursive: true, force: true });
    expect(existsSync(join(work, "consumequeue"))).toBe(false);
    await expectPrefix(written.length, "derived data removed");
  });
});
