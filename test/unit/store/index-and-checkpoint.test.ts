import { describe, expect, test } from "bun:test";
import { Checkpoint } from "../../../src/store/checkpoint.ts";
import { indexKeyOf } from "../../../src/store/index-keys.ts";
import { IndexService } from "../../../src/store/index-service.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import { physicalOffset } from "../../../src/common/offsets.ts";

function index(storage: MemoryStorage, entriesPerFile = 16) {
  return new IndexService({ dir: "/idx", slotsPerFile: 4, entriesPerFile, storage, faults: new FaultPoints() });
}

describe("IndexService", () => {
  test("finds every offset stored under a key, newest first, across rolled files", () => {
    const storage = new MemoryStorage();
    const service = index(storage);
    for (let position = 0; position < 100; position++) service.put(indexKeyOf(`key-${position % 10}`), physicalOffset(position * 64), 1_000 + position);
    expect(service.fileCount).toBe(Math.ceil(100 / 16));
    expect<number[]>(service.lookup(indexKeyOf("key-3"), 100)).toEqual([93, 83, 73, 63, 53, 43, 33, 23, 13, 3].map((position) => position * 64));
    expect<number[]>(service.lookup(indexKeyOf("missing"), 10)).toEqual([]);
  });

  test("honours a time range and a result limit", () => {
    const service = index(new MemoryStorage(), 1000);
    for (let position = 0; position < 50; position++) service.put(indexKeyOf("k"), physicalOffset(position), 10_000 + position * 10);
    expect<number[]>(service.lookup(indexKeyOf("k"), 100, 10_100, 10_150)).toEqual([15, 14, 13, 12, 11, 10]);
    expect(service.lookup(indexKeyOf("k"), 3).length).toBe(3);
  });

  test("survives reopen and drops files that point only below the CommitLog minimum", () => {
    const storage = new MemoryStorage();
    const service = index(storage, 8);
    for (let position = 0; position < 40; position++) service.put(indexKeyOf(`k${position}`), physicalOffset(position * 10), 5_000);
    service.close();
    const again = index(storage, 8);
    again.load();
    expect<number[]>(again.lookup(indexKeyOf("k39"), 5)).toEqual([390]);
    expect(again.deleteBefore(physicalOffset(200))).toBe(2);
    expect<number[]>(again.lookup(indexKeyOf("k5"), 5)).toEqual([]);
    expect<number[]>(again.lookup(indexKeyOf("k25"), 5)).toEqual([250]);
  });

  test("a garbage chain pointer cannot loop the walk", () => {
    const storage = new MemoryStorage();
    const service = index(storage, 8);
    service.put(indexKeyOf("a"), physicalOffset(1), 1);
    service.put(indexKeyOf("a"), physicalOffset(2), 1);
    const bytes = storage.contents("/idx/00000000000000000001")!;
    bytes.fill(0xff, 40 + 4 * 4); // slots and entries become nonsense
    expect(() => service.lookup(indexKeyOf("a"), 10)).not.toThrow();
  });
});

describe("Checkpoint", () => {
  test("alternates slots and reads back the newest valid one", async () => {
    const storage = new MemoryStorage();
    const checkpoint = new Checkpoint("/cp", storage);
    expect(checkpoint.state).toEqual({ commitLogFlushed: 0, dispatchFlushed: 0, timestampMs: 0 });
    await checkpoint.write({ commitLogFlushed: 100, dispatchFlushed: 90, timestampMs: 1 });
    await checkpoint.write({ commitLogFlushed: 2 ** 40, dispatchFlushed: 2 ** 40 - 5, timestampMs: 2 });
    checkpoint.close();
    expect(new Checkpoint("/cp", storage).state).toEqual({ commitLogFlushed: 2 ** 40, dispatchFlushed: 2 ** 40 - 5, timestampMs: 2 });
  });

  test("a torn slot falls back to the previous one", async () => {
    const storage = new MemoryStorage();
    const checkpoint = new Checkpoint("/cp", storage);
    await checkpoint.write({ commitLogFlushed: 100, dispatchFlushed: 90, timestampMs: 1 });
    await checkpoint.write({ commitLogFlushed: 200, dispatchFlushed: 190, timestampMs: 2 });
    checkpoint.close();
    const bytes = storage.contents("/cp")!;
    bytes[512 + 15] = bytes[512 + 15]! ^ 0xff; // the newer slot (second write) is damaged
    expect(new Checkpoint("/cp", storage).state.commitLogFlushed).toBe(100);
  });
});
