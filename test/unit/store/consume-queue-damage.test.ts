/**
 * Damaged consume-queue entries on real memory-mapped files: an entry whose CommitLog offset
 * points at another queue's record, or at nothing, is skipped and never served, reported, and
 * repaired from the CommitLog; a read always moves past it (nextOffset), so a browse or pull
 * never stalls on damage.
 */

import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../../src/common/logger.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { offsetFileName } from "../../../src/store/file-names.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

const encoder = new TextEncoder();
const opened: MessageStore[] = [];
const options = { ...tinyStoreProfile, consumeQueueEntriesPerFile: 64, logger: silentLogger, flushIntervalMs: 3_600_000 } satisfies Partial<MessageStoreOptions>;

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
afterAll(removeTempDirs);

async function open(dataDir: string): Promise<MessageStore> {
  const store = await MessageStore.open({ dataDir, ...options });
  opened.push(store);
  return store;
}

interface Stored {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  text: string;
}

/** Ten messages in each of two queues of "Orders" and one queue of "Audit", interleaved. */
async function fill(dataDir: string): Promise<Stored[]> {
  const store = await open(dataDir);
  const stored: Stored[] = [];
  for (let seq = 0; seq < 10; seq++) {
    for (const [topic, queueId] of [["Orders", 0], ["Orders", 1], ["Audit", 0]] as const) {
      const text = `${topic}-${queueId}-${seq}`;
      const put = store.append({ topic, queueId, body: encoder.encode(text) });
      if (put.status !== "ok") throw new Error(`append failed: ${put.status}`);
      stored.push({ topic, queueId, queueOffset: put.queueOffset, physicalOffset: put.physicalOffset, size: put.size, text });
    }
  }
  await store.close();
  opened.splice(opened.indexOf(store), 1);
  return stored;
}

function queueFile(dataDir: string, topic: string, queueId: number): string {
  return join(dataDir, "consumequeue", topic, String(queueId), offsetFileName(0));
}

/** Rewrites bytes of an entry in the real file (the store is closed). */
function damageEntry(dataDir: string, topic: string, queueId: number, queueOffset: number, change: (entry: DataView) => void): void {
  const path = queueFile(dataDir, topic, queueId);
  const bytes = readFileSync(path);
  change(new DataView(bytes.buffer, bytes.byteOffset + queueOffset * 20, 20));
  writeFileSync(path, bytes);
}

function texts(result: ReturnType<MessageStore["getMessages"]>): string[] {
  return result.messages.map((message) => new TextDecoder().decode(decodeRecord(result.buffer, message.position).body));
}

describe("MessageStore: damaged consume-queue entries", () => {
  test("an entry pointing at another queue's record is skipped, never served, and repaired from the CommitLog", async () => {
    const dataDir = join(makeTempDir(), "data");
    const stored = await fill(dataDir);
    const victim = stored.find((record) => record.topic === "Orders" && record.queueId === 0 && record.queueOffset === 4)!;
    // The entry now names another queue's record of the same size: as a flipped bit did in the trial.
    const other = stored.find((record) => record.topic === "Orders" && record.queueId === 1 && record.queueOffset === 4)!;
    expect(other.size).toBe(victim.size);
    damageEntry(dataDir, "Orders", 0, 4, (entry) => entry.setUint32(4, other.physicalOffset));
    const store = await open(dataDir);

    const first = store.getMessages({ topic: "Orders", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
    expect(first.corruptSkipped).toBe(1);
    expect(texts(first)).not.toContain(other.text);
    expect(texts(first)).toEqual(stored.filter((record) => record.topic === "Orders" && record.queueId === 0 && record.queueOffset !== 4).map((record) => record.text));
    expect<number>(first.nextOffset).toBe(10);

    const report = await store.queueRepair.idle();
    expect(report).toEqual({ entriesRewritten: 1, entriesBlanked: 0 });
    const repaired = store.getMessages({ topic: "Orders", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
    expect(repaired.corruptSkipped).toBe(0);
    expect(texts(repaired)).toEqual(stored.filter((record) => record.topic === "Orders" && record.queueId === 0).map((record) => record.text));
  });

  test("one flipped bit in any bit of an entry's CommitLog offset never serves another record", async () => {
    const dataDir = join(makeTempDir(), "data");
    const stored = await fill(dataDir);
    const own = stored.filter((record) => record.topic === "Audit").map((record) => record.text);
    for (let bit = 0; bit < 64; bit++) {
      const copy = join(makeTempDir(), "data");
      await Bun.$`cp -r ${dataDir} ${copy}`.quiet();
      damageEntry(copy, "Audit", 0, 3, (entry) => {
        const byte = 7 - Math.floor(bit / 8);
        entry.setUint8(byte, entry.getUint8(byte) ^ (1 << (bit % 8)));
      });
      const store = await open(copy);
      const read = store.getMessages({ topic: "Audit", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
      expect({ bit, served: texts(read) }).toEqual({ bit, served: own.filter((_, index) => index !== 3) });
      expect<number>(read.nextOffset).toBe(10);
      await store.queueRepair.idle();
      expect(texts(store.getMessages({ topic: "Audit", queueId: 0, offset: asQueueOffset(0), maxCount: 100 }))).toEqual(own);
      await store.close();
      opened.splice(opened.indexOf(store), 1);
    }
  });

  test("a read starting at a damaged entry moves past it (nextOffset advances), whatever the damage", async () => {
    const dataDir = join(makeTempDir(), "data");
    const stored = await fill(dataDir);
    // Offset 2: a size no record can have; offset 5: an offset past the end of the log.
    damageEntry(dataDir, "Orders", 1, 2, (entry) => entry.setUint32(8, 0x7fff_ffff));
    damageEntry(dataDir, "Orders", 1, 5, (entry) => entry.setUint32(0, 0x10));
    const store = await open(dataDir);
    for (const offset of [2, 5]) {
      const read = store.getMessages({ topic: "Orders", queueId: 1, offset: asQueueOffset(offset), maxCount: 1 });
      expect(read.nextOffset).toBeGreaterThan(offset);
      expect(read.corruptSkipped).toBe(1);
    }
    const browsed: string[] = [];
    for (let offset = 0, steps = 0; offset < 10 && steps < 20; steps++) {
      const read = store.getMessages({ topic: "Orders", queueId: 1, offset: asQueueOffset(offset), maxCount: 1 });
      browsed.push(...texts(read));
      expect(read.nextOffset).toBeGreaterThan(offset);
      offset = read.nextOffset;
    }
    const expected = stored.filter((record) => record.topic === "Orders" && record.queueId === 1);
    expect(browsed).toEqual(expected.filter((record) => record.queueOffset !== 2 && record.queueOffset !== 5).map((record) => record.text));
    await store.queueRepair.idle();
    expect(texts(store.getMessages({ topic: "Orders", queueId: 1, offset: asQueueOffset(0), maxCount: 100 }))).toEqual(expected.map((record) => record.text));
  });
});
