import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { encodeOffsetMsgId } from "../../../src/common/ids.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { tagHash } from "../../../src/common/message-properties.ts";
import { messageBodyBytesMax, messagePropertiesBytesMax } from "../../../src/common/limits.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import type { FlushLane, MappedFile } from "../../../src/store/mapped-file.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { putStatusError } from "../../../src/store/put-message.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { physicalOffset, queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

const encoder = new TextEncoder();
const opened: MessageStore[] = [];

async function openStore(overrides: Partial<MessageStoreOptions> = {}): Promise<MessageStore> {
  const store = await MessageStore.open({ dataDir: join(makeTempDir(), "data"), ...tinyStoreProfile, logger: silentLogger, flushIntervalMs: 3_600_000, ...overrides });
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
afterAll(removeTempDirs);

function body(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Counts flushes of CommitLog files, to see sends share one (group commit). */
class CountingStorage extends MemoryStorage {
  commitLogFlushes = 0;

  override openFile(path: string, size: number, lane?: FlushLane): MappedFile {
    const file = super.openFile(path, size, lane);
    if (!path.includes("/commitlog/")) return file;
    const flush = file.flush.bind(file);
    return Object.assign(file, {
      flush: (from: number, to: number) => {
        this.commitLogFlushes += 1;
        return flush(from, to);
      },
    });
  }
}

function decodeAll(result: ReturnType<MessageStore["getMessages"]>) {
  return result.messages.map((message) => decodeRecord(result.buffer.subarray(message.position, message.position + message.size)));
}

for (const storage of ["mmap", "memory"] as const) {
  describe(`MessageStore (${storage})`, () => {
    test("stores a message with every field and reads it back from its queue", async () => {
      const store = await openStore({ storage: storage === "memory" ? new MemoryStorage() : "mmap" });
      const result = store.append({ topic: "Orders", queueId: 2, body: body("hello"), tags: "created", keys: ["order-1", "customer-9"], msgId: "AC11000100002A9F0000000000000001", properties: { region: "eu", "emoji": "📦" }, flag: 7, reconsumeTimes: 3 });
      expect(result.status).toBe("ok");
      if (result.status !== "ok") return;
      expect<unknown>(result.queueOffset).toBe(0);
      const read = store.getMessages({ topic: "Orders", queueId: 2, offset: asQueueOffset(0), maxCount: 10 });
      expect(read.status).toBe("found");
      const [message] = decodeAll(read);
      expect(message?.topic).toBe("Orders");
      expect(new TextDecoder().decode(message?.body)).toBe("hello");
      expect(message?.tags).toBe("created");
      expect(message?.keys).toEqual(["order-1", "customer-9"]);
      expect(message?.properties.region).toBe("eu");
      expect(message?.properties.emoji).toBe("📦");
      expect(message?.flag).toBe(7);
      expect(message?.reconsumeTimes).toBe(3);
      expect(message?.physicalOffset).toBe(result.physicalOffset);
      expect<number>(read.nextOffset).toBe(1);
    });

    test("the tags, keys and msgId fields win over user properties of the same names; the rest are kept", async () => {
      const store = await openStore({ storage: storage === "memory" ? new MemoryStorage() : "mmap" });
      const msgId = "AC11000100002A9F0000000000000002";
      expect(store.append({ topic: "Orders", queueId: 0, body: body("x"), tags: "field", keys: ["k1", "k2"], msgId, properties: { TAGS: "property", KEYS: "p", UNIQ_KEY: "other", region: "eu" } }).status).toBe("ok");
      expect(store.append({ topic: "Orders", queueId: 0, body: body("y"), properties: { TAGS: "only-property", region: "us" } }).status).toBe("ok");
      const [first, second] = decodeAll(store.getMessages({ topic: "Orders", queueId: 0, offset: asQueueOffset(0), maxCount: 10 }));
      expect([first?.tags, first?.keys, first?.msgId, first?.properties.region]).toEqual(["field", ["k1", "k2"], msgId, "eu"]);
      expect([second?.tags, second?.properties.region]).toEqual(["only-property", "us"]);
    });

    test("assigns dense queue offsets per queue and rolls files as they fill", async () => {
      const store = await openStore({ storage: storage === "memory" ? new MemoryStorage() : "mmap" });
      const payload = new Uint8Array(3000);
      for (let index = 0; index < 100; index++) {
        const result = store.append({ topic: "Roll", queueId: index % 4, body: payload });
        expect<unknown>(result.status === "ok" && result.queueOffset).toBe(Math.floor(index / 4));
      }
      expect(store.stats().commitLogFiles).toBeGreaterThan(4);
      for (let queueId = 0; queueId < 4; queueId++) {
        expect<number>(store.maxOffset("Roll", queueId)).toBe(25);
        let offset = 0;
        let count = 0;
        while (offset < 25) {
          const read = store.getMessages({ topic: "Roll", queueId, offset: asQueueOffset(offset), maxCount: 7 });
          count += read.messages.length;
          offset = read.nextOffset;
        }
        expect(count).toBe(25);
      }
    });
  });
}

describe("MessageStore: reads", () => {
  test("reports where a read stands: too small, caught up, beyond the end, unknown queue", async () => {
    const store = await openStore();
    store.append({ topic: "T", queueId: 0, body: body("a") });
    expect(store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(1), maxCount: 1 }).status).toBe("offset_overflow_one");
    expect(store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(5), maxCount: 1 }).status).toBe("offset_overflow_badly");
    expect(store.getMessages({ topic: "T", queueId: 3, offset: asQueueOffset(0), maxCount: 1 }).status).toBe("no_matched_queue");
    expect(store.getMessages({ topic: "Other", queueId: 0, offset: asQueueOffset(0), maxCount: 1 }).status).toBe("no_matched_queue");
  });

  test("filters by tag hash on the consume queue and skips past non-matching entries", async () => {
    const store = await openStore();
    for (let index = 0; index < 20; index++) store.append({ topic: "T", queueId: 0, body: body(String(index)), tags: index % 3 === 0 ? "keep" : "drop" });
    const read = store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 100, tagHashes: new Set([tagHash("keep")]) });
    expect(decodeAll(read).map((message) => new TextDecoder().decode(message.body))).toEqual(["0", "3", "6", "9", "12", "15", "18"]);
    expect<number>(read.nextOffset).toBe(20);
    const none = store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 5, tagHashes: new Set([tagHash("nothing")]) });
    expect(none.status).toBe("no_matched_message");
    expect<number>(none.nextOffset).toBe(20);
  });

  test("stops a read at maxBytes but always returns at least one message", async () => {
    const store = await openStore();
    for (let index = 0; index < 5; index++) store.append({ topic: "T", queueId: 0, body: new Uint8Array(1000) });
    const read = store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 5, maxBytes: 2500 });
    expect(read.messages.length).toBe(2);
    expect<number>(read.nextOffset).toBe(2);
    expect(store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 5, maxBytes: 10 }).messages.length).toBe(1);
  });

  test("finds messages by offsetMsgId, msgId and key, and not across topics", async () => {
    const store = await openStore({ storeHost: { ip: "10.1.2.3", port: 10911 } });
    const first = store.append({ topic: "A", queueId: 0, body: body("one"), keys: ["k"], msgId: "0A0102030000000000000000000000AA" });
    store.append({ topic: "B", queueId: 0, body: body("two"), keys: ["k"] });
    const third = store.append({ topic: "A", queueId: 1, body: body("three"), keys: ["k", "other"] });
    if (first.status !== "ok" || third.status !== "ok") throw new Error("append failed");
    const id = encodeOffsetMsgId({ host: "10.1.2.3", port: 10911, physicalOffset: first.physicalOffset });
    expect(store.getByOffsetMsgId(id)?.body).toEqual(body("one"));
    expect(store.queryByMsgId("0a0102030000000000000000000000aa")?.physicalOffset).toBe(first.physicalOffset);
    expect(store.queryByMsgId("FFFF02030000000000000000000000AA")).toBeUndefined();
    expect(store.queryByKey("A", "k").map((message) => message.physicalOffset)).toEqual([third.physicalOffset, first.physicalOffset]);
    expect(store.queryByKey("A", "other").length).toBe(1);
    expect(store.queryByKey("A", "missing")).toEqual([]);
    expect(store.getByPhysicalOffset(physicalOffset(first.physicalOffset + 1))).toBeUndefined();
    expect(store.getByPhysicalOffset(physicalOffset(10_000_000))).toBeUndefined();
  });

  test("maps a timestamp to the first queue offset stored at or after it, and queries a time range", async () => {
    const clock = new ManualClock(1_000_000);
    const store = await openStore({ clock });
    for (let index = 0; index < 10; index++) {
      store.append({ topic: "T", queueId: 0, body: body(String(index)) });
      clock.advance(1000);
    }
    expect<number>(store.offsetForTimestamp("T", 0, 0)).toBe(0);
    expect<number>(store.offsetForTimestamp("T", 0, 1_003_000)).toBe(3);
    expect<number>(store.offsetForTimestamp("T", 0, 1_003_500)).toBe(4);
    expect<number>(store.offsetForTimestamp("T", 0, 9_999_999)).toBe(10);
    expect<number[]>(store.queryByTime("T", 1_002_000, 1_004_000).map((message) => message.queueOffset)).toEqual([2, 3, 4]);
    expect(store.queryByKey("T", "x", 10, 0, 1)).toEqual([]);
  });

  test("lists topics with their queues' offsets and forgets a deleted topic", async () => {
    const store = await openStore();
    store.append({ topic: "B", queueId: 1, body: body("x") });
    store.append({ topic: "A", queueId: 0, body: body("x") });
    store.append({ topic: "A", queueId: 0, body: body("y") });
    expect<unknown>(store.topics()).toEqual([
      { topic: "A", queues: [{ queueId: 0, minOffset: 0, maxOffset: 2 }] },
      { topic: "B", queues: [{ queueId: 1, minOffset: 0, maxOffset: 1 }] },
    ]);
    store.deleteTopic("A");
    expect(store.topics().map((topic) => topic.topic)).toEqual(["B"]);
    expect<number>(store.maxOffset("A", 0)).toBe(0);
  });
});

