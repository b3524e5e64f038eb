import { describe, expect, test } from "bun:test";
import { ConsumeQueue } from "../../../src/store/consume-queue.ts";
import { entryBytes, readEntry, writeEntry } from "../../../src/store/consume-queue-entry.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import { physicalOffset, queueOffset } from "../../../src/common/offsets.ts";

function queue(storage = new MemoryStorage(), entriesPerFile = 8): ConsumeQueue {
  return new ConsumeQueue({ dir: "/cq/T/0", topic: "T", queueId: 0, entriesPerFile, storage, faults: new FaultPoints() });
}

describe("ConsumeQueue entry", () => {
  test("round-trips 20-byte entries with 64-bit offsets and hashes", () => {
    const view = new DataView(new ArrayBuffer(40));
    writeEntry(view, 20, { physicalOffset: physicalOffset(2 ** 52 + 7), size: 4_194_304, tagHash: 0xffff_ffff });
    expect(entryBytes).toBe(20);
    expect(readEntry(view, 20)).toEqual({ physicalOffset: physicalOffset(2 ** 52 + 7), size: 4_194_304, tagHash: 0xffff_ffff });
  });
});

describe("ConsumeQueue", () => {
  test("places entries at their queue offsets across files and reloads them", () => {
    const storage = new MemoryStorage();
    const first = queue(storage);
    for (let offset = 0; offset < 20; offset++) first.put(queueOffset(offset), { physicalOffset: physicalOffset(offset * 100), size: 50, tagHash: offset });
    expect<unknown>(first.maxOffset).toBe(20);
    expect(storage.listFiles("/cq/T/0")).toEqual(["00000000000000000000", "00000000000000000008", "00000000000000000016"]);
    first.close();
    const again = queue(storage);
    again.load();
    expect<unknown>(again.minOffset).toBe(0);
    expect<unknown>(again.maxOffset).toBe(20);
    expect<unknown>(again.get(queueOffset(13))).toEqual({ physicalOffset: physicalOffset(1300), size: 50, tagHash: 13 });
  });

  test("ignores a replayed entry and fills a gap with blank entries readers skip", () => {
    const cq = queue();
    cq.put(queueOffset(0), { physicalOffset: physicalOffset(0), size: 10, tagHash: 1 });
    cq.put(queueOffset(0), { physicalOffset: physicalOffset(999), size: 10, tagHash: 1 });
    expect<number | undefined>(cq.get(queueOffset(0))?.physicalOffset).toBe(0);
    cq.put(queueOffset(3), { physicalOffset: physicalOffset(300), size: 10, tagHash: 1 });
    expect<unknown>(cq.maxOffset).toBe(4);
    expect<unknown>(cq.get(queueOffset(1))).toBeUndefined();
    const seen: number[] = [];
    cq.scan(queueOffset(0), (offset) => {
      seen.push(offset);
      return true;
    });
    expect(seen).toEqual([0, 3]);
  });

  test("truncates entries pointing at or past a CommitLog offset, across files", () => {
    const storage = new MemoryStorage();
    const cq = queue(storage);
    for (let offset = 0; offset < 20; offset++) cq.put(queueOffset(offset), { physicalOffset: physicalOffset(offset * 100), size: 50, tagHash: 0 });
    cq.truncateFrom(physicalOffset(650));
    expect<unknown>(cq.maxOffset).toBe(7);
    expect(storage.listFiles("/cq/T/0")).toEqual(["00000000000000000000"]);
    cq.put(queueOffset(7), { physicalOffset: physicalOffset(700), size: 50, tagHash: 0 });
    cq.close();
    const again = queue(storage);
    again.load();
    expect<unknown>(again.maxOffset).toBe(8);
  });

  test("deletes files wholly below the CommitLog minimum but never the last one", () => {
    const storage = new MemoryStorage();
    const cq = queue(storage);
    for (let offset = 0; offset < 20; offset++) cq.put(queueOffset(offset), { physicalOffset: physicalOffset(offset * 100), size: 50, tagHash: 0 });
    expect(cq.deleteBefore(physicalOffset(1_000))).toBe(1);
    expect<unknown>(cq.minOffset).toBe(10);
    expect(cq.deleteBefore(physicalOffset(1_000_000))).toBe(1);
    expect<unknown>(cq.minOffset).toBe(20);
    expect(storage.listFiles("/cq/T/0")).toEqual(["00000000000000000016"]);
  });
});

describe("ConsumeQueue: rollback of undone appends", () => {
  test("drops the entries at or past the undone offset and keeps a blank tail entry no append wrote", () => {
    const cq = queue();
    for (let offset = 0; offset < 10; offset++) cq.put(queueOffset(offset), { physicalOffset: physicalOffset(offset * 100), size: 50, tagHash: 0 });
    cq.rollbackFrom(physicalOffset(700));
    expect<number>(cq.maxOffset).toBe(7);
    // A repaired entry is blanked in place; a rollback past it must not take its offset back.
    const last = cq.locate(queueOffset(6))!;
    writeEntry(last.file.view, last.position, { physicalOffset: physicalOffset(0), size: 0, tagHash: 0 });
    cq.rollbackFrom(physicalOffset(10_000));
    expect<number>(cq.maxOffset).toBe(7);
    cq.truncateFrom(physicalOffset(10_000));
    expect<number>(cq.maxOffset).toBe(6);
  });
});
