import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, rejection, send, waitFor } from "./helpers.ts";

afterAll(removeTempDirs);

function consumerOf(group: string, expression = "*", topic = "t") {
  return { consumerGroup: group, consumeType: "push" as const, messageModel: "clustering" as const, consumeFromWhere: "last" as const, subscriptions: [{ topic, expressionType: "TAG" as const, expression }] };
}

async function join(connection: Channel, clientId: string, group: string, expression = "*"): Promise<void> {
  await call(connection, RequestCode.HEARTBEAT, { clientId, consumers: [consumerOf(group, expression)] });
}

/** Counts NOTIFY_CONSUMER_IDS_CHANGED the broker sends this connection. */
function notifications(connection: Channel): { count: number; groups: string[] } {
  const seen = { count: 0, groups: [] as string[] };
  connection.handle(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request) => {
    seen.count += 1;
    seen.groups.push(request.fields.consumerGroup);
  });
  return seen;
}

const clientIds = async (connection: Channel, group: string) => (await call(connection, RequestCode.GET_CONSUMER_LIST, { consumerGroup: group })).clientIds;

describe("Broker: consumer groups", () => {
  test("HEARTBEAT registers members; GET_CONSUMER_LIST answers their ids sorted", async () => {
    const broker = await startTestBroker();
    const [a, b] = [await connectTo(broker), await connectTo(broker)];
    await join(b, "client-b", "g");
    await join(a, "client-a", "g");
    expect(await clientIds(a, "g")).toEqual(["client-a", "client-b"]);
    expect(await clientIds(a, "nobody")).toEqual([]);
  });

  test("GET_CONSUMER_LIST and GET_GROUP describe each member: client id, connection address, version from its heartbeat (none from an older client), subscriptions", async () => {
    const broker = await startTestBroker();
    const [a, b] = [await connectTo(broker), await connectTo(broker)];
    await call(a, RequestCode.HEARTBEAT, { clientId: "client-a", version: "9.8.7", consumers: [consumerOf("g", "red")] });
    await join(b, "client-b", "g", "red");
    const members = (await call(a, RequestCode.GET_CONSUMER_LIST, { consumerGroup: "g" })).members as Array<Record<string, unknown>>;
    expect(members).toEqual([
      { clientId: "client-a", host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), version: "9.8.7", subscriptions: [{ topic: "t", expressionType: "TAG", expression: "red" }] },
      { clientId: "client-b", host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), subscriptions: [{ topic: "t", expressionType: "TAG", expression: "red" }] },
    ]);
    expect(members[0]!.host).not.toBe(members[1]!.host);
    expect((await call(a, RequestCode.GET_GROUP, { consumerGroup: "g" })).members).toEqual(members);
  });

  test("members are notified when one joins and when one's connection closes", async () => {
    const broker = await startTestBroker();
    const a = await connectTo(broker);
    const seenByA = notifications(a);
    await join(a, "client-a", "g");
    await waitFor("a's own join notice", () => seenByA.count === 1);
    const b = await connectTo(broker);
    await join(b, "client-b", "g");
    await waitFor("a to hear b joined", () => seenByA.count === 2);
    await join(b, "client-b", "g"); // a repeated heartbeat is not a change
    b.destroy();
    await waitFor("a to hear b left", () => seenByA.count === 3);
    expect(seenByA.groups).toEqual(["g", "g", "g"]);
    expect(await clientIds(a, "g")).toEqual(["client-a"]);
  });

  test("UNREGISTER_CLIENT removes the member and notifies the rest", async () => {
    const broker = await startTestBroker();
    const a = await connectTo(broker);
    const b = await connectTo(broker);
    const seenByA = notifications(a);
    await join(a, "client-a", "g");
    await join(b, "client-b", "g");
    await waitFor("both joins", () => seenByA.count === 2);
    await call(b, RequestCode.UNREGISTER_CLIENT, { clientId: "client-b", consumerGroup: "g" });
    expect(await clientIds(a, "g")).toEqual(["client-a"]);
    await waitFor("a to hear b left", () => seenByA.count === 3);
  });

  test("a member silent past clientExpiryMs is dropped (injected clock)", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, config: { clientExpiryMs: 30_000 } });
    const a = await connectTo(broker);
    const b = await connectTo(broker);
    await join(a, "client-a", "g");
    await join(b, "client-b", "g");
    clock.advance(20_000);
    await join(a, "client-a", "g"); // a keeps beating; b does not
    clock.advance(20_000);
    expect(await clientIds(a, "g")).toEqual(["client-a"]);
  });

  test("members subscribing differently are reported as a conflict by GET_GROUP, each keeping its own", async () => {
    const broker = await startTestBroker();
    const a = await connectTo(broker);
    const b = await connectTo(broker);
    await send(a, "t", "x");
    await join(a, "client-a", "g", "red");
    await join(b, "client-b", "g", "blue");
    const group = await call(a, RequestCode.GET_GROUP, { consumerGroup: "g" });
    expect(group.subscriptionConflict).toBe('"client-a" has clustering push [t TAG "red"]; "client-b" has clustering push [t TAG "blue"]');
    expect(group.subscriptions).toEqual([{ topic: "t", expressionType: "TAG", expression: "red" }]);
    await join(b, "client-b", "g", "red");
    expect((await call(a, RequestCode.GET_GROUP, { consumerGroup: "g" })).subscriptionConflict).toBeUndefined();
  });

  test("GET_GROUP reports per queue the broker offset, the group's offset and the lag; LIST_GROUPS sums it", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await call(client, RequestCode.CREATE_TOPIC, { topic: "t", readQueues: 2, writeQueues: 2 });
    for (let index = 0; index < 5; index++) await send(client, "t", "x", { queueId: 0 });
    await send(client, "t", "y", { queueId: 1 });
    await join(client, "client-a", "g");
    await call(client, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 3 });
    const group = await call(client, RequestCode.GET_GROUP, { consumerGroup: "g" });
    expect(group).toMatchObject({ group: "g", consumeType: "push", messageModel: "clustering", clients: 1, clientIds: ["client-a"], totalLag: 3 });
    expect(group.queues).toEqual([
      { topic: "t", queueId: 0, brokerOffset: 5, consumerOffset: 3, lag: 2 },
      { topic: "t", queueId: 1, brokerOffset: 1, consumerOffset: -1, lag: 1 },
    ]);
    const list = await call(client, RequestCode.LIST_GROUPS, {});
    expect(list.groups).toEqual([{ group: "g", consumeType: "push", messageModel: "clustering", clients: 1, subscriptions: [{ topic: "t", expressionType: "TAG", expression: "*" }], totalLag: 3, inFlight: 0 }]);
    expect((await rejection(call(client, RequestCode.GET_GROUP, { consumerGroup: "unknown" }))).errorName).toBe("GROUP_NOT_FOUND");
  });
});

