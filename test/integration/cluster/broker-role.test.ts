/**
 * Broker roles as real processes: a broker group of a master (`--broker-id 0`) and a slave
 * (`--broker-id 1`) registered with one NameServer. Until replication exists the slave holds
 * none of its master's messages, so it refuses every write with BROKER_NOT_MASTER (TCP send,
 * batch and oneway; REST send), the NameServer reports each member's role, and clients send to
 * and read from the master only.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { Admin, Producer } from "../../../src/client/index.ts";
import { errorCatalog, isMqError } from "../../../src/common/errors.ts";
import { type BrokerClusterProcess, type ClusterProcess, startBrokerProcess, startNamesrvProcess, stopClusterProcesses } from "../../helpers/cluster.ts";
import { rejection } from "../broker/helpers.ts";
import { waitUntil } from "./cluster-processes.ts";

afterAll(stopClusterProcesses);

const encoder = new TextEncoder();

describe("broker roles: a master and a slave of broker-a", () => {
  let namesrv: ClusterProcess;
  let master: BrokerClusterProcess;
  let slave: BrokerClusterProcess;

  test("start a NameServer, the master (id 0) and the slave (id 1)", async () => {
    namesrv = await startNamesrvProcess();
    [master, slave] = await Promise.all([0, 1].map((brokerId) => startBrokerProcess({ namesrv: namesrv.address, brokerName: "broker-a", brokerId }))) as [BrokerClusterProcess, BrokerClusterProcess];
    await Promise.all([master.waitReady(), slave.waitReady()]);
  }, 60_000);

  test("the slave refuses a TCP send, a batch and a oneway send with BROKER_NOT_MASTER", async () => {
    const producer = new Producer({ broker: slave.address, retries: 0 });
    await producer.start();
    const admin = new Admin({ broker: slave.address });
    try {
      await admin.createTopic("Orders", { queues: 2 });
      const single = await rejection(producer.send({ topic: "Orders", body: encoder.encode("one") }));
      expect(isMqError(single, "BROKER_NOT_MASTER")).toBe(true);
      expect((single as Error).message).toBe('Cannot write to broker "broker-a" (id 1): it is a slave, and replication does not exist yet; send to its master (id 0)');
      const batch = await rejection(producer.sendBatch("Orders", [{ body: encoder.encode("a") }, { body: encoder.encode("b") }]));
      expect(isMqError(batch, "BROKER_NOT_MASTER")).toBe(true);
      await producer.sendOneway({ topic: "Orders", body: encoder.encode("oneway") });
      // A request sent after the oneway on the same connection is answered after it was handled.
      expect(isMqError(await rejection(producer.send({ topic: "Orders", body: encoder.encode("after") })), "BROKER_NOT_MASTER")).toBe(true);
      const offsets = await admin.topicOffsets("Orders");
      expect<number[]>(offsets.map((queue) => queue.maxOffset)).toEqual([0, 0]);
    } finally {
      await producer.shutdown();
      await admin.close();
    }
  }, 30_000);

  test("the slave refuses a REST send, batch and raw body with 403 and BROKER_NOT_MASTER", async () => {
    const sends = [
      { "content-type": "application/json", body: JSON.stringify({ body: "hello" }) },
      { "content-type": "application/json", body: JSON.stringify([{ body: "a" }, { body: "b" }]) },
      { "content-type": "application/octet-stream", body: "raw" },
    ];
    for (const { body, ...headers } of sends) {
      const response = await fetch(`http://127.0.0.1:${slave.httpPort}/api/v1/topics/Orders/messages`, { method: "POST", headers, body });
      const answer = (await response.json()) as { code: number };
      expect({ kind: headers["content-type"], status: response.status, code: answer.code }).toEqual({ kind: headers["content-type"], status: 403, code: errorCatalog.BROKER_NOT_MASTER.code });
    }
  }, 30_000);

  test("the route and the cluster info name each member's role", async () => {
    const admin = new Admin({ namesrv: namesrv.address });
    try {
      await admin.createTopic("Routed", { queues: 2 });
      await waitUntil("the route to list both members of broker-a", async () => Object.keys((await admin.getTopicRoute("Routed")).brokerDatas[0]?.brokerAddrs ?? {}).length === 2);
      const route = await admin.getTopicRoute("Routed");
      expect(route.brokerDatas[0]?.brokerAddrs).toEqual({ "0": master.address, "1": slave.address });
      expect(route.brokerDatas[0]?.brokerRoles).toEqual({ "0": "master", "1": "slave" });
      const { brokers } = await admin.clusterInfo();
      expect(brokers.map((broker) => [broker.brokerId, broker.role, broker.brokerAddr])).toEqual([
        [0, "master", master.address],
        [1, "slave", slave.address],
      ]);
    } finally {
      await admin.close();
    }
  }, 30_000);

  test("a producer over the NameServer sends to the master only", async () => {
    const producer = new Producer({ namesrv: namesrv.address });
    await producer.start();
    const admin = new Admin({ broker: master.address });
    try {
      for (let index = 0; index < 6; index++) await producer.send({ topic: "Routed", body: encoder.encode(`m${index}`) });
      const offsets = await admin.topicOffsets("Routed");
      expect(offsets.reduce((sum, queue) => sum + queue.maxOffset, 0)).toBe(6);
    } finally {
      await producer.shutdown();
      await admin.close();
    }
  }, 30_000);
});
