import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { connectTo, pull, send, text, waitFor } from "./helpers.ts";

afterAll(removeTempDirs);

describe("Broker: long polling", () => {
  test("a held pull is answered by a send to its queue", async () => {
    // The broker's clock stands still: the hold never runs out, so only the send can answer it.
    const broker = await startTestBroker({ clock: new ManualClock() });
    const consumer = await connectTo(broker);
    const producer = await connectTo(broker);
    await send(producer, "t", "before");
    const held = pull(consumer, "t", { queueOffset: 1, suspendTimeoutMs: 15_000 });
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    await send(producer, "t", "wake");
    const pulled = await held;
    expect(pulled.status).toBe("found");
    expect(pulled.messages.map((message) => text(message.body))).toEqual(["wake"]);
    expect(broker.broker.context.longPoll.size).toBe(0);
  });

  test("a held pull that times out answers no_new_message", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    await send(client, "t", "only");
    const held = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 5_000 });
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    clock.advance(4_999);
    expect(broker.broker.context.longPoll.size).toBe(1);
    clock.advance(1);
    expect(await held).toMatchObject({ status: "no_new_message", nextOffset: 1, maxOffset: 1 });
  });

  test("a send to another queue does not wake the pull", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    await send(client, "t", "x", { queueId: 0 });
    let answered = false;
    const held = pull(client, "t", { queueId: 1, suspendTimeoutMs: 10_000 }).then((result) => ((answered = true), result));
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    await send(client, "t", "other queue", { queueId: 0 });
    await send(client, "other", "other topic", { queueId: 1 });
    expect(answered).toBe(false);
    await send(client, "t", "mine", { queueId: 1 });
    expect((await held).messages.map((message) => text(message.body))).toEqual(["mine"]);
  });

  test("a held pull with a tag filter keeps waiting past messages it does not match", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    await send(client, "t", "before", { tags: "other" });
    const heldAgain = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 10_000, filter: { expressionType: "TAG", expression: "wanted" } });
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    await send(client, "t", "skip me", { tags: "other" });
    await send(client, "t", "skip me too", { tags: "other" });
    expect(broker.broker.context.longPoll.size).toBe(1);
    await send(client, "t", "take me", { tags: "wanted" });
    const pulled = await heldAgain;
    expect(pulled.messages.map((message) => text(message.body))).toEqual(["take me"]);
    expect(pulled.nextOffset).toBe(4);
  });

  test("a filtered held pull that times out reports the offset past what it skipped", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    await send(client, "t", "a", { tags: "other" });
    const held = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 1_000, filter: { expressionType: "TAG", expression: "wanted" } });
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    await send(client, "t", "b", { tags: "other" });
    clock.advance(1_000);
    expect(await held).toMatchObject({ status: "no_matched_message", nextOffset: 2 });
  });

  test("suspendTimeoutMs is capped by the broker's longPollMsMax", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, config: { longPollMsMax: 2_000 } });
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const held = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 30_000 });
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    clock.advance(2_000);
    expect((await held).status).toBe("no_new_message");
  });

  test("past heldPullsMax a pull is answered at once instead of held", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, config: { heldPullsMax: 2 } });
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const held = [pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 10_000 }), pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 10_000 })];
    await waitFor("two pulls to be held", () => broker.broker.context.longPoll.size === 2);
    expect(await pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 10_000 })).toMatchObject({ status: "no_new_message" });
    await send(client, "t", "y");
    for (const result of await Promise.all(held)) expect(result.status).toBe("found");
  });

  test("a closed connection's held pulls are dropped", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const held = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 10_000 }).catch(() => "closed");
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    client.destroy();
    expect(await held).toBe("closed");
    await waitFor("the held pull to be dropped", () => broker.broker.context.longPoll.size === 0);
  });

  test("stopping the broker answers held pulls", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const held = pull(client, "t", { queueOffset: 1, suspendTimeoutMs: 15_000 }).then((result) => result.status, () => "closed");
    await waitFor("the pull to be held", () => broker.broker.context.longPoll.size === 1);
    await broker.stop();
    expect(["no_new_message", "closed"]).toContain(await held);
  });
});
