/**
 * The SDK in cluster mode against two real brokers in this process and a stand-in NameServer
 * (fake-namesrv.ts): admin fan-out, producers spreading over and failing over between brokers,
 * consumers rebalancing over every broker's queues and dropping a broker that leaves the route.
 */

import { describe, expect, test } from "bun:test";
import { Admin, type ProducerOptions, type PushConsumerOptions, Producer, PushConsumer, isMqError } from "../../../src/client/index.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { track, uniqueName, waitFor } from "../client/helpers.ts";
import { startFakeNamesrv } from "./fake-namesrv.ts";

async function twoBrokerCluster() {
  const [brokerA, brokerB] = await Promise.all([startTestBroker(), startTestBroker()]);
  const namesrv = await startFakeNamesrv();
  namesrv.register("broker-a", brokerA.address);
  namesrv.register("broker-b", brokerB.address);
  const admin = track(new Admin({ namesrv: namesrv.address }));
  return { brokerA: brokerA!, brokerB: brokerB!, namesrv, admin };
}

async function producerOf(namesrv: string, options: Partial<ProducerOptions> = {}): Promise<Producer> {
  const producer = track(new Producer({ namesrv, ...options }));
  await producer.start();
  return producer;
}

function consumerOf(namesrv: string, options: Partial<PushConsumerOptions> & { group: string }): PushConsumer {
  return track(new PushConsumer({ namesrv, ...options }));
}

describe("cluster client: Admin", () => {
  test("creates a topic on every broker of the cluster, or on the brokers named", async () => {
    const { admin, brokerA, brokerB } = await twoBrokerCluster();
    const everywhere = uniqueName("all");
    await admin.createTopic(everywhere, { queues: 4 });
    const detail = await admin.getTopic(everywhere);
    expect([detail.readQueues, detail.writeQueues]).toEqual([8, 8]);
    expect(detail.queues.map((queue) => `${queue.brokerName}#${queue.queueId}`)).toEqual(["broker-a#0", "broker-a#1", "broker-a#2", "broker-a#3", "broker-b#0", "broker-b#1", "broker-b#2", "broker-b#3"]);

    const onlyB = uniqueName("b");
    await admin.createTopic(onlyB, { queues: 2, brokerNames: ["broker-b"] });
    expect(brokerA.broker.context.topics.get(onlyB)).toBeUndefined();
    expect(brokerB.broker.context.topics.get(onlyB)?.writeQueues).toBe(2);
    const route = await admin.getTopicRoute(onlyB);
    expect(route.queueDatas.map((queueData) => queueData.brokerName)).toEqual(["broker-b"]);

    const unknown = await admin.createTopic(uniqueName("x"), { brokerNames: ["broker-z"] }).catch((error: unknown) => error);
    expect(isMqError(unknown, "BROKER_NOT_FOUND")).toBe(true);
  });

  test("lists brokers and merges topic lists across brokers", async () => {
    const { admin } = await twoBrokerCluster();
    const topic = uniqueName("list");
    await admin.createTopic(topic, { queues: 3 });
    expect((await admin.clusterInfo()).brokers.map((broker) => broker.brokerName).sort()).toEqual(["broker-a", "broker-b"]);
    const listed = (await admin.listTopics()).find((config) => config.topic === topic);
    expect([listed?.readQueues, listed?.writeQueues]).toEqual([6, 6]);
    const offsets = await admin.topicOffsets(topic);
    expect(offsets.map((queue) => queue.brokerName)).toEqual(["broker-a", "broker-a", "broker-a", "broker-b", "broker-b", "broker-b"]);
    const ambiguous = await admin.maxOffset(topic, 0).catch((error: unknown) => error);
    expect(isMqError(ambiguous, "BAD_REQUEST")).toBe(true);
    expect<number>(await admin.maxOffset(topic, 0, "broker-b")).toBe(0);
  });

  test("a topic no broker has is NO_ROUTE naming the topic and the NameServers asked, when no broker is listed", async () => {
    const namesrv = await startFakeNamesrv();
    const producer = await producerOf(namesrv.address);
    const error = await producer.send({ topic: "NoSuchTopic", body: "x" }).catch((caught: unknown) => caught);
    expect(isMqError(error, "NO_ROUTE")).toBe(true);
    expect((error as Error).message).toBe(`Cannot find a route for topic "NoSuchTopic": asked ${namesrv.address}`);
  });

  test("a send to a topic no broker has creates it on a master that auto-creates topics", async () => {
    const { namesrv, brokerA, brokerB } = await twoBrokerCluster();
    const producer = await producerOf(namesrv.address);
    const result = await producer.send({ topic: "BornOnSend", body: "x" });
    expect(result.queueId).toBe(0);
    const created = [brokerA, brokerB].filter((broker) => broker.broker.context.topics.get("BornOnSend") !== undefined);
    expect(created.length).toBe(1);
  });

  test("a send to a topic no broker has is TOPIC_NOT_FOUND when the brokers do not auto-create", async () => {
    const [brokerA, brokerB] = await Promise.all([startTestBroker({ config: { autoCreateTopics: false } }), startTestBroker({ config: { autoCreateTopics: false } })]);
    const namesrv = await startFakeNamesrv();
    namesrv.register("broker-a", brokerA.address);
    namesrv.register("broker-b", brokerB.address);
    const producer = await producerOf(namesrv.address);
    const error = await producer.send({ topic: "NoSuchTopic", body: "x" }).catch((caught: unknown) => caught);
    expect(isMqError(error, "TOPIC_NOT_FOUND")).toBe(true);
  });
});