describe("MessageStore: limits", () => {
  test("refuses bad topics, queue ids, oversized bodies and properties with statuses", async () => {
    const store = await openStore();
    expect(store.append({ topic: "bad topic!", queueId: 0, body: body("x") }).status).toBe("topic_invalid");
    expect(store.append({ topic: "x".repeat(128), queueId: 0, body: body("x") }).status).toBe("topic_invalid");
    expect(store.append({ topic: "T", queueId: -1, body: body("x") }).status).toBe("topic_invalid");
    expect(store.append({ topic: "T", queueId: 1.5, body: body("x") }).status).toBe("topic_invalid");
    const tooBig = store.append({ topic: "T", queueId: 0, body: new Uint8Array(messageBodyBytesMax + 1) });
    expect(tooBig.status).toBe("message_too_large");
    if (tooBig.status !== "ok") expect(putStatusError(tooBig).message).toBe(`Cannot append message: body is ${messageBodyBytesMax + 1} bytes, limit is ${messageBodyBytesMax}`);
    // With 64 KiB files a record must also fit one file.
    expect(store.append({ topic: "T", queueId: 0, body: new Uint8Array(70_000) }).status).toBe("message_too_large");
    expect(store.append({ topic: "T", queueId: 0, body: body("x"), properties: { big: "v".repeat(messagePropertiesBytesMax) } }).status).toBe("properties_too_large");
    expect(store.append({ topic: "T", queueId: 0, body: body("x"), properties: { "bad\u0001name": "v" } }).status).toBe("property_invalid");
    expect(store.append({ topic: "T", queueId: 0, body: body("x"), properties: { good: "bad\u0002value" } }).status).toBe("property_invalid");
    expect(store.append({ topic: "T", queueId: 0, body: body("x"), tags: "bad\u0002tag" }).status).toBe("property_invalid");
    expect(store.append({ topic: "T", queueId: 0, body: new Uint8Array(0) }).status).toBe("ok");
    expect<number>(store.maxOffset("T", 0)).toBe(1);
  });

  test("a batch must hold one topic and at least one message", async () => {
    const store = await openStore();
    await expect(store.putBatch([])).rejects.toMatchObject({ errorName: "BATCH_EMPTY" });
    await expect(store.putBatch([{ topic: "A", queueId: 0, body: body("1") }, { topic: "B", queueId: 0, body: body("2") }])).rejects.toMatchObject({ errorName: "BATCH_MIXED_TOPICS" });
    const batch = await store.putBatch([1, 2, 3].map((index) => ({ topic: "A", queueId: 0, body: body(String(index)) })));
    expect<unknown>(batch.status === "ok" && batch.results.map((result) => result.queueOffset)).toEqual([0, 1, 2]);
  });
});

