/**
 * `mq start --role namesrv` and `mq start --role broker,http --namesrv ...` as separate
 * processes on loopback (test/helpers/cluster.ts): they find each other, a broker's topics are
 * routed, SIGTERM unregisters, SIGKILL expires.
 */

import { describe, expect, test, afterAll } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import type { Connection } from "../../../src/net/connection.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { readResult } from "../../../src/protocol/response-body.ts";
import { clusterInfoSchema, topicRouteSchema } from "../../../src/protocol/responses.ts";
import { freePort, startBrokerProcess, startNamesrvProcess, stopClusterProcesses } from "../../helpers/cluster.ts";
import { connectTo, waitFor } from "./helpers.ts";

afterAll(stopClusterProcesses);

async function brokersOf(connection: Connection): Promise<string[]> {
  const info = clusterInfoSchema.parse(readResult(await connection.request({ code: RequestCode.GET_CLUSTER_INFO })));
  return info.brokers.map((broker) => `${broker.brokerName}@${broker.brokerAddr}`);
}

async function routeOf(connection: Connection, topic: string) {
  try {
    return topicRouteSchema.parse(readResult(await connection.request({ code: RequestCode.GET_ROUTE, fields: { topic } })));
  } catch (error) {
    if (isMqError(error, "TOPIC_NOT_FOUND")) return undefined;
    throw error;
  }
}

describe("mq start: NameServer and brokers as separate processes", () => {
  test(
    "two brokers register with a NameServer process; a topic on both gets one route; SIGTERM unregisters, SIGKILL expires",
    async () => {
      const namesrv = await startNamesrvProcess({ brokerExpiryMs: 2_000, namesrvScanIntervalMs: 100 });
      await namesrv.waitReady();
      const [a, b] = await Promise.all([
        startBrokerProcess({ namesrv: namesrv.address, brokerName: "broker-a", brokerExpiryMs: 2_000 }),
        startBrokerProcess({ namesrv: namesrv.address, brokerName: "broker-b", brokerExpiryMs: 2_000 }),
      ]);
      try {
        await Promise.all([a.waitReady(), b.waitReady()]);
        const client = await connectTo(namesrv.port);
        expect((await brokersOf(client)).sort()).toEqual([`broker-a@${a.address}`, `broker-b@${b.address}`]);

        for (const broker of [a, b]) {
          const admin = await connectTo(broker.port);
          await admin.request({ code: RequestCode.CREATE_TOPIC, fields: { topic: "Orders", readQueues: 4, writeQueues: 4 } });
        }
        await waitFor("Orders on both brokers", async () => (await routeOf(client, "Orders"))?.queueDatas.length === 2);
        const route = (await routeOf(client, "Orders"))!;
        expect(route.brokerDatas.map((brokerData) => brokerData.brokerAddrs["0"])).toEqual([a.address, b.address]);

        expect(await a.stop()).toBe(0);
        expect(await brokersOf(client)).toEqual([`broker-b@${b.address}`]);

        await b.kill();
        await waitFor("broker-b to expire", async () => (await brokersOf(client)).length === 0);
        expect(await routeOf(client, "Orders")).toBeUndefined();
      } finally {
        await Promise.all([a.kill(), b.kill()]);
        await namesrv.stop();
      }
    },
    60_000,
  );

  test(
    "a broker started before its NameServer registers once the NameServer is up",
    async () => {
      const port = freePort();
      const broker = await startBrokerProcess({ namesrv: `127.0.0.1:${port}`, brokerName: "broker-a" });
      const namesrv = await startNamesrvProcess({ port });
      try {
        await broker.waitReady();
        const client = await connectTo(namesrv.port);
        await waitFor("the broker in the cluster", async () => (await brokersOf(client)).length === 1);
      } finally {
        await broker.stop();
        await namesrv.stop();
      }
    },
    60_000,
  );
});
