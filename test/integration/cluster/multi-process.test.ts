/**
 * Clusters as real processes on loopback (STYLE.md §14): two NameServers and two brokers, each a
 * separate `mq start` process, and the SDK in this process talking to them through the
 * NameServers. Brokers heartbeat every 500 ms and expire after 3 s (test/helpers/cluster.ts), so
 * route changes happen within seconds; every wait is bounded.
 */

import { describe, expect, test, afterAll } from "bun:test";
import { Admin, Producer, PushConsumer, type SendResult } from "../../../src/client/index.ts";
import { createLogger } from "../../../src/common/logger.ts";
import { type TestCluster, startTestCluster, storePort, waitUntil } from "./cluster-processes.ts";
import { stopClusterProcesses } from "../../helpers/cluster.ts";

afterAll(stopClusterProcesses);

const clients: Array<{ close(): Promise<void> } | { shutdown(): Promise<void> }> = [];

function track<T extends { close(): Promise<void> } | { shutdown(): Promise<void> }>(client: T): T {
  clients.push(client);
  return client;
}

async function closeClients(): Promise<void> {
  for (const client of clients.splice(0).reverse()) await ("shutdown" in client ? client.shutdown() : client.close()).catch(() => undefined);
}

/** A logger keeping the producer's "failed attempt" lines, with when they were written. */
function attemptLog() {
  const failures: Array<{ atMs: number; line: string }> = [];
  const logger = createLogger({ level: "debug", write: (line) => void (line.includes("failed (attempt") && failures.push({ atMs: performance.now(), line })) });
  return { logger, failures };
}

async function createClusterTopic(cluster: TestCluster, topic: string, queues: number): Promise<Admin> {
  const admin = track(new Admin({ namesrv: cluster.namesrv }));
  await admin.createTopic(topic, { queues });
  await waitUntil(`the route of "${topic}" to list both brokers`, async () => (await admin.getTopicRoute(topic)).queueDatas.length === 2);
  return admin;
}

