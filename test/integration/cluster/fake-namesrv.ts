/**
 * A stand-in NameServer for client tests in one process: it serves GET_ROUTE and
 * GET_CLUSTER_INFO over real TCP like the NameServer, but its broker list is whatever the test
 * registers, and a route is built live by asking each registered broker for the topic
 * (GET_TOPIC). A test "expires" a broker by unregistering it — no heartbeat timing involved, so
 * the client's reaction to route changes is tested deterministically.
 */

import { BrokerClient } from "../../../src/client/broker-client.ts";
import { ConnectionPool } from "../../../src/client/connection-pool.ts";
import { MqError, isMqError } from "../../../src/common/errors.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { Server } from "../../../src/net/server.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import type { QueueData, TopicRouteData } from "../../../src/protocol/responses.ts";

export interface FakeNamesrv {
  readonly address: string;
  /** Routes served so far (GET_ROUTE requests answered, including TOPIC_NOT_FOUND). */
  readonly routeRequests: number;
  register(brokerName: string, address: string): void;
  unregister(brokerName: string): void;
  close(): Promise<void>;
}

const running = new Set<FakeNamesrv>();

afterEachTest(async () => {
  for (const namesrv of [...running]) await namesrv.close();
});

export async function startFakeNamesrv(): Promise<FakeNamesrv> {
  const server = await Server.listen({ host: "127.0.0.1", port: 0 });
  const pool = new ConnectionPool();
  const brokerClient = new BrokerClient(pool);
  const brokers = new Map<string, string>();
  let routeRequests = 0;

  server.handle(RequestCode.GET_ROUTE, async (request) => {
    routeRequests += 1;
    const topic = request.fields.topic;
    const route: TopicRouteData = { topic, queueDatas: [], brokerDatas: [] };
    for (const [brokerName, address] of [...brokers].sort()) {
      let queueData: QueueData;
      try {
        const detail = await brokerClient.getTopic(address, topic);
        queueData = { brokerName, readQueues: detail.readQueues, writeQueues: detail.writeQueues, perm: detail.perm, order: detail.order };
      } catch (error) {
        if (isMqError(error, "TOPIC_NOT_FOUND")) continue;
        continue; // a broker that does not answer is as good as expired for this fake
      }
      route.queueDatas.push(queueData);
      route.brokerDatas.push({ clusterName: "TestCluster", brokerName, brokerAddrs: { "0": address } });
    }
    if (route.queueDatas.length === 0) throw new MqError("TOPIC_NOT_FOUND", { topic });
    return { fields: route };
  });
  server.handle(RequestCode.GET_CLUSTER_INFO, () => ({
    fields: {
      brokers: [...brokers].map(([brokerName, brokerAddr]) => ({ clusterName: "TestCluster", brokerName, brokerId: 0, brokerAddr, version: "test", lastHeartbeatAgeMs: 0, topics: 0 })),
    },
  }));

  const handle: FakeNamesrv = {
    address: `127.0.0.1:${server.port}`,
    get routeRequests() {
      return routeRequests;
    },
    register: (brokerName, address) => void brokers.set(brokerName, address),
    unregister: (brokerName) => void brokers.delete(brokerName),
    async close() {
      running.delete(handle);
      await pool.close();
      await server.close();
    },
  };
  running.add(handle);
  return handle;
}
