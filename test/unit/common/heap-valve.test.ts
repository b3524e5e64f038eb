/**
 * The heap valve collects once the heap grew past its bound since the last collection, and not
 * before: checked by calling its check directly, with the garbage made by the test.
 */

import { describe, expect, test } from "bun:test";
import { acquireHeapValve, checkHeap, heapValveCounters } from "../../../src/common/heap-valve.ts";
import { heapGrowthBeforeCollectBytes } from "../../../src/common/limits.ts";

describe("Heap valve", () => {
  test("collects when the heap grew by more than heapGrowthBeforeCollectBytes since the last collection, and not again until it grows again", () => {
    const release = acquireHeapValve();
    try {
      Bun.gc(true);
      checkHeap(); // the heap is at its lowest now: growth counts from here
      const before = heapValveCounters.collections;
      let garbage: Uint8Array[] = [];
      for (let made = 0; made <= 2 * heapGrowthBeforeCollectBytes; made += 1024 * 1024) garbage.push(new Uint8Array(1024 * 1024).fill(1));
      checkHeap();
      expect(heapValveCounters.collections).toBe(before + 1);
      garbage = [];
      checkHeap(); // just collected: nothing grew since
      expect(heapValveCounters.collections).toBe(before + 1);
    } finally {
      release();
    }
  });
});