describe("cluster processes: 2 NameServers, 2 brokers", () => {
  test("a topic created on the cluster spreads its queues over both brokers", async () => {
    const cluster = await startTestCluster();
    try {
      const admin = await createClusterTopic(cluster, "Spread", 4);
      const route = await admin.getTopicRoute("Spread");
      expect(route.queueDatas.map(({ brokerName, readQueues, writeQueues, perm }) => ({ brokerName, readQueues, writeQueues, perm }))).toEqual([
        { brokerName: "broker-a", readQueues: 4, writeQueues: 4, perm: 6 },
        { brokerName: "broker-b", readQueues: 4, writeQueues: 4, perm: 6 },
      ]);
      expect(route.brokerDatas.map((broker) => broker.brokerAddrs["0"]).sort()).toEqual(cluster.brokers.map((broker) => broker.address).sort());
    } finally {
      await closeClients();
    }
  }, 60_000);

  test("10,000 messages sent through the SDK arrive at a consumer group exactly as sent", async () => {
    const cluster = await startTestCluster();
    try {
      await createClusterTopic(cluster, "Orders", 4);
      const received = new Map<string, Array<{ body: string; tags: string | undefined; keys: string[] }>>();
      const members = [0, 1].map(() => track(new PushConsumer({ namesrv: cluster.namesrv, group: "billing", consumeFromWhere: "first", rebalanceIntervalMs: 500 })));
      for (const member of members) {
        member.subscribe("Orders");
        await member.start((message) => {
          const copies = received.get(message.msgId) ?? [];
          copies.push({ body: message.text(), tags: message.tags, keys: [...message.keys] });
          received.set(message.msgId, copies);
        });
      }
      await waitUntil("the members to share the 8 queues", () => members.every((member) => member.ownedQueues.length === 4));

      const { logger, failures } = attemptLog();
      const producer = track(new Producer({ namesrv: cluster.namesrv, logger }));
      await producer.start();
      const sent = new Map<string, { body: string; tags: string; keys: string[] }>();
      const results: SendResult[] = [];
      const total = 10_000;
      const window = 200;
      for (let first = 0; first < total; first += window) {
        const batch = Array.from({ length: Math.min(window, total - first) }, async (_, offset) => {
          const index = first + offset;
          const message = { body: `order-${index}`, tags: `t${index % 3}`, keys: [`k${index}`] };
          const result = await producer.send({ topic: "Orders", ...message });
          sent.set(result.msgId, message);
          results.push(result);
        });
        await Promise.all(batch);
      }
      expect(sent.size).toBe(total);
      const ports = new Set(results.map((result) => storePort(result.offsetMsgId)));
      expect(ports).toEqual(new Set(cluster.brokers.map((broker) => broker.port)));

      await waitUntil("every message to arrive", () => received.size === total, 60_000);
      for (const [msgId, message] of sent) expect(received.get(msgId)?.[0]).toEqual(message);
      expect([...received.keys()].filter((msgId) => !sent.has(msgId))).toEqual([]);
      const duplicated = [...received.values()].filter((copies) => copies.length > 1).length;
      // At-least-once: only a retried send may arrive twice.
      expect(duplicated).toBeLessThanOrEqual(failures.length);
    } finally {
      await closeClients();
    }
  }, 120_000);

  test("after SIGKILL of one broker, sends carry on through the other within one send timeout and the dead broker leaves the routes", async () => {
    const cluster = await startTestCluster();
    try {
      const admin = await createClusterTopic(cluster, "Payments", 4);
      // Long enough that an attempt on the live broker never times out on a loaded machine.
      const sendTimeoutMs = 2_000;
      const { logger, failures } = attemptLog();
      const producer = track(new Producer({ namesrv: cluster.namesrv, sendTimeoutMs, logger }));
      await producer.start();
      const [brokerA, brokerB] = cluster.brokers;
      const outcomes: Array<{ startMs: number; port?: number; error?: string }> = [];
      let running = true;
      const sender = async () => {
        for (let index = 0; running; index++) {
          const startMs = performance.now();
          try {
            const result = await producer.send({ topic: "Payments", body: `p${index}` });
            outcomes.push({ startMs, port: storePort(result.offsetMsgId) });
          } catch (error) {
            outcomes.push({ startMs, error: (error as Error).message });
          }
        }
      };
      const senders = Array.from({ length: 8 }, () => sender());
      await waitUntil("sends to both brokers", () => new Set(outcomes.map((outcome) => outcome.port)).size === 2);

      await brokerA!.kill();
      const killedMs = performance.now();
      await waitUntil("a send timeout and a second of traffic after the kill", () => performance.now() - killedMs > sendTimeoutMs + 1_000);
      const afterKill = outcomes.filter((outcome) => outcome.startMs > killedMs);
      await waitUntil("the dead broker to leave the route", async () => (await admin.getTopicRoute("Payments")).queueDatas.every((queueData) => queueData.brokerName === "broker-b"));
      running = false;
      await Promise.all(senders);

      expect(outcomes.filter((outcome) => outcome.error !== undefined).map((outcome) => outcome.error)).toEqual([]);
      expect(afterKill.length).toBeGreaterThan(0);
      expect(afterKill.every((outcome) => outcome.port === brokerB!.port)).toBe(true);
      // No attempt went to the dead broker once one send timeout had passed.
      const lateAttempts = failures.filter((failure) => failure.atMs > killedMs + sendTimeoutMs && failure.line.includes("broker-a"));
      expect(lateAttempts.map((failure) => failure.line)).toEqual([]);
      // No send waited out a timeout on the dead broker: its attempts there failed at once (refused or reset).
      expect(failures.filter((failure) => failure.atMs > killedMs && failure.line.includes("broker-a") && failure.line.includes("timed out")).map((failure) => failure.line)).toEqual([]);
      expect((await admin.clusterInfo()).brokers.map((broker) => broker.brokerName)).toEqual(["broker-b"]);
    } finally {
      await closeClients();
    }
  }, 90_000);

  test("after SIGKILL of one NameServer, clients keep working through the other", async () => {
    const cluster = await startTestCluster();
    try {
      await createClusterTopic(cluster, "Events", 2);
      const received = new Set<string>();
      const member = track(new PushConsumer({ namesrv: cluster.namesrv, group: "audit", consumeFromWhere: "first", rebalanceIntervalMs: 300, routeRefreshIntervalMs: 300 }));
      member.subscribe("Events");
      await member.start((message) => void received.add(message.text()));
      const producer = track(new Producer({ namesrv: cluster.namesrv, routeRefreshIntervalMs: 300 }));
      await producer.start();

      await cluster.namesrvs[0]!.kill();
      for (let index = 0; index < 100; index++) await producer.send({ topic: "Events", body: `e${index}` });
      await waitUntil("100 messages after the NameServer died", () => received.size === 100);

      // New clients start at a random NameServer: several of them meet the dead one first.
      for (let round = 0; round < 4; round++) {
        const admin = track(new Admin({ namesrv: cluster.namesrv }));
        expect((await admin.clusterInfo()).brokers.length).toBe(2);
        const topic = `Fresh${round}`;
        await admin.createTopic(topic, { queues: 2 });
        await waitUntil(`the route of "${topic}"`, async () => (await admin.getTopicRoute(topic)).queueDatas.length === 2);
        const fresh = track(new Producer({ namesrv: cluster.namesrv }));
        await fresh.start();
        expect((await fresh.send({ topic, body: "hello" })).topic).toBe(topic);
      }
    } finally {
      await closeClients();
    }
  }, 90_000);
});
