/**
 * A batch is stored whole or not at all: a failure at any entry undoes every record of the batch
 * (CommitLog bytes, consume-queue entries, index hints), before and after a restart, so a client
 * retrying the batch never duplicates part of it.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { FaultPoints, type FaultPoint } from "../../../src/store/fault-points.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import { putStatusError, type PutMessageInput } from "../../../src/store/put-message.ts";
import { killStore } from "../../helpers/store-crash.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueBodies, tinyStoreOptions } from "../../helpers/tiny-store.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();

/** A batch over two queues whose entries are large enough to roll CommitLog files midway. */
function batch(name: string, count: number, bodyBytes: number): PutMessageInput[] {
  return Array.from({ length: count }, (_, index) => {
    const text = `${name}-${index}-`;
    const body = new Uint8Array(bodyBytes).fill(0x2e);
    body.set(encoder.encode(text));
    return { topic: "B", queueId: index % 2, body, keys: [`${name}-${index}`], msgId: `${name.toUpperCase().padEnd(4, "0")}${index.toString(16).toUpperCase().padStart(28, "0")}` };
  });
}

const cases: { name: string; point: FaultPoint; skip: number; bodyBytes: number }[] = [
  { name: "an append in the middle", point: "append", skip: 5, bodyBytes: 200 },
  { name: "a CommitLog roll in the middle", point: "roll", skip: 0, bodyBytes: 9_000 },
  { name: "an append after the batch rolled into a new file", point: "append", skip: 5, bodyBytes: 9_000 },
  { name: "a consume-queue file open in the middle", point: "consume_queue_open", skip: 0, bodyBytes: 200 },
];

describe("Batches: all or nothing", () => {
  for (const { name, point, skip, bodyBytes } of cases) {
    for (const storage of ["mmap", "memory"] as const) {
      test(`a failure at ${name} stores nothing of the batch, before and after restart (${storage})`, async () => {
        const faults = new FaultPoints();
        const options = tinyStoreOptions({ faults, storage: storage === "memory" ? new MemoryStorage() : "mmap" });
        const store = await MessageStore.open(options);
        const first = store.appendBatch(batch("one", 6, bodyBytes));
        expect(first.status).toBe("ok");
        const before = store.stats().commitLogMaxOffset;
        const filesBefore = store.stats().commitLogFiles;

        faults.arm(point, 1, skip);
        const failed = store.appendBatch(batch("two", 12, bodyBytes));
        expect(failed.status).toBe("io_error");
        if (failed.status !== "ok") expect(putStatusError(failed).errorName).toBe("STORE_IO");
        expect<number>(store.stats().commitLogMaxOffset).toBe(before);
        expect(store.stats().commitLogFiles).toBe(filesBefore);
        const visible = () => ({ q0: queueBodies(store, "B", 0).map((text) => text.split(".")[0]), q1: queueBodies(store, "B", 1).map((text) => text.split(".")[0]) });
        const expected = { q0: ["one-0-", "one-2-", "one-4-"], q1: ["one-1-", "one-3-", "one-5-"] };
        expect(visible()).toEqual(expected);
        expect(store.queryByKey("B", "two-0")).toEqual([]);

        // The retry is stored once, right after the first batch.
        const retried = store.appendBatch(batch("two", 12, bodyBytes));
        expect<unknown>(retried.status === "ok" && retried.results.map((result) => result.queueOffset)).toEqual([3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
        expected.q0.push(...[0, 2, 4, 6, 8, 10].map((index) => `two-${index}-`));
        expected.q1.push(...[1, 3, 5, 7, 9, 11].map((index) => `two-${index}-`));
        expect(visible()).toEqual(expected);
        if (bodyBytes > 1_000) expect(store.stats().commitLogFiles).toBeGreaterThan(filesBefore);

        if (storage === "memory") return store.close();
        killStore(store);
        const reopened = await MessageStore.open(options);
        try {
          expect(reopened.recovery.recordsReplayed).toBe(18);
          const reread = { q0: queueBodies(reopened, "B", 0).map((text) => text.split(".")[0]), q1: queueBodies(reopened, "B", 1).map((text) => text.split(".")[0]) };
          expect(reread).toEqual(expected);
          expect(reopened.queryByKey("B", "two-11").length).toBe(1);
        } finally {
          await reopened.close();
        }
      });
    }
  }

  test("an entry the store would refuse fails the batch before anything is written", async () => {
    const store = await MessageStore.open(tinyStoreOptions());
    try {
      const entries = batch("bad", 4, 100);
      entries[2] = { ...entries[2]!, properties: { "": "empty name" } };
      const result = store.appendBatch(entries);
      expect(result.status).toBe("property_invalid");
      expect<number>(store.stats().commitLogMaxOffset).toBe(0);
      expect(store.topics()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("a sync-flush batch resolves once all of it is durable, one result per entry", async () => {
    const store = await MessageStore.open(tinyStoreOptions({ flush: "sync" }));
    try {
      const result = await store.putBatch(batch("sync", 5, 100));
      expect<unknown>(result.status === "ok" && result.results.map((entry) => entry.queueOffset)).toEqual([0, 0, 1, 1, 2]);
      expect(store.stats().commitLogFlushedOffset).toBe(store.stats().commitLogMaxOffset);
    } finally {
      await store.close();
    }
  });
});
