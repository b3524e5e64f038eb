/** Admin round trips, and producer retries on another queue (through a custom RouteResolver). */

import { describe, expect, test } from "bun:test";
import { freePort, startTestBroker } from "../../helpers/broker.ts";
import { Admin, type MessageQueue, type RouteResolver, isMqError } from "../../../src/client/index.ts";
import { consumer, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

describe("client: Admin", () => {
  test("topics: create, get, list, update, delete", async () => {
    const broker = await startTestBroker();
    const admin = track(new Admin({ broker: broker.address }));
    const topic = uniqueName("adm");
    await admin.createTopic(topic, { queues: 4 });
    const created = await admin.getTopic(topic);
    expect([created.readQueues, created.writeQueues, created.perm]).toEqual([4, 4, 6]);
    expect((await admin.listTopics()).map((config) => config.topic)).toContain(topic);
    await admin.updateTopic(topic, { writeQueues: 2 });
    expect((await admin.getTopic(topic)).writeQueues).toBe(2);
    await admin.deleteTopic(topic);
    const missing = await admin.getTopic(topic).then(() => undefined, (error: unknown) => error);
    expect(isMqError(missing, "TOPIC_NOT_FOUND")).toBe(true);
  });

  test("offsets and groups: min/max/by time, lag, reset", async () => {
    const broker = await startTestBroker();
    const admin = track(new Admin({ broker: broker.address }));
    const topic = uniqueName("lag");
    await admin.createTopic(topic, { queues: 1 });
    const producer = await startProducer(broker.address);
    const beforeMs = Date.now();
    for (let index = 0; index < 5; index++) await producer.send({ topic, body: `l${index}` });
    expect<number[]>([await admin.minOffset(topic, 0), await admin.maxOffset(topic, 0)]).toEqual([0, 5]);
    expect<number>(await admin.offsetByTime(topic, 0, beforeMs)).toBe(0);
    expect<unknown>(await admin.topicOffsets(topic)).toEqual([{ queueId: 0, minOffset: 0, maxOffset: 5 }]);

    const group = uniqueName("g");
    const seen: string[] = [];
    const member = consumer(broker.address, { group, consumeFromWhere: "first", commitIntervalMs: 50 }).subscribe(topic);
    await member.start((message) => void seen.push(message.text()));
    await waitFor("5 messages", () => seen.length === 5);
    await member.shutdown();
    const detail = await admin.getGroup(group);
    expect(detail.queues.filter((queue) => queue.topic === topic).map(({ consumerOffset, lag }) => ({ consumerOffset, lag }))).toEqual([{ consumerOffset: 5, lag: 0 }]);
    expect((await admin.listGroups()).map((summary) => summary.group)).toContain(group);

    const reset = await admin.resetOffset(group, topic, "first");
    expect<unknown>(reset.map(({ queueId, queueOffset }) => ({ queueId, queueOffset }))).toEqual([{ queueId: 0, queueOffset: 0 }]);
    expect((await admin.getGroup(group)).queues.find((queue) => queue.topic === topic)?.lag).toBe(5);
  });

  test("a running member picks up an offset reset and consumes again from the new offset", async () => {
    const broker = await startTestBroker();
    const admin = track(new Admin({ broker: broker.address }));
    const topic = uniqueName("reset");
    await admin.createTopic(topic, { queues: 1 });
    const producer = await startProducer(broker.address);
    for (let index = 0; index < 3; index++) await producer.send({ topic, body: `r${index}` });
    const group = uniqueName("g");
    const seen: string[] = [];
    const member = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await member.start((message) => void seen.push(message.text()));
    await waitFor("3 messages", () => seen.length === 3);
    await admin.resetOffset(group, topic, "first");
    await waitFor("3 messages again", () => seen.length === 6);
    expect(seen).toEqual(["r0", "r1", "r2", "r0", "r1", "r2"]);
  });
});

describe("client: Producer retries", () => {
  /** Two "brokers": queue 0 on an address nothing listens on, queue 1 on the real broker. */
  function splitResolver(live: string, dead: string): () => RouteResolver {
    return () => ({
      async topicRoute(topic: string) {
        const queues: MessageQueue[] = [{ topic, brokerName: "dead", queueId: 0 }, { topic, brokerName: "live", queueId: 0 }];
        return { topic, writeQueues: queues, readQueues: queues, perm: 6, order: false };
      },
      brokerAddress: (name: string) => (name === "dead" ? dead : live),
      brokerAddresses: () => [live],
      invalidate: () => undefined,
      async creationRoute(topic: string) {
        return { topic, writeQueues: [], readQueues: [], perm: 6, order: false };
      },
    });
  }

  test("a send whose queue's broker is unreachable is retried on another queue", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("retry");
    const admin = track(new Admin({ broker: broker.address }));
    await admin.createTopic(topic, { queues: 1 });
    const producer = await startProducer(broker.address, { routeResolver: splitResolver(broker.address, `127.0.0.1:${freePort()}`), retries: 2 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => producer.send({ topic, body: `r${index}` })));
    expect(results.every((result) => result.queueId === 0)).toBe(true);
    expect<number>(await admin.maxOffset(topic, 0)).toBe(10);
  });

  test("a selector-pinned send is retried on its own queue only, then fails with the transport error", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("pinned");
    const producer = await startProducer(broker.address, { routeResolver: splitResolver(broker.address, `127.0.0.1:${freePort()}`), retries: 1 });
    const error = await producer.send({ topic, body: "x" }, { selector: (queues) => queues[0]! }).then(() => undefined, (caught: unknown) => caught);
    expect(isMqError(error, "CONNECT_FAILED")).toBe(true);
  });
});
