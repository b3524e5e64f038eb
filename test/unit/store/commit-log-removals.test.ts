/**
 * CommitLog file removals wait for an allocation of the same file still in flight (the allocator
 * would create it again afterwards), and removals after a waiting one wait their turn: files go
 * oldest first, so a crash in between never leaves a gap between files.
 */

import { describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/common/logger.ts";
import { CommitLogRemovals } from "../../../src/store/commit-log-removals.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";

function storageWith(paths: string[]): { storage: MemoryStorage; removed: string[] } {
  const storage = new MemoryStorage();
  for (const path of paths) storage.openFile(path, 64).close();
  const removed: string[] = [];
  const removeFile = storage.removeFile.bind(storage);
  storage.removeFile = (path: string) => {
    removed.push(path);
    removeFile(path);
  };
  return { storage, removed };
}

describe("CommitLog file removals", () => {
  test("a file with no allocation in flight is removed at once", async () => {
    const { storage, removed } = storageWith(["/log/0", "/log/1"]);
    const removals = new CommitLogRemovals(storage, silentLogger);
    removals.trackAllocation("/log/1", Promise.resolve());
    await removals.done();
    removals.remove("/log/0");
    expect(removed).toEqual(["/log/0"]);
  });

  test("a file whose allocation is in flight goes once it is done, and the files after it wait behind it", async () => {
    const { storage, removed } = storageWith(["/log/0", "/log/1", "/log/2"]);
    const removals = new CommitLogRemovals(storage, silentLogger);
    let allocated: () => void = () => {};
    removals.trackAllocation("/log/0", new Promise<void>((resolve) => (allocated = resolve)));
    removals.remove("/log/0");
    removals.remove("/log/1");
    await Promise.resolve();
    expect(removed).toEqual([]);
    allocated();
    await removals.done();
    expect(removed).toEqual(["/log/0", "/log/1"]);
    removals.remove("/log/2"); // nothing waits any more: at once again
    expect(removed).toEqual(["/log/0", "/log/1", "/log/2"]);
  });

  test("a failed allocation counts as done", async () => {
    const { storage, removed } = storageWith(["/log/0"]);
    const removals = new CommitLogRemovals(storage, silentLogger);
    let failed: (error: Error) => void = () => {};
    removals.trackAllocation("/log/0", new Promise<void>((_, reject) => (failed = reject)));
    removals.remove("/log/0");
    failed(new Error("disk full"));
    await removals.done();
    expect(removed).toEqual(["/log/0"]);
  });
});
