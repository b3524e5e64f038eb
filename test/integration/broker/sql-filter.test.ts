/**
 * SQL92 filtering on the broker's PULL path, over the raw protocol: only matching records leave
 * the broker (counted in bytes), a bad expression is refused with its position, a long backlog
 * that matches nothing is scanned in bounded steps that move the consumer on, and a held pull
 * answers the first matching message.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { filterScanEntriesPerRequestMax } from "../../../src/common/limits.ts";
import { encodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { call, connectTo, nextMsgId, pull, rejection, send } from "./helpers.ts";
import type { Connection } from "../../../src/net/connection.ts";

afterAll(removeTempDirs);

const sql = (expression: string) => ({ expressionType: "SQL92" as const, expression });

async function sendBatch(client: Connection, topic: string, entries: Array<{ body: Uint8Array; properties?: Record<string, string>; tags?: string }>): Promise<void> {
  const batch = entries.map((entry) => ({ msgId: nextMsgId(), ...entry }));
  await call(client, RequestCode.SEND_BATCH, { producerGroup: "pg", topic, queueId: 0, messageCount: batch.length, bornTimestampMs: Date.now() }, encodeBatchBody(batch));
}

describe("Broker: SQL92 pull", () => {
  test("a 1 %-selective filter moves at most 2 % of the topic's bytes to the client", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const body = new Uint8Array(1024).fill(97);
    const total = 2_000;
    for (let start = 0; start < total; start += 500) {
      await sendBatch(client, "orders", Array.from({ length: 500 }, (_, index) => ({ body, properties: { region: (start + index) % 100 === 0 ? "eu" : "us", price: String(start + index) } })));
    }
    let storedBytes = 0;
    for (let offset = 0; offset < total; ) {
      const all = await pull(client, "orders", { queueOffset: offset, maxMessages: 1024 });
      storedBytes += all.body?.length ?? 0;
      offset = all.nextOffset;
    }
    let receivedBytes = 0;
    const received: number[] = [];
    let offset = 0;
    for (let round = 0; round < 100 && offset < total; round++) {
      const pulled = await pull(client, "orders", { queueOffset: offset, filter: sql("region = 'eu'") });
      receivedBytes += pulled.body?.length ?? 0;
      received.push(...pulled.messages.map((message) => Number(message.properties["price"])));
      offset = pulled.nextOffset;
    }
    expect(received).toEqual(Array.from({ length: total / 100 }, (_, index) => index * 100));
    expect(receivedBytes).toBeGreaterThan(0);
    expect(receivedBytes / storedBytes).toBeLessThanOrEqual(0.02);
  });

  test("a bad expression is FILTER_EXPRESSION_INVALID naming line, column and what was expected", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    await send(client, "t", "x");
    const error = await rejection(pull(client, "t", { filter: sql("region = 'eu'\n  AND price >") }));
    expect(error.errorName).toBe("FILTER_EXPRESSION_INVALID");
    expect(error.code).toBe(1020);
    expect(error.message).toBe("Cannot compile SQL92 filter \"region = 'eu'\n  AND price >\": expected a number after \">\" at line 2, column 14, found the end of the expression");
  });

  test("a backlog that matches nothing is scanned in bounded steps, each answering where to continue", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const total = filterScanEntriesPerRequestMax + 5_000;
    const body = new Uint8Array(16);
    for (let start = 0; start < total; start += 5_000) {
      await sendBatch(client, "big", Array.from({ length: Math.min(5_000, total - start) }, () => ({ body, properties: { region: "us" } })));
    }
    const first = await pull(client, "big", { filter: sql("region = 'eu'") });
    expect(first).toMatchObject({ status: "no_matched_message", nextOffset: filterScanEntriesPerRequestMax, maxOffset: total });
    const second = await pull(client, "big", { queueOffset: first.nextOffset, filter: sql("region = 'eu'") });
    expect(second).toMatchObject({ status: "no_matched_message", nextOffset: total });
    const caughtUp = await pull(client, "big", { queueOffset: second.nextOffset, filter: sql("region = 'eu'") });
    expect(caughtUp).toMatchObject({ status: "no_new_message", nextOffset: total });
  });

  test("a held pull skips a message that does not match and answers the one that does", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const producer = await connectTo(broker);
    await send(producer, "t", "first", { properties: { region: "us" } });
    const held = pull(client, "t", { queueOffset: 1, filter: sql("region = 'eu'"), suspendTimeoutMs: 10_000 });
    await send(producer, "t", "skipped", { properties: { region: "us" } });
    await send(producer, "t", "wanted", { properties: { region: "eu" } });
    const answer = await held;
    expect(answer.status).toBe("found");
    expect<number[]>(answer.messages.map((message) => message.queueOffset)).toEqual([2]);
  });

  test("a heartbeat subscribing with a bad expression is refused and registers nothing", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    const consumer = (expression: string) => ({ consumerGroup: "sqlg", consumeType: "push" as const, messageModel: "clustering" as const, consumeFromWhere: "last" as const, subscriptions: [{ topic: "t", expressionType: "SQL92" as const, expression }] });
    const error = await rejection(call(client, RequestCode.HEARTBEAT, { clientId: "c1", consumers: [consumer("region IN ('eu',)")] }));
    expect(error.errorName).toBe("FILTER_EXPRESSION_INVALID");
    expect(error.message).toContain("at line 1, column 17");
    expect(broker.broker.context.consumers.clientIds("sqlg")).toEqual([]);
    await call(client, RequestCode.HEARTBEAT, { clientId: "c1", consumers: [consumer("region IN ('eu')")] });
    expect(broker.broker.context.consumers.clientIds("sqlg")).toEqual(["c1"]);
  });

  test("SQL92 reads system properties too: TAGS", async () => {
    const broker = await startTestBroker();
    const client = await connectTo(broker);
    for (const tags of ["a", "b", "c"]) await send(client, "t", tags, { tags });
    const pulled = await pull(client, "t", { filter: sql("TAGS IN ('a', 'c')") });
    expect(pulled.messages.map((message) => message.tags)).toEqual(["a", "c"]);
  });
});
