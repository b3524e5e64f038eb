/** The topic table: coalesced writes, the topic cap, and remembered deletions. */

import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { TopicConfigManager } from "../../../src/broker/topic-config-manager.ts";
import { isMqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

function manager(dataDir = makeTempDir("mq-topics-"), topicsMax = 10_000): TopicConfigManager {
  return new TopicConfigManager({ dataDir, autoCreateTopics: true, defaultTopicQueues: 4, topicsMax, logger: silentLogger });
}

function topicsOnDisk(topics: TopicConfigManager): string[] {
  return (JSON.parse(readFileSync(topics.path, "utf8")).topics as { topic: string }[]).map((entry) => entry.topic);
}

describe("TopicConfigManager: writes", () => {
  test("a burst of auto-creates costs a bounded number of writes and the file ends with every topic", async () => {
    const topics = manager();
    const names = Array.from({ length: 500 }, (_, index) => `auto-${String(index).padStart(3, "0")}`);
    for (const name of names.slice(0, 250)) topics.forWrite(name);
    // The rest arrive one per turn while the first write is on its way.
    for (const name of names.slice(250)) {
      topics.forWrite(name);
      await Promise.resolve();
    }
    await topics.flush();
    expect(topics.writesStarted).toBeLessThanOrEqual(4);
    expect(topicsOnDisk(topics)).toEqual(names);
    expect(JSON.parse(readFileSync(topics.path, "utf8")).dataVersion).toBe(500);
  });

  test("a change after a flush is written too, and a new manager reads the last state", async () => {
    const dataDir = makeTempDir("mq-topics-");
    const topics = manager(dataDir);
    topics.forWrite("a");
    await topics.flush();
    topics.delete("a");
    topics.forWrite("b");
    await topics.flush();
    const reopened = manager(dataDir);
    expect(reopened.list().map((config) => config.topic)).toEqual(["b"]);
    expect(reopened.wasDeleted("a")).toBe(true);
    expect(reopened.dataVersion).toBe(topics.dataVersion);
  });
});

describe("TopicConfigManager: the topic cap", () => {
  test("create, upsert and auto-create stop at topicsMax; updates and adoption do not", () => {
    const topics = manager(undefined, 2);
    topics.create({ topic: "a", readQueues: 1, writeQueues: 1, perm: 6, order: false });
    topics.forWrite("b");
    const refusals = [
      () => topics.create({ topic: "c", readQueues: 1, writeQueues: 1, perm: 6, order: false }),
      () => topics.upsert({ topic: "c", readQueues: 1, writeQueues: 1, perm: 6, order: false }),
      () => topics.forWrite("c"),
    ];
    for (const refuse of refusals) {
      let error: unknown;
      try {
        refuse();
      } catch (caught) {
        error = caught;
      }
      expect(isMqError(error, "TOPIC_LIMIT_REACHED")).toBe(true);
    }
    expect(topics.upsert({ topic: "a", readQueues: 2, writeQueues: 2, perm: 6, order: false }).readQueues).toBe(2);
    expect(topics.adopt({ topic: "found", readQueues: 1, writeQueues: 1, perm: 6, order: false }).topic).toBe("found");
    expect(topics.list().length).toBe(3);
  });

  test("a deleted name is forgotten once created again", () => {
    const topics = manager();
    topics.forWrite("t");
    topics.delete("t");
    expect(topics.wasDeleted("t")).toBe(true);
    topics.forWrite("t");
    expect(topics.wasDeleted("t")).toBe(false);
  });
});