describe("Broker: queue locks", () => {
  const queues = [{ topic: "t", queueId: 0 }, { topic: "t", queueId: 1 }];

  test("a lock is exclusive within a group; the holder renews it; unlock frees it", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const lock = (clientId: string, group = "g", asked = queues) => call(client, RequestCode.LOCK_BATCH_MQ, { consumerGroup: group, clientId, queues: asked });
    expect((await lock("a")).locked).toEqual(queues);
    expect((await lock("b")).locked).toEqual([]);
    expect((await lock("b", "other-group")).locked).toEqual(queues);
    expect((await lock("a")).locked).toEqual(queues);
    await call(client, RequestCode.UNLOCK_BATCH_MQ, { consumerGroup: "g", clientId: "a", queues: [queues[0]!] });
    expect((await lock("b")).locked).toEqual([queues[0]]);
    await call(client, RequestCode.UNLOCK_BATCH_MQ, { consumerGroup: "g", clientId: "b", queues: [queues[1]!] }); // not b's: no effect
    expect((await lock("b")).locked).toEqual([queues[0]]);
  });

  test("a lock not renewed for queueLockExpiryMs is free for another client (injected clock)", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock });
    const client = await connectTo(broker);
    const lock = (clientId: string) => call(client, RequestCode.LOCK_BATCH_MQ, { consumerGroup: "g", clientId, queues });
    await lock("a");
    clock.advance(40_000);
    await lock("a"); // renewed at 40 s
    clock.advance(59_999);
    expect((await lock("b")).locked).toEqual([]);
    clock.advance(1);
    expect((await lock("b")).locked).toEqual(queues);
  });

  test("a client leaving its group frees its locks at once, and GET_GROUP names lock holders", async () => {
    const broker = await startTestBroker();
    const a = await connectTo(broker);
    const b = await connectTo(broker);
    await send(a, "t", "x");
    await join(a, "client-a", "g");
    await join(b, "client-b", "g");
    await call(a, RequestCode.LOCK_BATCH_MQ, { consumerGroup: "g", clientId: "client-a", queues });
    const group = await call(b, RequestCode.GET_GROUP, { consumerGroup: "g" });
    expect((group.queues as { lockedBy?: string }[])[0]!.lockedBy).toBe("client-a");
    a.destroy();
    await waitFor("a to leave", () => broker.broker.context.consumers.clientIds("g").length === 1);
    expect((await call(b, RequestCode.LOCK_BATCH_MQ, { consumerGroup: "g", clientId: "client-b", queues })).locked).toEqual(queues);
  });
});
