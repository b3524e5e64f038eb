/**
 * NameServer routing on the client: which NameServer is asked (random start, round-robin past
 * dead ones), how a route becomes queues (perm bits, masters), how long it is cached (injected
 * clock), and the errors when nobody knows the topic or nobody answers. NameServers are fakes
 * answering through a stand-in BrokerClient, plus one real TCP server for the wire contract.
 */

import { afterEach, describe, expect, test } from "bun:test";
import type { BrokerClient } from "../../../src/client/broker-client.ts";
import { BrokerClient as RealBrokerClient } from "../../../src/client/broker-client.ts";
import { ConnectionPool } from "../../../src/client/connection-pool.ts";
import { NamesrvClient, parseNamesrvList } from "../../../src/client/namesrv-client.ts";
import { NamesrvRouteResolver, toTopicRoute } from "../../../src/client/namesrv-route-resolver.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { MqError, isMqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { Server } from "../../../src/net/server.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import type { TopicRouteData } from "../../../src/protocol/responses.ts";
import { freePort } from "../../helpers/broker.ts";

function route(topic: string, brokers: Array<{ name: string; queues?: number; perm?: number; addrs?: Record<string, string> }>): TopicRouteData {
  return {
    topic,
    queueDatas: brokers.map((broker) => ({ brokerName: broker.name, readQueues: broker.queues ?? 2, writeQueues: broker.queues ?? 2, perm: broker.perm ?? 6, order: false })),
    brokerDatas: brokers.map((broker) => ({ clusterName: "c", brokerName: broker.name, brokerAddrs: broker.addrs ?? { "0": `${broker.name}:10911` } })),
  };
}

/** Fake NameServers by address: "dead" ones refuse connections; live ones answer from `routes`. */
class FakeNamesrvs {
  readonly asked: string[] = [];
  readonly dead = new Set<string>();
  /** Live, but know no topic yet (just restarted). */
  readonly forgetful = new Set<string>();
  routes = new Map<string, TopicRouteData>();

  client(addresses: string[], random = () => 0): NamesrvClient {
    const broker = {
      call: async (address: string, code: number, fields: { topic?: string }) => {
        this.asked.push(address);
        if (this.dead.has(address)) throw new MqError("CONNECT_FAILED", { address, reason: "connection refused" });
        if (code !== RequestCode.GET_ROUTE) throw new MqError("BAD_REQUEST", { reason: `unexpected code ${code}` });
        const found = this.forgetful.has(address) ? undefined : this.routes.get(fields.topic!);
        if (found === undefined) throw new MqError("TOPIC_NOT_FOUND", { topic: fields.topic });
        return { fields: found, frame: undefined };
      },
    } as unknown as BrokerClient;
    return new NamesrvClient({ addresses, broker, random });
  }
}

