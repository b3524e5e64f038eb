/**
 * The heap valve acts once the heap grew past its bound since the last collection (or the lowest
 * size seen since), and not before: its timed checks ask for a concurrent collection (the event
 * loop does not wait) and collect synchronously only past the second bound, at the valve's pace;
 * work that asks for a check collects synchronously at the first. Its check is given the sizes,
 * so the test does not depend on what else the process holds.
 */

import { describe, expect, test } from "bun:test";
import { acquireHeapValve, checkHeap, checkHeapNow, heapValveCounters } from "../../../src/common/heap-valve.ts";
import { heapGrowthBeforeCollectBytes, heapGrowthBeforeSyncCollectBytes, heapValveTimeShareMax } from "../../../src/common/limits.ts";

describe("Heap valve", () => {
  test("a timed check asks for a concurrent collection when the heap grew by more than heapGrowthBeforeCollectBytes over the lowest size seen, not at the bound, and does not stop the loop for one", () => {
    const release = acquireHeapValve();
    try {
      checkHeap(0); // the lowest size seen: growth counts from here
      const concurrent = heapValveCounters.concurrentCollections;
      const forced = heapValveCounters.collections;
      checkHeap(heapGrowthBeforeCollectBytes);
      expect(heapValveCounters.concurrentCollections).toBe(concurrent);
      checkHeap(heapGrowthBeforeCollectBytes + 1);
      expect(heapValveCounters.concurrentCollections).toBe(concurrent + 1);
      expect(heapValveCounters.collections).toBe(forced);
    } finally {
      release();
    }
  });

  test("a timed check asks once while the heap stays past the bound, again after it came back within it", () => {
    const release = acquireHeapValve();
    try {
      checkHeap(0);
      const concurrent = heapValveCounters.concurrentCollections;
      checkHeap(heapGrowthBeforeCollectBytes + 1);
      checkHeap(heapGrowthBeforeCollectBytes + 2);
      checkHeap(heapGrowthBeforeSyncCollectBytes);
      expect(heapValveCounters.concurrentCollections).toBe(concurrent + 1);
      checkHeap(heapGrowthBeforeCollectBytes); // the concurrent collection freed garbage
      checkHeap(heapGrowthBeforeCollectBytes + 1);
      expect(heapValveCounters.concurrentCollections).toBe(concurrent + 2);
    } finally {
      release();
    }
  });

  test("a timed check collects synchronously past heapGrowthBeforeSyncCollectBytes (the concurrent collection did not keep up); work that asks does at the first bound", () => {
    const release = acquireHeapValve();
    try {
      const nowMs = performance.now() + 1e9; // past any pace an earlier test left
      checkHeap(0, nowMs);
      const forced = heapValveCounters.collections;
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs);
      expect(heapValveCounters.collections).toBe(forced);
      checkHeap(heapGrowthBeforeSyncCollectBytes + 1, nowMs);
      expect(heapValveCounters.collections).toBe(forced + 1);
      checkHeap(0, nowMs);
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs, false);
      expect(heapValveCounters.collections).toBe(forced + 2);
    } finally {
      release();
    }
  });

  test("after a synchronous collection the next timed one waits for the valve's pace: a collection of T ms is followed by none for T / heapValveTimeShareMax ms", () => {
    const release = acquireHeapValve();
    try {
      const nowMs = performance.now() + 2e9;
      checkHeap(0, nowMs);
      const before = heapValveCounters.collections;
      const collectMsBefore = heapValveCounters.collectMs;
      checkHeap(heapGrowthBeforeSyncCollectBytes + 1, nowMs);
      expect(heapValveCounters.collections).toBe(before + 1);
      const tookMs = heapValveCounters.collectMs - collectMsBefore;
      checkHeap(0, nowMs);
      checkHeap(heapGrowthBeforeSyncCollectBytes + 1, nowMs); // grown past the bound again at once: paced
      expect(heapValveCounters.collections).toBe(before + 1);
      checkHeap(heapGrowthBeforeSyncCollectBytes + 1, nowMs + tookMs / heapValveTimeShareMax + 1);
      expect(heapValveCounters.collections).toBe(before + 2);
      checkHeap(0, nowMs);
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs, false); // work that asks is not paced
      expect(heapValveCounters.collections).toBe(before + 3);
    } finally {
      release();
    }
  });

  test("a check asked for by work in progress runs only while the valve runs", () => {
    const idle = heapValveCounters.checks;
    checkHeapNow();
    expect(heapValveCounters.checks).toBe(idle);
    const release = acquireHeapValve();
    try {
      const running = heapValveCounters.checks;
      checkHeapNow();
      expect(heapValveCounters.checks).toBe(running + 1);
    } finally {
      release();
    }
  });
});
