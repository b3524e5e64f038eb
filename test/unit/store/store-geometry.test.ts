/**
 * store.json: the geometry a data dir was created with is recorded once, and later opens use it
 * whatever is configured (logging both values), so changed settings never misread old files; a
 * store format this build does not read is refused with a catalogue error naming both versions.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../../src/common/clock.ts";
import { errorCatalog, MqError } from "../../../src/common/errors.ts";
import { createLogger } from "../../../src/common/logger.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../../src/store/store-options.ts";
import { storeFormatVersion } from "../../../src/store/store-geometry.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: "info", write: (line) => void lines.push(line) }) };
}

function storeOptions(dataDir: string, overrides: Partial<MessageStoreOptions> = {}): MessageStoreOptions {
  return { dataDir, ...tinyStoreProfile, logger: capturingLogger().logger, clock: new ManualClock(), diskUsage: () => 0, ...overrides };
}

describe("Store geometry", () => {
  test("a data dir records its geometry at creation and is reopened with it whatever is configured", async () => {
    const dataDir = join(makeTempDir(), "data");
    const store = await MessageStore.open(storeOptions(dataDir));
    for (let index = 0; index < 30; index++) expect(store.append({ topic: "G", queueId: 0, body: encoder.encode(`m${index}`), keys: [`k${index}`] }).status).toBe("ok");
    await store.close();
    expect(JSON.parse(readFileSync(join(dataDir, "store.json"), "utf8"))).toEqual({ formatVersion: storeFormatVersion, ...tinyStoreProfile });

    const { lines, logger } = capturingLogger();
    const changed = { commitLogFileBytes: 128 * 1024, consumeQueueEntriesPerFile: 64, indexSlotsPerFile: 128, indexEntriesPerFile: 256 };
    const reopened = await MessageStore.open(storeOptions(dataDir, { ...changed, logger }));
    try {
      expect(reopened.options.consumeQueueEntriesPerFile).toBe(tinyStoreProfile.consumeQueueEntriesPerFile);
      expect(reopened.options.commitLogFileBytes).toBe(tinyStoreProfile.commitLogFileBytes);
      expect(lines.filter((line) => line.includes("was created with")).map((line) => line.slice(line.indexOf("Data dir")))).toEqual([
        `Data dir "${dataDir}" was created with commitLogFileBytes 65536: using it, not the configured 131072`,
        `Data dir "${dataDir}" was created with consumeQueueEntriesPerFile 8: using it, not the configured 64`,
        `Data dir "${dataDir}" was created with indexSlotsPerFile 64: using it, not the configured 128`,
        `Data dir "${dataDir}" was created with indexEntriesPerFile 32: using it, not the configured 256`,
      ]);
      const read = reopened.getMessages({ topic: "G", queueId: 0, offset: asQueueOffset(0), maxCount: 100 });
      expect(read.messages.map((message) => decoder.decode(decodeRecord(read.buffer.subarray(message.position, message.position + message.size)).body))).toEqual(Array.from({ length: 30 }, (_, index) => `m${index}`));
      expect(reopened.queryByKey("G", "k29").length).toBe(1);
      expect(reopened.recovery.recordsReplayed).toBe(0);
    } finally {
      await reopened.close();
    }
  });

  test("a store format this build does not read is refused, naming both versions", async () => {
    const dataDir = join(makeTempDir(), "data");
    await (await MessageStore.open(storeOptions(dataDir))).close();
    const path = join(dataDir, "store.json");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), formatVersion: storeFormatVersion + 1 }));
    let error: unknown;
    try {
      await MessageStore.open(storeOptions(dataDir));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MqError);
    expect((error as MqError).code).toBe(errorCatalog.STORE_FORMAT_UNSUPPORTED.code);
    expect((error as MqError).message).toBe(`Cannot open data dir "${dataDir}": it is in store format ${storeFormatVersion + 1}, this build reads format ${storeFormatVersion}`);
    // The failed open released the data dir: the right version opens it.
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), formatVersion: storeFormatVersion }));
    await (await MessageStore.open(storeOptions(dataDir))).close();
  });
});
