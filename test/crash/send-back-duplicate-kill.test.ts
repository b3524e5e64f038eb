/**
 * A send-back repeated across kill -9 of the broker (a real `mq start` process, SIGKILL, restart
 * on the same data dir and port) stores no second retry copy: the consumer whose answer was lost
 * sends the same failure again, and the broker finds the copy it stored before the kill through
 * the index that recovery rebuilt (SEND_BACK_KEY). Before, the memory of answers died with the
 * process and the repeat stored a second copy, so the message was delivered twice more.
 */

import { describe, expect, test } from "bun:test";
import { Admin, Producer } from "../../src/client/index.ts";
import { decodeOffsetMsgId } from "../../src/common/ids.ts";
import { connect } from "../../src/net/connection.ts";
import { readResult } from "../../src/protocol/response-body.ts";
import { RequestCode } from "../../src/protocol/request-codes.ts";
import { type BrokerProcess, spawnBrokerProcess } from "../helpers/broker.ts";
import { untilServing } from "../helpers/wait-for.ts";

const topic = "Payments";
const group = "ledger";

async function sendBack(broker: BrokerProcess, fields: { physicalOffset: number; msgId: string }): Promise<Record<string, unknown>> {
  const connection = await connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 10_000 });
  try {
    const frame = await connection.request({ code: RequestCode.CONSUMER_SEND_BACK, fields: { consumerGroup: group, physicalOffset: fields.physicalOffset, originMsgId: fields.msgId, originTopic: topic, clientId: "consumer-1", errorText: "Error: declined" } });
    const { code: _code, opaque: _opaque, flags: _flags, ...result } = readResult(frame);
    return result;
  } finally {
    connection.destroy();
  }
}

async function retryCopies(broker: BrokerProcess): Promise<string[]> {
  const admin = new Admin({ broker: broker.address });
  try {
    return (await admin.listScheduled({ topic: `%RETRY%${group}` })).messages.map((message) => message.msgId);
  } finally {
    await admin.close();
  }
}

describe("send-back across kill -9 of the broker", () => {
  test("a send-back repeated after the broker was killed is answered as a duplicate and stores no second copy", async () => {
    const first = await spawnBrokerProcess();
    const admin = new Admin({ broker: first.address });
    const producer = new Producer({ broker: first.address });
    let sent;
    try {
      await admin.createTopic(topic, { queues: 1 });
      await producer.start();
      sent = await producer.send({ topic, body: "pay 42" });
    } finally {
      await producer.shutdown();
      await admin.close();
    }
    const failure = { physicalOffset: decodeOffsetMsgId(sent.offsetMsgId).physicalOffset, msgId: sent.msgId };
    // Under the default back-off the copy waits 10 s as a timer record: it is still scheduled below.
    const answer = await sendBack(first, failure);
    expect(answer).toMatchObject({ outcome: "retry", topic: `%RETRY%${group}`, reconsumeTimes: 1 });
    expect(await retryCopies(first)).toEqual([sent.msgId]);

    await first.kill();
    const second = await spawnBrokerProcess({ dataDir: first.dataDir, port: first.port });
    const again = await untilServing("send-back after restart", () => sendBack(second, failure));
    expect(again).toEqual({ ...answer, duplicate: true });
    expect(await retryCopies(second)).toEqual([sent.msgId]);
  });
});