describe("NameServer client: which NameServer answers", () => {
  test("starts at a randomly chosen NameServer", async () => {
    const fakes = new FakeNamesrvs();
    fakes.routes.set("t", route("t", [{ name: "a" }]));
    const addresses = ["n1:9876", "n2:9876", "n3:9876"];
    for (const [random, expected] of [[0, "n1:9876"], [0.5, "n2:9876"], [0.99, "n3:9876"]] as const) {
      fakes.asked.length = 0;
      await fakes.client(addresses, () => random).topicRoute("t");
      expect(fakes.asked).toEqual([expected]);
    }
  });

  test("moves round-robin past a dead NameServer and stays with the one that answered", async () => {
    const fakes = new FakeNamesrvs();
    fakes.routes.set("t", route("t", [{ name: "a" }]));
    fakes.dead.add("n2:9876");
    const client = fakes.client(["n1:9876", "n2:9876", "n3:9876"], () => 0.5);
    await client.topicRoute("t");
    expect(fakes.asked).toEqual(["n2:9876", "n3:9876"]);
    await client.topicRoute("t");
    expect(fakes.asked).toEqual(["n2:9876", "n3:9876", "n3:9876"]);
    expect(client.currentAddress).toBe("n3:9876");
  });

  test("wraps around the list when the last NameServers are dead", async () => {
    const fakes = new FakeNamesrvs();
    fakes.routes.set("t", route("t", [{ name: "a" }]));
    fakes.dead.add("n2:9876").add("n3:9876");
    const client = fakes.client(["n1:9876", "n2:9876", "n3:9876"], () => 0.4);
    await client.topicRoute("t");
    expect(fakes.asked).toEqual(["n2:9876", "n3:9876", "n1:9876"]);
  });

  test("a topic no NameServer knows is NO_ROUTE naming the topic and every NameServer asked", async () => {
    const fakes = new FakeNamesrvs();
    const client = fakes.client(["n1:9876", "n2:9876"]);
    const error = await client.topicRoute("missing").catch((caught: unknown) => caught);
    expect(isMqError(error, "NO_ROUTE")).toBe(true);
    expect((error as Error).message).toBe('Cannot find a route for topic "missing": asked n1:9876, n2:9876');
    expect(fakes.asked).toEqual(["n1:9876", "n2:9876"]);
  });

  test("a topic only the second NameServer knows is found there (the first may have just restarted)", async () => {
    const fakes = new FakeNamesrvs();
    fakes.routes.set("t", route("t", [{ name: "a" }]));
    fakes.forgetful.add("n1:9876");
    const client = fakes.client(["n1:9876", "n2:9876"]);
    expect((await client.topicRoute("t")).topic).toBe("t");
    expect(fakes.asked).toEqual(["n1:9876", "n2:9876"]);
  });

  test("no NameServer answering is NAMESRV_UNAVAILABLE naming them all", async () => {
    const fakes = new FakeNamesrvs();
    fakes.dead.add("n1:9876").add("n2:9876");
    const error = await fakes.client(["n1:9876", "n2:9876"]).topicRoute("t").catch((caught: unknown) => caught);
    expect(isMqError(error, "NAMESRV_UNAVAILABLE")).toBe(true);
    expect((error as Error).message).toBe("Cannot reach any NameServer: asked n1:9876, n2:9876");
  });

  test("parses host:port lists separated by ; or , and defaults the port to 9876", () => {
    expect(parseNamesrvList("10.0.0.1:9876; 10.0.0.2:9877,host3")).toEqual(["10.0.0.1:9876", "10.0.0.2:9877", "host3:9876"]);
    expect(() => parseNamesrvList(" ; ")).toThrow(MqError);
  });
});

describe("NameServer routes: route to queues", () => {
  test("lists the queues of every broker, sorted by broker then queue id", () => {
    const result = toTopicRoute(route("t", [{ name: "b", queues: 2 }, { name: "a", queues: 1 }]));
    expect(result.writeQueues.map((queue) => `${queue.brokerName}#${queue.queueId}`)).toEqual(["a#0", "b#0", "b#1"]);
    expect(result.readQueues).toEqual(result.writeQueues);
  });

  test("keeps writable queues only where perm has the write bit (2) and readable where it has the read bit (4)", () => {
    const result = toTopicRoute(route("t", [{ name: "ro", perm: 4 }, { name: "wo", perm: 2 }, { name: "rw", perm: 6 }]));
    expect([...new Set(result.writeQueues.map((queue) => queue.brokerName))]).toEqual(["rw", "wo"]);
    expect([...new Set(result.readQueues.map((queue) => queue.brokerName))]).toEqual(["ro", "rw"]);
  });

  test("a broker group with no live master offers no queue: its slave holds no replica to send to or read from", () => {
    const resolverRoute = toTopicRoute(route("t", [{ name: "a", addrs: { "1": "slave:10911" } }, { name: "b", addrs: { "0": "b:10911", "1": "b-slave:10911" } }]));
    expect(resolverRoute.writeQueues.map((queue) => `${queue.brokerName}#${queue.queueId}`)).toEqual(["b#0", "b#1"]);
    expect(resolverRoute.readQueues.map((queue) => `${queue.brokerName}#${queue.queueId}`)).toEqual(["b#0", "b#1"]);
  });

  test("requests about a group's queues go to its master, never to a slave", async () => {
    const fakes = new FakeNamesrvs();
    fakes.routes.set("t", route("t", [{ name: "a", addrs: { "1": "a-slave:10911" } }, { name: "b", addrs: { "0": "b:10911", "1": "b-slave:10911" } }]));
    const resolver = new NamesrvRouteResolver({ namesrv: fakes.client(["n1:9876"]), clock: new ManualClock(), logger: silentLogger });
    await resolver.topicRoute("t");
    expect(resolver.brokerAddress("b")).toBe("b:10911");
    expect(() => resolver.brokerAddress("a")).toThrow('Cannot find broker "a"');
    expect(resolver.brokerAddresses()).toEqual(["b:10911"]);
  });
});