describe("MessageStore: flush", () => {
  // Proves power-loss durability (not just a process crash): the in-memory twin keeps written
  // and flushed bytes apart, and crash() throws away everything not flushed.
  test("sync flush resolves a put only once its bytes are durable, sharing one flush (group commit); all survive a power loss", async () => {
    const storage = new CountingStorage();
    const dataDir = join(makeTempDir(), "data");
    const options = { dataDir, ...tinyStoreProfile, logger: silentLogger, storage, flushIntervalMs: 3_600_000 } as const;
    const store = await MessageStore.open({ ...options, flush: "sync" });
    const puts = Array.from({ length: 64 }, (_, index) => store.put({ topic: "T", queueId: index % 4, body: body(`m${index}`) }));
    // Appended but not yet flushed: a crash now would lose them, and nothing has been acknowledged.
    expect<number>(store.commitLog.flushedPosition).toBe(0);
    const results = await Promise.all(puts);
    expect(results.map((result) => result.status)).toEqual(Array.from({ length: 64 }, () => "ok"));
    expect(store.commitLog.flushedPosition).toBe(store.commitLog.writePosition);
    expect(storage.commitLogFlushes).toBe(1); // 64 sends, one msync
    // Power loss right after the acknowledgements: every acknowledged message survives.
    storage.crash();
    (store as unknown as { lock: { release(): void } }).lock.release();
    const reopened = await MessageStore.open({ ...options, flush: "async" });
    try {
      for (let queueId = 0; queueId < 4; queueId++) {
        const read = reopened.getMessages({ topic: "T", queueId, offset: asQueueOffset(0), maxCount: 100 });
        expect(decodeAll(read).map((message) => new TextDecoder().decode(message.body))).toEqual(Array.from({ length: 16 }, (_, index) => `m${index * 4 + queueId}`));
      }
    } finally {
      await reopened.close();
    }
  });

  // Proves the other half: what was not flushed is gone after a power loss (so the test above
  // would fail if sync sends were answered before their msync).
  test("acknowledged sync puts survive a simulated power loss; unflushed async appends do not", async () => {
    const storage = new MemoryStorage();
    const dataDir = join(makeTempDir(), "data");
    const options = { dataDir, ...tinyStoreProfile, logger: silentLogger, storage, flushIntervalMs: 3_600_000 } as const;
    const first = await MessageStore.open({ ...options, flush: "sync" });
    for (let index = 0; index < 10; index++) expect((await first.put({ topic: "T", queueId: 0, body: body(`durable${index}`) })).status).toBe("ok");
    for (let index = 0; index < 5; index++) first.append({ topic: "T", queueId: 0, body: body(`volatile${index}`) });
    storage.crash();
    // The crashed process never closes: simulate by dropping the lock through a fresh open after release.
    (first as unknown as { lock: { release(): void } }).lock.release();
    const second = await MessageStore.open({ ...options, flush: "async" });
    try {
      expect(second.recovery.abnormal).toBe(true);
      expect<number>(second.maxOffset("T", 0)).toBe(10);
      const read = second.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
      expect(decodeAll(read).map((message) => new TextDecoder().decode(message.body))).toEqual(Array.from({ length: 10 }, (_, index) => `durable${index}`));
    } finally {
      await second.close();
    }
  });

  test("a failing flush rejects sync puts with a store I/O error and later puts succeed", async () => {
    const faults = new FaultPoints();
    const store = await openStore({ flush: "sync", faults });
    faults.arm("flush", 1);
    const failed = await store.put({ topic: "T", queueId: 0, body: body("x") });
    expect(failed.status).toBe("io_error");
    if (failed.status === "io_error") expect(failed.error.errorName).toBe("STORE_IO");
    expect((await store.put({ topic: "T", queueId: 0, body: body("y") })).status).toBe("ok");
  });

  test("fault points at append and roll fail the append without corrupting the log", async () => {
    const faults = new FaultPoints();
    const store = await openStore({ faults });
    faults.arm("append", 1);
    expect(store.append({ topic: "T", queueId: 0, body: body("x") }).status).toBe("io_error");
    expect(store.append({ topic: "T", queueId: 0, body: body("x") }).status).toBe("ok");
    faults.arm("roll", 1);
    let failures = 0;
    for (let index = 0; index < 40; index++) if (store.append({ topic: "T", queueId: 0, body: new Uint8Array(3000) }).status === "io_error") failures += 1;
    expect(failures).toBe(1);
    expect<number>(store.maxOffset("T", 0)).toBe(40);
    const read = store.getMessages({ topic: "T", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
    expect(read.messages.length).toBe(40);
    expect(read.corruptSkipped).toBe(0);
  });

  test("the checkpoint records the durable dispatch point and a clean reopen replays nothing", async () => {
    const dataDir = join(makeTempDir(), "data");
    const options = { dataDir, ...tinyStoreProfile, logger: silentLogger, flushIntervalMs: 3_600_000 } as const;
    const store = await MessageStore.open(options);
    for (let index = 0; index < 30; index++) store.append({ topic: "T", queueId: index % 3, body: new Uint8Array(500), keys: [`k${index}`] });
    await store.close();
    const reopened = await MessageStore.open(options);
    try {
      expect(reopened.recovery.abnormal).toBe(false);
      expect(reopened.recovery.recordsReplayed).toBe(0);
      expect<number>(reopened.maxOffset("T", 1)).toBe(10);
      expect(reopened.queryByKey("T", "k29").length).toBe(1);
    } finally {
      await reopened.close();
    }
  });
});
