/**
 * Consumer groups on a real broker: clustering splits queues and moves them when a member
 * leaves (no message lost, none handled by two members at once), orderly mode keeps per-queue
 * order across 4 members, broadcasting gives every member everything.
 */

import { describe, expect, test } from "bun:test";
import { startTestBroker } from "../../helpers/broker.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";
import type { PushConsumer } from "../../../src/client/push-consumer.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { consumer, createTopic, startProducer, uniqueName, waitFor } from "./helpers.ts";

/**
 * Watches a group's handlers: records every delivery and fails the test's invariant when two
 * members work one queue at the same moment (which also covers one message handled twice at once).
 */
/** Handler delays, seeded so a failing interleaving replays with SEED=. */
const jitterRandom = seededRandom();

class GroupWatch {
  readonly deliveries = new Map<string, string[]>(); // msgId → members that handled it
  readonly violations: string[] = [];
  private readonly activeByQueue = new Map<number, Map<string, number>>();

  handler(member: string, jitter = true) {
    return async (message: ReceivedMessage) => {
      const active = this.activeByQueue.get(message.queueId) ?? new Map<string, number>();
      this.activeByQueue.set(message.queueId, active);
      for (const [other, count] of active) if (other !== member && count > 0) this.violations.push(`queue ${message.queueId}: ${member} and ${other} at once`);
      active.set(member, (active.get(member) ?? 0) + 1);
      try {
        if (jitter) await new Promise((resolve) => setTimeout(resolve, jitterRandom.int(3)));
        this.deliveries.set(message.msgId, [...(this.deliveries.get(message.msgId) ?? []), member]);
      } finally {
        active.set(member, active.get(member)! - 1);
      }
    };
  }
}

function ownedTotal(consumers: readonly PushConsumer[]): { total: number; distinct: number } {
  const keys = consumers.flatMap((member) => member.ownedQueues.map((queue) => `${queue.topic}#${queue.queueId}`));
  return { total: keys.length, distinct: new Set(keys).size };
}

describe(`client: consumer groups (handler delays seed ${jitterRandom.seed})`, () => {
  test("3 members split 8 queues; one leaves and its queues move; nothing lost, nothing handled twice at once", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("split");
    await createTopic(broker.address, topic, 8);
    const group = uniqueName("g");
    const watch = new GroupWatch();
    const members = ["a", "b", "c"].map((name) => {
      const member = consumer(broker.address, { group, consumeFromWhere: "first", concurrency: 4 });
      member.subscribe(topic);
      return { name, member };
    });
    for (const { name, member } of members) await member.start(watch.handler(name));
    await waitFor("8 queues split over 3 members", () => {
      const { total, distinct } = ownedTotal(members.map((entry) => entry.member));
      return total === 8 && distinct === 8 && members.every(({ member }) => member.ownedQueues.length >= 2);
    });

    const producer = await startProducer(broker.address);
    const sent: string[] = [];
    for (let index = 0; index < 200; index++) sent.push((await producer.send({ topic, body: `m${index}` })).msgId);
    await waitFor("the first 200 messages", () => sent.every((id) => watch.deliveries.has(id)));

    // While c leaves, keep sending so its queues change hands under load.
    const leaving = members[2]!.member.shutdown();
    for (let index = 200; index < 400; index++) sent.push((await producer.send({ topic, body: `m${index}` })).msgId);
    await leaving;
    const remaining = members.slice(0, 2).map((entry) => entry.member);
    await waitFor("8 queues owned by the 2 remaining members", () => {
      const { total, distinct } = ownedTotal(remaining);
      return total === 8 && distinct === 8;
    });
    for (let index = 400; index < 500; index++) sent.push((await producer.send({ topic, body: `m${index}` })).msgId);
    await waitFor("all 500 messages", () => sent.every((id) => watch.deliveries.has(id)));

    expect(watch.violations).toEqual([]);
    const duplicated = [...watch.deliveries].filter(([, handledBy]) => handledBy.length > 1);
    expect(duplicated).toEqual([]);
    const late = sent.slice(400).map((id) => watch.deliveries.get(id)![0]!);
    expect(late.includes("c")).toBe(false);
  });

  test("orderly consumption with 4 members keeps per-queue order", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("orderly");
    await createTopic(broker.address, topic, 8);
    const group = uniqueName("g");
    const watch = new GroupWatch();
    const seenByKey = new Map<string, number[]>();
    const members = [0, 1, 2, 3].map((index) => {
      const member = consumer(broker.address, { group, consumeFromWhere: "first", orderly: true, concurrency: 8 });
      member.subscribe(topic);
      return { name: `m${index}`, member };
    });
    for (const { name, member } of members) {
      const watched = watch.handler(name);
      await member.start(async (message) => {
        await watched(message);
        const [key, sequence] = message.text().split(":");
        seenByKey.set(key!, [...(seenByKey.get(key!) ?? []), Number(sequence)]);
      });
    }
    await waitFor("8 queues over 4 members", () => ownedTotal(members.map((entry) => entry.member)).distinct === 8 && members.every(({ member }) => member.ownedQueues.length === 2));
    const producer = await startProducer(broker.address);
    const keys = Array.from({ length: 16 }, (_, index) => `key${index}`);
    await Promise.all(
      keys.map(async (key) => {
        for (let sequence = 0; sequence < 25; sequence++) await producer.send({ topic, body: `${key}:${sequence}`, shardingKey: key });
      }),
    );
    await waitFor("400 messages", () => [...seenByKey.values()].reduce((sum, list) => sum + list.length, 0) >= 400);
    expect(watch.violations).toEqual([]);
    for (const key of keys) expect({ key, sequences: seenByKey.get(key) }).toEqual({ key, sequences: Array.from({ length: 25 }, (_, index) => index) });
  });

  test("broadcasting: two members each get every message, offsets kept in local files", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("bcast");
    await createTopic(broker.address, topic, 4);
    const group = uniqueName("g");
    const received = [new Set<string>(), new Set<string>()];
    const members = received.map((seen, index) => {
      const member = consumer(broker.address, { group, messageModel: "broadcasting", consumeFromWhere: "first", offsetStoreDir: makeTempDir(), clientId: `bcast-${index}` });
      member.subscribe(topic);
      return { member, seen };
    });
    for (const { member, seen } of members) await member.start((message) => void seen.add(message.text()));
    await waitFor("both own all 4 queues", () => members.every(({ member }) => member.ownedQueues.length === 4));
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 40; index++) await producer.send({ topic, body: `b${index}` });
    await waitFor("every message at both members", () => received.every((seen) => seen.size === 40));
  });

  test("broadcasting resumes from its local offsets after a restart of the member", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("bresume");
    await createTopic(broker.address, topic, 2);
    const group = uniqueName("g");
    const dir = makeTempDir();
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 10; index++) await producer.send({ topic, body: `first${index}` });
    const options = { group, messageModel: "broadcasting" as const, consumeFromWhere: "first" as const, offsetStoreDir: dir, clientId: "resume" };
    const firstRun: string[] = [];
    const first = consumer(broker.address, options).subscribe(topic);
    await first.start((message) => void firstRun.push(message.text()));
    await waitFor("10 messages", () => firstRun.length === 10);
    await first.shutdown();
    for (let index = 0; index < 5; index++) await producer.send({ topic, body: `second${index}` });
    const secondRun: string[] = [];
    const second = consumer(broker.address, options).subscribe(topic);
    await second.start((message) => void secondRun.push(message.text()));
    await waitFor("5 messages", () => secondRun.length >= 5);
    expect(secondRun.sort()).toEqual(["second0", "second1", "second2", "second3", "second4"]);
  });
});
