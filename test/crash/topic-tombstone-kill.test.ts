/**
 * A deleted topic stays deleted after `kill -9`: a writer process deletes a topic, re-creates it
 * with new messages and is SIGKILLed before any checkpoint; recovery then replays the whole log,
 * the deleted incarnation's records included, and must neither bring them back nor hide the new
 * ones behind them.
 */

import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { decodeRecord } from "../../src/common/message-record.ts";
import { MessageStore } from "../../src/store/message-store.ts";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { tombstoneStoreOptions } from "./tombstone-writer.ts";
import { queueOffset as asQueueOffset } from "../../src/common/offsets.ts";

afterAll(removeTempDirs);

const writerPath = join(import.meta.dir, "tombstone-writer.ts");
const readyTimeoutMs = 20_000;

test("after kill -9, a deleted and re-created topic holds only its new messages", async () => {
  const dataDir = join(makeTempDir("mq-tombstone-"), "data");
  const child = Bun.spawn([process.execPath, writerPath, dataDir], { stdout: "pipe", stderr: "pipe" });
  try {
    const reader = child.stdout.getReader();
    let seen = "";
    const deadline = Date.now() + readyTimeoutMs;
    while (!seen.includes("ready\n") && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    if (!seen.includes("ready\n")) throw new Error(`writer never got ready: ${await new Response(child.stderr).text()}`);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  expect(child.signalCode).toBe("SIGKILL");

  const store = await MessageStore.open(tombstoneStoreOptions(dataDir));
  try {
    expect(store.recovery.abnormal).toBe(true);
    expect(store.recovery.recordsReplayed).toBeGreaterThanOrEqual(28);
    const read = store.getMessages({ topic: "Gone", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
    const texts = read.messages.map((message) => new TextDecoder().decode(decodeRecord(read.buffer.subarray(message.position, message.position + message.size)).body));
    expect(texts).toEqual(["new0", "new1", "new2"]);
    expect<number>(store.maxOffset("Gone", 0)).toBe(3);
    expect(store.queryByKey("Gone", "old7")).toEqual([]);
    expect(store.maxOffset("Kept", 0)).toBeGreaterThanOrEqual(5);
  } finally {
    await store.close();
  }
});
