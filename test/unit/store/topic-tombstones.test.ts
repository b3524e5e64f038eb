/**
 * Deleted topics stay deleted: the store records a tombstone (the CommitLog position at the
 * deletion) before it removes the topic's queues, and dispatch skips the topic's records below
 * it, so a restart — clean, or a crash whose replay walks the old records again — never brings
 * the topic back, and a topic re-created under the same name shows only its new messages.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { physicalOffset } from "../../../src/common/offsets.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import type { MessageStoreOptions } from "../../../src/store/store-options.ts";
import { TopicTombstones } from "../../../src/store/topic-tombstones.ts";
import { killStore } from "../../helpers/store-crash.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueBodies, tinyStoreOptions } from "../../helpers/tiny-store.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function putAll(store: MessageStore, topic: string, texts: string[]): void {
  for (const text of texts) expect(store.append({ topic, queueId: 0, body: encoder.encode(text), keys: [text], msgId: msgIdOf(text) }).status).toBe("ok");
}

function msgIdOf(text: string): string {
  return Buffer.from(text.padEnd(16, "_").slice(0, 16)).toString("hex").toUpperCase();
}

for (const restart of ["crash", "clean close"] as const) {
  describe(`Topic tombstones (${restart})`, () => {
    const reopen = async (store: MessageStore, options: MessageStoreOptions): Promise<MessageStore> => {
      if (restart === "crash") killStore(store);
      else await store.close();
      return MessageStore.open(options);
    };

    test("a deleted topic stays deleted across a restart whose replay walks its records", async () => {
      const options = tinyStoreOptions();
      const store = await MessageStore.open(options);
      putAll(store, "Gone", ["g0", "g1", "g2"]);
      putAll(store, "Kept", ["k0"]);
      store.deleteTopic("Gone");
      expect(store.topics().map((info) => info.topic)).toEqual(["Kept"]);
      const reopened = await reopen(store, options);
      try {
        expect(reopened.topics().map((info) => info.topic)).toEqual(["Kept"]);
        expect<number>(reopened.maxOffset("Gone", 0)).toBe(0);
        expect(reopened.queryByKey("Gone", "g1")).toEqual([]);
        expect(reopened.queryByMsgId(msgIdOf("g1"))).toBeUndefined();
        expect(queueBodies(reopened, "Kept", 0)).toEqual(["k0"]);
      } finally {
        await reopened.close();
      }
    });

    test("a re-created topic shows only its new messages, at offsets from 0, after a restart", async () => {
      const options = tinyStoreOptions();
      const store = await MessageStore.open(options);
      putAll(store, "T", ["old0", "old1", "old2", "old3", "old4"]);
      store.deleteTopic("T");
      putAll(store, "T", ["new0", "new1"]);
      expect(queueBodies(store, "T", 0)).toEqual(["new0", "new1"]);
      const reopened = await reopen(store, options);
      try {
        expect(queueBodies(reopened, "T", 0)).toEqual(["new0", "new1"]);
        expect<number>(reopened.maxOffset("T", 0)).toBe(2);
        expect(reopened.queryByKey("T", "old3")).toEqual([]);
        expect(reopened.queryByKey("T", "new1").map((message) => decoder.decode(message.body))).toEqual(["new1"]);
        // New sends continue the new incarnation's offsets.
        const next = reopened.append({ topic: "T", queueId: 0, body: encoder.encode("new2") });
        expect<unknown>(next.status === "ok" && next.queueOffset).toBe(2);
      } finally {
        await reopened.close();
      }
    });
  });
}

describe("Topic tombstones: files", () => {
  test("queues left behind by a crash between the tombstone and their removal are dropped at open", async () => {
    const options = tinyStoreOptions();
    const store = await MessageStore.open(options);
    putAll(store, "Half", ["h0", "h1"]);
    // The tombstone is durable, but the process dies before the queues are removed.
    new TopicTombstones(options.dataDir).record("Half", physicalOffset(store.stats().commitLogMaxOffset));
    killStore(store);
    expect(existsSync(join(options.dataDir, "consumequeue", "Half"))).toBe(true);
    const reopened = await MessageStore.open(options);
    try {
      expect(reopened.topics()).toEqual([]);
      expect(existsSync(join(options.dataDir, "consumequeue", "Half", "0"))).toBe(false);
    } finally {
      await reopened.close();
    }
  });

  test("records the latest deletion per topic atomically and forgets tombstones retention has passed", () => {
    const dir = makeTempDir();
    mkdirSync(dir, { recursive: true });
    const tombstones = new TopicTombstones(dir);
    tombstones.record("A", physicalOffset(100));
    tombstones.record("B", physicalOffset(5_000));
    tombstones.record("A", physicalOffset(900));
    expect(JSON.parse(readFileSync(tombstones.path, "utf8"))).toEqual({ version: 1, topics: { A: 900, B: 5_000 } });
    const reloaded = new TopicTombstones(dir);
    expect(reloaded.hidesAt("A", physicalOffset(899))).toBe(true);
    expect(reloaded.hidesAt("A", physicalOffset(900))).toBe(false);
    expect(reloaded.hidesAt("C", physicalOffset(0))).toBe(false);
    reloaded.prune(physicalOffset(1_000));
    expect(new TopicTombstones(dir).offsetOf("A")).toBeUndefined();
    expect(new TopicTombstones(dir).offsetOf("B")).toBe(5_000);
  });
});
