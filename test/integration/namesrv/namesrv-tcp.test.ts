/**
 * The NameServer's requests over real TCP: REGISTER_BROKER (header + msgpack body),
 * UNREGISTER_BROKER, GET_ROUTE and GET_CLUSTER_INFO, answered in the shapes of responses.ts.
 */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import type { Connection } from "../../../src/net/connection.ts";
import { encodeRegisterBrokerBody, type RegisteredTopicConfig } from "../../../src/protocol/broker-registration.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { readResult } from "../../../src/protocol/response-body.ts";
import { clusterInfoSchema, topicRouteSchema } from "../../../src/protocol/responses.ts";
import { connectTo, startNameServer } from "./helpers.ts";

const identity = { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr: "127.0.0.1:10911" };

function register(connection: Connection, topicConfigs: RegisteredTopicConfig[], overrides: Partial<typeof identity & { dataVersion: number }> = {}) {
  return connection.request({
    code: RequestCode.REGISTER_BROKER,
    fields: { ...identity, haAddr: "127.0.0.1:10912", version: "1.2.3", dataVersion: 1, ...overrides },
    body: encodeRegisterBrokerBody(topicConfigs),
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("Expected the request to fail");
}

describe("NameServer over TCP", () => {
  test("REGISTER_BROKER makes the topics routable by GET_ROUTE", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    await register(connection, [{ topic: "Orders", readQueues: 8, writeQueues: 8, perm: 6, order: false }]);
    const route = topicRouteSchema.parse(readResult(await connection.request({ code: RequestCode.GET_ROUTE, fields: { topic: "Orders" } })));
    expect(route).toEqual({
      topic: "Orders",
      queueDatas: [{ brokerName: "broker-a", readQueues: 8, writeQueues: 8, perm: 6, order: false }],
      brokerDatas: [{ clusterName: "DefaultCluster", brokerName: "broker-a", brokerAddrs: { "0": "127.0.0.1:10911" }, brokerRoles: { "0": "master" } }],
    });
  });

  test("GET_ROUTE of a topic no live broker carries answers TOPIC_NOT_FOUND naming it", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    const error = await failure(connection.request({ code: RequestCode.GET_ROUTE, fields: { topic: "Nowhere" } }));
    expect(isMqError(error, "TOPIC_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toContain('"Nowhere"');
  });

  test("GET_CLUSTER_INFO lists the broker with its addresses, version and topic count", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    await register(connection, [{ topic: "Orders", readQueues: 4, writeQueues: 4, perm: 6, order: false }]);
    const info = clusterInfoSchema.parse(readResult(await connection.request({ code: RequestCode.GET_CLUSTER_INFO })));
    expect(info.brokers).toHaveLength(1);
    expect(info.brokers[0]).toMatchObject({ ...identity, haAddr: "127.0.0.1:10912", version: "1.2.3", topics: 1 });
    expect(info.brokers[0]!.lastHeartbeatAgeMs).toBeGreaterThanOrEqual(0);
  });

  test("UNREGISTER_BROKER removes the broker and its routes; repeating it still succeeds", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    await register(connection, [{ topic: "Orders", readQueues: 4, writeQueues: 4, perm: 6, order: false }]);
    await connection.request({ code: RequestCode.UNREGISTER_BROKER, fields: identity });
    await connection.request({ code: RequestCode.UNREGISTER_BROKER, fields: identity });
    expect(isMqError(await failure(connection.request({ code: RequestCode.GET_ROUTE, fields: { topic: "Orders" } })), "TOPIC_NOT_FOUND")).toBe(true);
    expect(clusterInfoSchema.parse(readResult(await connection.request({ code: RequestCode.GET_CLUSTER_INFO }))).brokers).toEqual([]);
  });

  test("a registration whose body is cut-off msgpack is refused with MALFORMED_FRAME and changes nothing", async () => {
    const { port, nameServer } = await startNameServer();
    const connection = await connectTo(port);
    const error = await failure(connection.request({ code: RequestCode.REGISTER_BROKER, fields: { ...identity, dataVersion: 1 }, body: new Uint8Array([0x81, 0xa3, 0x61]) }));
    expect(isMqError(error, "MALFORMED_FRAME")).toBe(true);
    expect(nameServer.table.brokerCount).toBe(0);
  });

  test("a registration with an invalid topic config is refused with INVALID_FIELD naming the field", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    const error = await failure(register(connection, [{ topic: "Orders", readQueues: 0, writeQueues: 4, perm: 6, order: false }]));
    expect(isMqError(error, "INVALID_FIELD")).toBe(true);
    expect((error as Error).message).toContain("topicConfigs.0.readQueues");
  });

  test("a broker with no topics may register with an empty body", async () => {
    const { port, nameServer } = await startNameServer();
    const connection = await connectTo(port);
    await connection.request({ code: RequestCode.REGISTER_BROKER, fields: { ...identity, dataVersion: 0 } });
    expect(nameServer.table.clusterInfo().brokers[0]?.topics).toBe(0);
  });

  test("a large cluster answer moves into the body and still reads back", async () => {
    const { port } = await startNameServer();
    const connection = await connectTo(port);
    for (let index = 0; index < 400; index++) {
      await register(connection, [], { brokerName: `broker-with-a-long-name-${index}`, brokerAddr: `127.0.0.1:${20_000 + index}` });
    }
    const response = await connection.request({ code: RequestCode.GET_CLUSTER_INFO });
    expect(response.header.resultInBody).toBe(true);
    expect(clusterInfoSchema.parse(readResult(response)).brokers).toHaveLength(400);
  });
});
