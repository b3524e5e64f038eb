/**
 * Retention driven by an injected clock and disk probe: which CommitLog files go and when, what
 * follows them (consume-queue minimums, index files), and how a full disk refuses appends while
 * reads go on. Timers are pushed out of reach so every check runs exactly when the test calls
 * `retention.run()`, except in the one test that is about the timer.
 *
 * The delete hour is compared in local time (`Date#getHours`), so times here are built with the
 * local-time `Date` constructor.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { putStatusError, type PutResult } from "../../../src/store/put-message.ts";
import { defaultMmapStorage, tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { physicalOffset, queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";
import { offsetFileName } from "../../../src/store/file-names.ts";
import { LateAllocatorStorage } from "../../helpers/late-allocator-storage.ts";

const topic = "Retention";
const hourMs = 3_600_000;
const neverMs = 365 * 24 * hourMs;
const fileBytes = tinyStoreProfile.commitLogFileBytes;
const bodyBytes = 2000; // ~31 records per 64 KiB CommitLog file

/** Milliseconds of 2026-01-<day> <hour>:<minute> in local time. */
function localMs(day: number, hour: number, minute = 0): number {
  return new Date(2026, 0, day, hour, minute).getTime();
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface Appended {
  seq: number;
  key: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
}

interface Harness {
  dir: string;
  store: MessageStore;
  clock: ManualClock;
  /** What the disk probe answers; tests change it between runs. */
  disk: { usedRatio: number | (() => number) };
  appended: Appended[];
  /** Appends until the CommitLog has `files` files (the last holding one record), then flushes. */
  appendUntilFiles(files: number): Promise<void>;
  append(queueId?: number): PutResult;
}

const openStores: MessageStore[] = [];
afterAll(async () => {
  for (const store of openStores) await store.close();
});

async function openHarness(overrides: Partial<MessageStoreOptions> = {}, disk: Harness["disk"] = { usedRatio: 0.1 }): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "mq-retention-"));
  tempDirs.push(dir);
  const clock = new ManualClock(localMs(1, 1));
  const store = await MessageStore.open({
    dataDir: dir,
    ...tinyStoreProfile,
    clock,
    logger: silentLogger,
    diskUsage: () => (typeof disk.usedRatio === "number" ? disk.usedRatio : disk.usedRatio()),
    flushIntervalMs: neverMs,
    retentionCheckIntervalMs: neverMs,
    ...overrides,
  });
  openStores.push(store);
  const appended: Appended[] = [];
  const harness: Harness = {
    dir,
    store,
    clock,
    disk,
    appended,
    append(queueId = appended.length % 2) {
      const seq = appended.length;
      const key = `m${seq}`;
      const body = new Uint8Array(bodyBytes).fill(seq & 0xff);
      const result = store.append({ topic, queueId, body, keys: [key] });
      if (result.status === "ok") appended.push({ seq, key, queueId, queueOffset: result.queueOffset, physicalOffset: result.physicalOffset });
      return result;
    },
    async appendUntilFiles(files) {
      while (store.commitLog.fileCount < files) expect(harness.append().status).toBe("ok");
      await store.checkpointNow();
    },
  };
  return harness;
}

/** Paths of the CommitLog files on disk, oldest first. */
function commitLogFiles(dir: string): string[] {
  return readdirSync(join(dir, "commitlog")).sort().map((name) => join(dir, "commitlog", name));
}

function commitLogFileIndex(physicalOffset: number): number {
  return Math.floor(physicalOffset / fileBytes);
}

/** Three full files written at 01:00 on Jan 1 and a fourth being written, holding a few records. */
async function harnessWithFilesOfOneAge(overrides: Partial<MessageStoreOptions> = {}): Promise<Harness> {
  const harness = await openHarness(overrides);
  await harness.appendUntilFiles(4);
  for (let count = 0; count < 4; count++) expect(harness.append().status).toBe("ok");
  await harness.store.checkpointNow();
  return harness;
}

/** File 0 closed at 01:00 on Jan 1; files 1 and 2 closed 48 h later; file 3 being written. */
async function harnessWithFilesOfTwoAges(disk?: Harness["disk"]): Promise<Harness> {
  const harness = await openHarness({}, disk);
  await harness.appendUntilFiles(2);
  harness.clock.set(localMs(3, 1));
  await harness.appendUntilFiles(4);
  return harness;
}

