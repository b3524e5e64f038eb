/**
 * The heap valve collects once the heap grew past its bound since the last collection (or the
 * lowest size seen since), and not before: its check is given the sizes, so the test does not
 * depend on what else the process holds.
 */

import { describe, expect, test } from "bun:test";
import { acquireHeapValve, checkHeap, checkHeapNow, heapValveCounters } from "../../../src/common/heap-valve.ts";
import { heapGrowthBeforeCollectBytes, heapValveTimeShareMax } from "../../../src/common/limits.ts";

describe("Heap valve", () => {
  test("collects when the heap grew by more than heapGrowthBeforeCollectBytes over the lowest size seen, and not at the bound", () => {
    const release = acquireHeapValve();
    try {
      checkHeap(0); // the lowest size seen: growth counts from here
      const before = heapValveCounters.collections;
      checkHeap(heapGrowthBeforeCollectBytes);
      expect(heapValveCounters.collections).toBe(before);
      checkHeap(heapGrowthBeforeCollectBytes + 1);
      expect(heapValveCounters.collections).toBe(before + 1);
    } finally {
      release();
    }
  });

  test("after a collection the next waits for the valve's pace: a collection of T ms is followed by none for T / heapValveTimeShareMax ms", () => {
    const release = acquireHeapValve();
    try {
      const nowMs = performance.now();
      checkHeap(0, nowMs);
      const before = heapValveCounters.collections;
      const collectMsBefore = heapValveCounters.collectMs;
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs);
      expect(heapValveCounters.collections).toBe(before + 1);
      const tookMs = heapValveCounters.collectMs - collectMsBefore;
      checkHeap(0, nowMs);
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs); // grown past the bound again at once: paced
      expect(heapValveCounters.collections).toBe(before + 1);
      checkHeap(heapGrowthBeforeCollectBytes + 1, nowMs + tookMs / heapValveTimeShareMax + 1);
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
