/**
 * NamesrvRegistrar against fake links: each NameServer is worked on its own, bursts of topic
 * changes coalesce, a failing NameServer never stops the others, and shutdown unregisters only
 * where the broker is registered.
 */

import { afterAll, describe, expect, test } from "bun:test";
import type { NamesrvLink } from "../../../src/broker/namesrv-link.ts";
import { NamesrvRegistrar, type RegistrarDiskUse } from "../../../src/broker/namesrv-registrar.ts";
import { TopicConfigManager } from "../../../src/broker/topic-config-manager.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { MqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import type { BrokerRegistration } from "../../../src/protocol/broker-registration.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

class FakeLink implements NamesrvLink {
  readonly registrations: BrokerRegistration[] = [];
  unregistrations = 0;
  down = false;
  /** When set, register() waits for release() before answering. */
  private gate: { promise: Promise<void>; release: () => void } | undefined;

  constructor(readonly name: string) {}

  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.gate = { promise, release };
  }

  release(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.release();
  }

  async register(registration: BrokerRegistration): Promise<void> {
    if (this.down) throw new MqError("CONNECT_FAILED", { address: this.name, reason: "refused" });
    this.registrations.push(registration);
    await this.gate?.promise;
  }

  unregister(): void {
    this.unregistrations += 1;
  }

  close(): void {}
}

function setup(links: FakeLink[], diskUse?: () => RegistrarDiskUse) {
  const clock = new ManualClock(0);
  const topics = new TopicConfigManager({ dataDir: makeTempDir("mq-registrar-"), autoCreateTopics: true, defaultTopicQueues: 4, topicsMax: 10_000, logger: silentLogger });
  const registrar = new NamesrvRegistrar({
    identity: { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr: "127.0.0.1:10911", haAddr: "127.0.0.1:10912", version: "1.0.0" },
    links,
    topics,
    heartbeatIntervalMs: 30_000,
    clock,
    logger: silentLogger,
    ...(diskUse === undefined ? {} : { diskUse }),
  });
  return { clock, topics, registrar };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("NamesrvRegistrar", () => {
  test("registers at start with identity, addresses, version, dataVersion and every topic", async () => {
    const link = new FakeLink("ns1");
    const { topics, registrar } = setup([link]);
    topics.create({ topic: "Orders", readQueues: 4, writeQueues: 4, perm: 6, order: false });
    registrar.start();
    await registrar.registerNow();
    expect(link.registrations[0]).toEqual({
      clusterName: "DefaultCluster",
      brokerName: "broker-a",
      brokerId: 0,
      brokerAddr: "127.0.0.1:10911",
      haAddr: "127.0.0.1:10912",
      version: "1.0.0",
      dataVersion: topics.dataVersion,
      topicConfigs: [{ topic: "Orders", readQueues: 4, writeQueues: 4, perm: 6, order: false }],
    });
    await registrar.stop();
  });

  test("each registration reports the store size and disk use sampled at that moment", async () => {
    const link = new FakeLink("ns1");
    let storeBytes = 100;
    const { registrar } = setup([link], () => ({ storeBytes, diskUsedRatio: 0.125 }));
    registrar.start();
    await registrar.registerNow();
    storeBytes = 200;
    await registrar.registerNow();
    const reported = link.registrations.map((registration) => [registration.storeBytes, registration.diskUsedRatio]);
    expect(reported[0]).toEqual([100, 0.125]);
    expect(reported.at(-1)).toEqual([200, 0.125]);
    await registrar.stop();
  });

  test("registers again on every heartbeat", async () => {
    const link = new FakeLink("ns1");
    const { clock, registrar } = setup([link]);
    registrar.start();
    await settle();
    for (let beat = 1; beat <= 3; beat++) {
      clock.advance(30_000);
      await settle();
    }
    expect(link.registrations).toHaveLength(4);
    await registrar.stop();
  });

  test("a burst of topic changes during a registration in flight costs one more registration, with the newest table", async () => {
    const link = new FakeLink("ns1");
    const { topics, registrar } = setup([link]);
    link.hold();
    registrar.start();
    for (let index = 0; index < 50; index++) topics.create({ topic: `T${index}`, readQueues: 1, writeQueues: 1, perm: 6, order: false });
    link.release();
    await registrar.registerNow();
    expect(link.registrations).toHaveLength(2);
    expect(link.registrations[1]?.topicConfigs).toHaveLength(50);
    expect(link.registrations[1]?.dataVersion).toBe(topics.dataVersion);
    await registrar.stop();
  });

  test("a NameServer that is down fails only its own attempts and is retried on the next beat", async () => {
    const up = new FakeLink("up");
    const down = new FakeLink("down");
    down.down = true;
    const { clock, registrar } = setup([up, down]);
    registrar.start();
    await registrar.registerNow();
    expect(registrar.status().map((link) => [link.name, link.registered])).toEqual([["up", true], ["down", false]]);
    expect(registrar.status()[1]?.lastError).toContain("refused");
    down.down = false;
    clock.advance(30_000);
    await registrar.registerNow();
    expect(registrar.registeredCount).toBe(2);
    await registrar.stop();
  });

  test("stop unregisters from the NameServers holding the broker, and stops registering", async () => {
    const up = new FakeLink("up");
    const down = new FakeLink("down");
    down.down = true;
    const { clock, topics, registrar } = setup([up, down]);
    registrar.start();
    await registrar.registerNow();
    await registrar.stop();
    expect([up.unregistrations, down.unregistrations]).toEqual([1, 0]);
    const registered = up.registrations.length;
    topics.create({ topic: "Late", readQueues: 1, writeQueues: 1, perm: 6, order: false });
    clock.advance(60_000);
    await settle();
    expect(up.registrations).toHaveLength(registered);
  });
});