describe("MessageStore: retention", () => {
  test("deletes files older than fileReservedTimeHours at deleteWhenHour and not at other hours", async () => {
    const { store, clock } = await harnessWithFilesOfOneAge();
    expect(store.options.fileReservedTimeHours).toBe(72);
    expect(store.options.deleteWhenHour).toBe(4);
    for (const at of [localMs(5, 3), localMs(5, 3, 59), localMs(5, 5), localMs(5, 23)]) {
      clock.set(at);
      expect(store.retention.run().filesDeleted).toBe(0);
      expect(store.commitLog.fileCount).toBe(4);
    }
    clock.set(localMs(6, 4, 30));
    expect(store.retention.run()).toEqual({ usedRatio: 0.1, diskFull: false, filesDeleted: 3, filesKeptForTimers: 0 });
    expect(store.stats().commitLogFiles).toBe(1);
    expect<number>(store.stats().commitLogMinOffset).toBe(3 * fileBytes);
  });

  test("keeps files younger than fileReservedTimeHours at deleteWhenHour", async () => {
    const { store, clock } = await harnessWithFilesOfTwoAges();
    clock.set(localMs(4, 4)); // file 0 closed 75 h ago, files 1 and 2 27 h ago
    expect(store.retention.run().filesDeleted).toBe(1);
    expect<number>(store.stats().commitLogMinOffset).toBe(fileBytes);
    clock.set(localMs(5, 4)); // 51 h
    expect(store.retention.run().filesDeleted).toBe(0);
    clock.set(localMs(6, 4)); // 75 h
    expect(store.retention.run().filesDeleted).toBe(2);
    expect<number>(store.stats().commitLogMinOffset).toBe(3 * fileBytes);
  });

  test("deletes expired files at any hour once disk use reaches diskMaxUsedSpaceRatio", async () => {
    const harness = await harnessWithFilesOfTwoAges();
    const { store, clock, disk } = harness;
    clock.set(localMs(4, 15)); // file 0 expired, files 1 and 2 not; not the delete hour
    disk.usedRatio = 0.74;
    expect(store.retention.run().filesDeleted).toBe(0);
    disk.usedRatio = 0.75;
    expect(store.retention.run()).toEqual({ usedRatio: 0.75, diskFull: false, filesDeleted: 1, filesKeptForTimers: 0 });
    expect(store.retention.run().filesDeleted).toBe(0); // below diskCleanForciblyRatio young files stay
    expect<number>(store.stats().commitLogMinOffset).toBe(fileBytes);
  });

  test("deletes unexpired files, oldest first, until disk use drops below diskCleanForciblyRatio", async () => {
    // Each CommitLog file counts for 2% of the disk: 5 files = 90%, 2 files = 84%.
    const holder: { store?: MessageStore } = {};
    const harness = await openHarness({}, { usedRatio: () => (holder.store === undefined ? 0.1 : 0.8 + 0.02 * holder.store.commitLog.fileCount) });
    holder.store = harness.store;
    await harness.appendUntilFiles(5);
    harness.clock.set(localMs(1, 2)); // everything is an hour old
    expect(harness.store.options.diskCleanForciblyRatio).toBe(0.85);
    expect(harness.store.retention.run()).toEqual({ usedRatio: 0.8 + 0.02 * 2, diskFull: false, filesDeleted: 3, filesKeptForTimers: 0 });
    expect<number>(harness.store.stats().commitLogMinOffset).toBe(3 * fileBytes);
  });

  test("never deletes the file being written, however full the disk", async () => {
    const { store, disk, appended } = await harnessWithFilesOfOneAge();
    disk.usedRatio = 1;
    expect(store.retention.run()).toEqual({ usedRatio: 1, diskFull: true, filesDeleted: 3, filesKeptForTimers: 0 });
    expect(store.retention.run().filesDeleted).toBe(0);
    expect(store.stats().commitLogFiles).toBe(1);
    const last = appended[appended.length - 1]!;
    expect(commitLogFileIndex(last.physicalOffset)).toBe(3);
    expect(store.getByPhysicalOffset(physicalOffset(last.physicalOffset))?.keys).toEqual([last.key]);
    const read = store.getMessages({ topic, queueId: last.queueId, offset: asQueueOffset(last.queueOffset), maxCount: 1 });
    expect(read.status).toBe("found");
    expect<number | undefined>(read.messages[0]?.physicalOffset).toBe(last.physicalOffset);
  });

  test("never deletes the only file, even when it is not full", async () => {
    const { store, disk, append } = await openHarness();
    for (let count = 0; count < 5; count++) expect(append().status).toBe("ok");
    await store.checkpointNow();
    disk.usedRatio = 1;
    expect(store.retention.run().filesDeleted).toBe(0);
    expect(store.getMessages({ topic, queueId: 0, offset: asQueueOffset(0), maxCount: 8 }).messages.length).toBe(3);
  });

  test("moves each consume queue's minOffset past deleted records; reads below it return offset_too_small", async () => {
    const { dir, store, clock, appended } = await harnessWithFilesOfOneAge();
    clock.set(localMs(6, 4));
    expect(store.retention.run().filesDeleted).toBe(3);
    const commitLogMin = store.stats().commitLogMinOffset;
    for (const queueId of [0, 1]) {
      const firstKept = appended.find((message) => message.queueId === queueId && message.physicalOffset >= commitLogMin)!;
      expect(firstKept.queueOffset).toBeGreaterThan(8); // so whole consume-queue files went too
      expect<number>(store.minOffset(topic, queueId)).toBe(firstKept.queueOffset);

      const below = store.getMessages({ topic, queueId, offset: asQueueOffset(0), maxCount: 4 });
      expect(below.status).toBe("offset_too_small");
      expect(below.messages).toEqual([]);
      expect<number>(below.nextOffset).toBe(firstKept.queueOffset);
      expect(store.getMessages({ topic, queueId, offset: asQueueOffset(firstKept.queueOffset - 1), maxCount: 4 }).status).toBe("offset_too_small");

      const from = store.getMessages({ topic, queueId, offset: asQueueOffset(firstKept.queueOffset), maxCount: 1 });
      expect(from.status).toBe("found");
      expect<number | undefined>(from.messages[0]?.physicalOffset).toBe(firstKept.physicalOffset);

      // Consume-queue files (8 entries each) whose every entry points at deleted records are gone.
      const files = readdirSync(join(dir, "consumequeue", topic, String(queueId))).sort();
      const firstFile = firstKept.queueOffset - (firstKept.queueOffset % 8);
      expect(files[0]).toBe(String(firstFile).padStart(20, "0"));
    }
    expect(store.getByPhysicalOffset(physicalOffset(appended[0]!.physicalOffset))).toBeUndefined();
  });

  test("keeps each consume queue's minOffset past deleted records across a restart, though the allocator thread ran late", async () => {
    // The files prepared ahead of need are created only after retention deleted the old ones: an
    // allocation still in flight must not bring a deleted file back (the next start would take the
    // log to begin at it, and every queue's minimum with it).
    const storage = new LateAllocatorStorage(defaultMmapStorage());
    const { dir, store, clock } = await harnessWithFilesOfOneAge({ storage });
    clock.set(localMs(6, 4));
    expect(store.retention.run().filesDeleted).toBe(3);
    const commitLogMin = store.stats().commitLogMinOffset;
    const before = [store.minOffset(topic, 0), store.minOffset(topic, 1)];
    expect(storage.waiting).toContain(join(dir, "commitlog", offsetFileName(0))); // deleted, and still to be allocated
    await storage.catchUp();
    await store.close();
    expect(commitLogFiles(dir).map((path) => Number(basename(path)))[0]).toBe(commitLogMin);
    const reopened = await MessageStore.open({ dataDir: dir, ...tinyStoreProfile, clock, logger: silentLogger, diskUsage: () => 0.1, flushIntervalMs: neverMs, retentionCheckIntervalMs: neverMs });
    try {
      expect<number>(reopened.stats().commitLogMinOffset).toBe(commitLogMin);
      expect([reopened.minOffset(topic, 0), reopened.minOffset(topic, 1)]).toEqual(before);
      expect(reopened.getMessages({ topic, queueId: 0, offset: asQueueOffset(0), maxCount: 4 }).status).toBe("offset_too_small");
    } finally {
      await reopened.close();
    }
  });

  test("removes index files that point only at deleted records, and their keys stop resolving", async () => {
    const { dir, store, clock, appended } = await harnessWithFilesOfOneAge();
    const entriesPerFile = tinyStoreProfile.indexEntriesPerFile; // one key per message
    const indexFilesBefore = store.stats().indexFiles;
    expect(indexFilesBefore).toBe(Math.ceil(appended.length / entriesPerFile));
    clock.set(localMs(6, 4));
    expect(store.retention.run().filesDeleted).toBe(3);
    const commitLogMin = store.stats().commitLogMinOffset;
    // Index file k (from 0) holds messages [k * 32, k * 32 + 31]; it goes once its last one is gone.
    let expectedGone = 0;
    const lastOfIndexFile = (file: number) => appended[(file + 1) * entriesPerFile - 1];
    while ((lastOfIndexFile(expectedGone)?.physicalOffset ?? Infinity) < commitLogMin) expectedGone += 1;
    expect(expectedGone).toBeGreaterThan(0);
    expect(store.stats().indexFiles).toBe(indexFilesBefore - expectedGone);
    expect(readdirSync(join(dir, "index")).length).toBe(indexFilesBefore - expectedGone);

    for (const message of appended) {
      const found = store.queryByKey(topic, message.key).map((stored) => stored.physicalOffset);
      expect<unknown>({ key: message.key, found }).toEqual({ key: message.key, found: message.physicalOffset >= commitLogMin ? [message.physicalOffset] : [] });
    }
  });

  test("refuses append and put with disk_full at diskFullRatio while reads go on, and resumes after a run once use drops", async () => {
    const { store, disk, append, appended } = await openHarness();
    for (let count = 0; count < 6; count++) expect(append(0).status).toBe("ok");
    disk.usedRatio = 0.9;
    expect(store.retention.run()).toEqual({ usedRatio: 0.9, diskFull: true, filesDeleted: 0, filesKeptForTimers: 0 });
    expect(store.stats().diskFull).toBe(true);

    const refused = append(0);
    expect(refused).toEqual({ status: "disk_full", usedRatio: 0.9, limitRatio: 0.9 });
    expect(await store.put({ topic, queueId: 0, body: new Uint8Array(1) })).toEqual({ status: "disk_full", usedRatio: 0.9, limitRatio: 0.9 });
    if (refused.status !== "ok") {
      const error = putStatusError(refused);
      expect(error.errorName).toBe("STORE_DISK_FULL");
      expect(error.message).toBe("Cannot append message: disk is 90% full, limit is 90%");
    }
    expect<number>(store.maxOffset(topic, 0)).toBe(6);

    const read = store.getMessages({ topic, queueId: 0, offset: asQueueOffset(0), maxCount: 32 });
    expect(read.status).toBe("found");
    expect<number[]>(read.messages.map((message) => message.physicalOffset)).toEqual(appended.map((message) => message.physicalOffset));
    expect<number[]>(store.queryByKey(topic, "m3").map((message) => message.physicalOffset)).toEqual([appended[3]!.physicalOffset]);

    disk.usedRatio = 0.89;
    expect(store.retention.run()).toEqual({ usedRatio: 0.89, diskFull: false, filesDeleted: 0, filesKeptForTimers: 0 });
    const resumed = append(0);
    expect(resumed.status).toBe("ok");
    if (resumed.status === "ok") expect<unknown>(resumed.queueOffset).toBe(6);
    expect((await store.put({ topic, queueId: 0, body: new Uint8Array(1) })).status).toBe("ok");
  });

  test("refuses appends from the moment it opens on a full disk", async () => {
    const { store, append } = await openHarness({}, { usedRatio: 0.95 });
    expect(store.stats().diskFull).toBe(true);
    expect(append().status).toBe("disk_full");
  });

  test("checks the disk every retentionCheckIntervalMs of the clock", async () => {
    const { clock, disk, append } = await openHarness({ retentionCheckIntervalMs: 10_000 });
    disk.usedRatio = 0.95;
    clock.advance(9_999);
    expect(append().status).toBe("ok");
    clock.advance(1);
    expect(append().status).toBe("disk_full");
    disk.usedRatio = 0.5;
    clock.advance(10_000);
    expect(append().status).toBe("ok");
  });
});
