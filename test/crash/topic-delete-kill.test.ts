/**
 * A deleted topic stays deleted when the broker process is SIGKILLed and started again: the topic
 * table remembers the deletion, recovery replays the old records, and the broker neither adopts
 * the topic back nor lets a topic of the same name created afterwards show them.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { systemTopics } from "../../src/common/system-topics.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Admin, Producer } from "../../src/client/index.ts";
import { isMqError } from "../../src/common/errors.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { removeTempDirs } from "../helpers/temp-dir.ts";
import { waitUntil } from "../helpers/wait-for.ts";
import { untilServing } from "../helpers/wait-for.ts";

afterAll(removeTempDirs);

const decoder = new TextDecoder();

async function withClients<T>(broker: BrokerProcess, run: (admin: Admin, producer: Producer) => Promise<T>): Promise<T> {
  const admin = new Admin({ broker: broker.address });
  const producer = new Producer({ broker: broker.address });
  try {
    await untilServing("the restarted broker", () => producer.start());
    return await run(admin, producer);
  } finally {
    await producer.shutdown();
    await admin.close();
  }
}

function tableOnDisk(broker: BrokerProcess): { topics: { topic: string }[]; deleted?: string[] } {
  return JSON.parse(readFileSync(join(broker.dataDir, "config", "topics.json"), "utf8"));
}

describe("deleted topics across kill -9", () => {
  test("a deleted topic is not adopted back; created again, it holds only its new messages", async () => {
    const first = await spawnBrokerProcess();
    await withClients(first, async (admin, producer) => {
      await admin.createTopic("Doomed", { queues: 1 });
      await admin.createTopic("Kept", { queues: 1 });
      for (let index = 0; index < 5; index++) await producer.send({ topic: "Doomed", body: `old${index}` });
      await producer.send({ topic: "Kept", body: "kept" });
      await admin.deleteTopic("Doomed");
    });
    // And the trace topic the broker made for the sends' stored hops, so the listing below is the same every run.
    const onDisk = () => tableOnDisk(first);
    await waitUntil("the deletion and the trace topic to reach topics.json", () => onDisk().deleted?.includes("Doomed") === true && onDisk().topics.some((config) => config.topic === systemTopics.trace));
    expect(await first.kill()).not.toBe(0);

    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    await withClients(second, async (admin, producer) => {
      const missing = await admin.getTopic("Doomed").catch((error: unknown) => error);
      expect(isMqError(missing, "TOPIC_NOT_FOUND")).toBe(true);
      // The trace topic holds the broker's stored hops of the sends.
      expect((await admin.listTopics()).map((config) => config.topic).sort()).toEqual(["Kept", systemTopics.trace]);
      await producer.send({ topic: "Doomed", body: "new0" });
      const queues = (await admin.getTopic("Doomed")).queues.length;
      const bodies: string[] = [];
      for (let queueId = 0; queueId < queues; queueId++) {
        for (const message of (await admin.readQueue("Doomed", queueId, { offset: 0 })).messages) bodies.push(decoder.decode(message.body));
      }
      expect(bodies).toEqual(["new0"]);
    });
    await second.stop();
  }, 60_000);
});