describe("NameServer routes: caching", () => {
  function setup(ttlMs = 30_000) {
    const fakes = new FakeNamesrvs();
    const clock = new ManualClock();
    fakes.routes.set("t", route("t", [{ name: "a" }, { name: "b" }]));
    const resolver = new NamesrvRouteResolver({ namesrv: fakes.client(["n1:9876", "n2:9876"]), clock, logger: silentLogger, routeTtlMs: ttlMs });
    return { fakes, clock, resolver };
  }

  test("serves a route from the cache until the refresh interval passes, then asks again", async () => {
    const { fakes, clock, resolver } = setup(30_000);
    await resolver.topicRoute("t");
    clock.advance(29_999);
    await resolver.topicRoute("t");
    expect(fakes.asked.length).toBe(1);
    fakes.routes.set("t", route("t", [{ name: "a" }]));
    clock.advance(1);
    expect([...new Set((await resolver.topicRoute("t")).writeQueues.map((queue) => queue.brokerName))]).toEqual(["a"]);
    expect(fakes.asked.length).toBe(2);
  });

  test("asks again at once after invalidate (a failed send)", async () => {
    const { fakes, resolver } = setup();
    await resolver.topicRoute("t");
    resolver.invalidate("t");
    await resolver.topicRoute("t");
    expect(fakes.asked.length).toBe(2);
  });

  test("concurrent lookups of one topic share one request", async () => {
    const { fakes, resolver } = setup();
    await Promise.all([resolver.topicRoute("t"), resolver.topicRoute("t"), resolver.topicRoute("t")]);
    expect(fakes.asked.length).toBe(1);
  });

  test("keeps using the last route while no NameServer answers", async () => {
    const { fakes, clock, resolver } = setup();
    const first = await resolver.topicRoute("t");
    fakes.dead.add("n1:9876").add("n2:9876");
    clock.advance(30_000);
    expect(await resolver.topicRoute("t")).toEqual(first);
    expect(resolver.brokerAddresses()).toEqual(["a:10911", "b:10911"]);
  });

  test("a broker that drops out of the route drops out of the heartbeat list", async () => {
    const { fakes, resolver } = setup();
    await resolver.topicRoute("t");
    expect(resolver.brokerAddresses()).toEqual(["a:10911", "b:10911"]);
    fakes.routes.set("t", route("t", [{ name: "b" }]));
    resolver.invalidate("t");
    await resolver.topicRoute("t");
    expect(resolver.brokerAddresses()).toEqual(["b:10911"]);
    expect(resolver.brokerAddress("b")).toBe("b:10911");
  });

  test("a topic that disappears is forgotten and reported as NO_ROUTE", async () => {
    const { fakes, resolver } = setup();
    await resolver.topicRoute("t");
    fakes.routes.delete("t");
    resolver.invalidate("t");
    const error = await resolver.topicRoute("t").catch((caught: unknown) => caught);
    expect(isMqError(error, "NO_ROUTE")).toBe(true);
    expect(resolver.brokerAddresses()).toEqual([]);
  });

  test("an unknown broker name is BROKER_NOT_FOUND", () => {
    const { resolver } = setup();
    expect(() => resolver.brokerAddress("nope")).toThrow('Cannot find broker "nope"');
  });
});

describe("NameServer client: over TCP", () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  test("fails over from a port nothing listens on to a live NameServer", async () => {
    const server = await Server.listen({ host: "127.0.0.1", port: 0 });
    closers.push(() => server.close());
    const data = route("t", [{ name: "a" }]);
    server.handle(RequestCode.GET_ROUTE, (request) => {
      if (request.fields.topic !== "t") throw new MqError("TOPIC_NOT_FOUND", { topic: request.fields.topic });
      return { fields: data };
    });
    const pool = new ConnectionPool({ connectTimeoutMs: 1_000 });
    closers.push(() => pool.close());
    const dead = `127.0.0.1:${freePort()}`;
    const live = `127.0.0.1:${server.port}`;
    const client = new NamesrvClient({ addresses: [dead, live], broker: new RealBrokerClient(pool), random: () => 0 });
    expect(await client.topicRoute("t")).toEqual(data);
    expect(client.currentAddress).toBe(live);
    const error = await client.topicRoute("other").catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(`Cannot find a route for topic "other": asked ${dead}, ${live}`);
  });
});