describe("cluster client: Producer", () => {
  test("spreads sends over every writable queue of every broker", async () => {
    const { admin, namesrv } = await twoBrokerCluster();
    const topic = uniqueName("spread");
    await admin.createTopic(topic, { queues: 4 });
    const producer = await producerOf(namesrv.address);
    for (let index = 0; index < 32; index++) await producer.send({ topic, body: `m${index}` });
    const offsets = await admin.topicOffsets(topic);
    expect<number[]>(offsets.map((queue) => queue.maxOffset)).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
  });

  test("after a broker stops, sends carry on through the other without an error", async () => {
    const { admin, namesrv, brokerA } = await twoBrokerCluster();
    const topic = uniqueName("failover");
    await admin.createTopic(topic, { queues: 4 });
    const producer = await producerOf(namesrv.address); // the stopped broker refuses at once: no short timeout needed, and none to time out a slow live send
    for (let index = 0; index < 8; index++) await producer.send({ topic, body: `before${index}` });
    await brokerA.stop();
    const results = [];
    for (let index = 0; index < 40; index++) results.push(await producer.send({ topic, body: `after${index}` }));
    expect(results.length).toBe(40);
    const detail = await admin.getTopic(topic); // broker-a is down: the view has broker-b alone
    expect(detail.queues.every((queue) => queue.brokerName === "broker-b")).toBe(true);
    expect(detail.queues.reduce((total, queue) => total + queue.maxOffset, 0)).toBe(44);
  });
});

describe("cluster client: PushConsumer", () => {
  test("two members split the queues of both brokers and receive every message once", async () => {
    const { admin, namesrv } = await twoBrokerCluster();
    const topic = uniqueName("group");
    await admin.createTopic(topic, { queues: 4 });
    const group = uniqueName("g");
    const received = new Map<string, number>();
    const onMessage = (text: string) => void received.set(text, (received.get(text) ?? 0) + 1);
    const members = [0, 1].map(() => consumerOf(namesrv.address, { group, consumeFromWhere: "first", rebalanceIntervalMs: 200 }).subscribe(topic));
    for (const member of members) await member.start((message) => onMessage(message.text()));
    await waitFor("both members to own 4 queues each", () => members.every((member) => member.ownedQueues.length === 4));
    const brokersOwned = members.map((member) => new Set(member.ownedQueues.map((queue) => queue.brokerName)).size);
    expect(members.flatMap((member) => member.ownedQueues).length).toBe(8);
    expect(brokersOwned.every((count) => count >= 1)).toBe(true);

    const producer = await producerOf(namesrv.address);
    for (let index = 0; index < 200; index++) await producer.send({ topic, body: `m${index}` });
    await waitFor("200 messages", () => received.size === 200);
    expect([...received.values()].every((count) => count === 1)).toBe(true);
    const view = await admin.getGroup(group);
    expect(new Set(view.queues.map((queue) => queue.brokerName))).toEqual(new Set(["broker-a", "broker-b"]));
  });

  test("queues of a broker that leaves the route are dropped", async () => {
    const { admin, namesrv } = await twoBrokerCluster();
    const topic = uniqueName("drop");
    await admin.createTopic(topic, { queues: 2 });
    const member = consumerOf(namesrv.address, { group: uniqueName("g"), rebalanceIntervalMs: 100, routeRefreshIntervalMs: 100 }).subscribe(topic);
    await member.start(() => undefined);
    await waitFor("4 queues on 2 brokers", () => member.ownedQueues.length === 4);
    namesrv.unregister("broker-a");
    await waitFor("broker-a's queues to go", () => member.ownedQueues.length === 2);
    expect(member.ownedQueues.every((queue) => queue.brokerName === "broker-b")).toBe(true);
  });
});
