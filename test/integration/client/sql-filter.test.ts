/**
 * SQL92 subscriptions through the SDK against a real broker: the PushConsumer (pull), the
 * SimpleConsumer (pop), a bad expression failing subscribe with its position, and the group's
 * retry topic, whose retried messages keep being filtered by the subscription of the topic they
 * came from.
 */

import { describe, expect, test } from "bun:test";
import { SimpleConsumer, isMqError, type MqError } from "../../../src/client/index.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { errorOf } from "../../helpers/error-of.ts";
import { consumer, createTopic, startProducer, track, uniqueName, waitFor } from "./helpers.ts";

const regions = ["eu", "us", "eu", "ap", "us", "eu"];

describe("client: SQL92 subscriptions", () => {
  test("a PushConsumer subscribed with { sql } gets only the matching messages", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("sql");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    for (const [index, region] of regions.entries()) await producer.send({ topic, body: `m${index}`, properties: { region, price: String(index * 10) } });
    const seen: string[] = [];
    const push = consumer(broker.address, { group: uniqueName("g"), consumeFromWhere: "first" }).subscribe(topic, { sql: "region = 'eu' AND price >= 10" });
    await push.start((message) => void seen.push(message.text()));
    await waitFor("the matching messages", () => seen.length >= 2);
    const lastMatch = await producer.send({ topic, body: "m-last", properties: { region: "eu", price: "99" } });
    await waitFor("the last matching message", () => seen.includes("m-last"));
    expect(lastMatch.msgId.length).toBeGreaterThan(0);
    expect(seen.sort()).toEqual(["m-last", "m2", "m5"]);
  });

  test("a bad expression fails subscribe with FILTER_EXPRESSION_INVALID naming line and column", () => {
    const push = consumer("127.0.0.1:1", { group: "g" });
    const error = errorOf(() => push.subscribe("t", { sql: "region = 'eu' AND" })) as MqError;
    expect(isMqError(error, "FILTER_EXPRESSION_INVALID")).toBe(true);
    expect(error.message).toContain("at line 1, column 18");
    expect(isMqError(errorOf(() => new SimpleConsumer({ broker: "127.0.0.1:1", group: "g", topics: { t: { sql: "price >" } } })), "FILTER_EXPRESSION_INVALID")).toBe(true);
  });

  test("a SimpleConsumer subscribed with { sql } receives only the matching messages", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("sql-pop");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    for (const [index, region] of regions.entries()) await producer.send({ topic, body: `m${index}`, properties: { region } });
    const simple = track(new SimpleConsumer({ broker: broker.address, group: uniqueName("g"), topics: { [topic]: { sql: "region IN ('us', 'ap')" } }, awaitMs: 0 }));
    await simple.start();
    const received: string[] = [];
    for (let round = 0; round < 20 && received.length < 3; round++) {
      for (const message of await simple.receive(16)) {
        received.push(message.text());
        await simple.ack(message);
      }
    }
    expect(received.sort()).toEqual(["m1", "m3", "m4"]);
    expect(await simple.receive(16)).toEqual([]);
  });

  test("retried messages keep being filtered: after the group's subscription narrows, a retried message that no longer matches is not delivered", async () => {
    const clock = new ManualClock(Date.now());
    const broker = await startTestBroker({ clock });
    const topic = uniqueName("sql-retry");
    const group = uniqueName("g");
    const retryTopic = `%RETRY%${group}`;
    await createTopic(broker.address, topic, 1);
    await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 3, backoff: { kind: "exponential", initialMs: 1_000, factor: 1, maxMs: 1_000, jitter: 0 } });
    const producer = await startProducer(broker.address);
    await producer.send({ topic, body: "eu", properties: { region: "eu" } });
    await producer.send({ topic, body: "us", properties: { region: "us" } });

    // Every message fails once under a "*" subscription: both wait in the retry topic's schedule.
    const first = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await first.start(() => {
      throw new Error("fails once");
    });
    await waitFor("both messages sent back", () => first.metrics.sentToRetry === 2);
    await first.shutdown();

    const seen: string[] = [];
    const second = consumer(broker.address, { group, consumeFromWhere: "first", commitIntervalMs: 20 }).subscribe(topic, { sql: "region = 'eu'" });
    await second.start((message) => void seen.push(`${message.text()}@${message.reconsumeTimes}`));
    clock.advance(1_000); // the retries are due
    await waitFor("both retries stored", () => broker.store.maxOffset(retryTopic, 0) === 2);
    await waitFor("the retry topic consumed past both", () => broker.broker.context.offsets.query(group, retryTopic, 0) === queueOffset(2));
    expect(seen).toEqual(["eu@1"]);
  });
});
