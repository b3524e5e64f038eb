/** SendAccumulator: sends to one queue in one event-loop turn travel as one batch, answered one by one. */

import { describe, expect, test } from "bun:test";
import { MqError, isMqError } from "../../../src/common/errors.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import type { PreparedMessage, SendResult } from "../../../src/client/message.ts";
import type { MessageQueue } from "../../../src/client/message-queue.ts";
import { type AccumulatedSend, SendAccumulator, type SendTransport } from "../../../src/client/send-accumulator.ts";

const queueA: MessageQueue = { topic: "t", brokerName: "b", queueId: 0 };
const queueB: MessageQueue = { topic: "t", brokerName: "b", queueId: 1 };

function prepared(text: string): PreparedMessage {
  return { topic: "t", body: new TextEncoder().encode(text), tags: undefined, keys: undefined, properties: undefined, shardingKey: undefined, delayLevel: undefined, deliverAtMs: undefined, delayMs: undefined, dedupKey: undefined };
}

function result(queue: MessageQueue, send: AccumulatedSend, offset: number): SendResult {
  return { msgId: send.msgId, offsetMsgId: `offset-${offset}`, topic: queue.topic, queueId: queue.queueId, queueOffset: queueOffset(offset) };
}

/** A transport that records its calls and answers with consecutive offsets per queue, or fails as told. */
class RecordingTransport implements SendTransport {
  readonly calls: Array<{ kind: "one" | "many"; queueId: number; msgIds: string[] }> = [];
  private readonly offsets = new Map<number, number>();
  failMany: MqError | undefined;
  failOne: (send: AccumulatedSend) => MqError | undefined = () => undefined;

  async sendOne(_address: string, queue: MessageQueue, send: AccumulatedSend): Promise<SendResult> {
    this.calls.push({ kind: "one", queueId: queue.queueId, msgIds: [send.msgId] });
    const failure = this.failOne(send);
    if (failure !== undefined) throw failure;
    return result(queue, send, this.next(queue));
  }

  async sendMany(_address: string, queue: MessageQueue, sends: readonly AccumulatedSend[]): Promise<SendResult[]> {
    this.calls.push({ kind: "many", queueId: queue.queueId, msgIds: sends.map((send) => send.msgId) });
    if (this.failMany !== undefined) throw this.failMany;
    return sends.map((send) => result(queue, send, this.next(queue)));
  }

  private next(queue: MessageQueue): number {
    const offset = this.offsets.get(queue.queueId) ?? 0;
    this.offsets.set(queue.queueId, offset + 1);
    return offset;
  }
}

describe("SendAccumulator", () => {
  test("sends to one queue in one turn travel as one batch, in order, each answered with its own result", async () => {
    const transport = new RecordingTransport();
    const accumulator = new SendAccumulator(transport, 0);
    const sends = ["m0", "m1", "m2"].map((id) => accumulator.add("broker:1", queueA, prepared(id), id));
    const alone = accumulator.add("broker:1", queueB, prepared("m3"), "m3");
    const results = await Promise.all(sends);
    expect(transport.calls).toEqual([
      { kind: "many", queueId: 0, msgIds: ["m0", "m1", "m2"] },
      { kind: "one", queueId: 1, msgIds: ["m3"] },
    ]);
    expect(results.map((sent) => [sent.msgId, Number(sent.queueOffset)])).toEqual([["m0", 0], ["m1", 1], ["m2", 2]]);
    expect((await alone).msgId).toBe("m3");
  });

  test("scheduled sends of a queue travel as a batch of their own, apart from its plain sends", async () => {
    const transport = new RecordingTransport();
    const accumulator = new SendAccumulator(transport, 0);
    const scheduled = (id: string, delay: Partial<Pick<PreparedMessage, "delayMs" | "deliverAtMs" | "delayLevel">>) => accumulator.add("broker:1", queueA, { ...prepared(id), ...delay }, id);
    await Promise.all([
      accumulator.add("broker:1", queueA, prepared("p0"), "p0"),
      scheduled("s0", { delayMs: 1_000 }),
      accumulator.add("broker:1", queueA, prepared("p1"), "p1"),
      scheduled("s1", { deliverAtMs: Date.now() + 5_000 }),
      scheduled("s2", { delayLevel: 3 }),
    ]);
    expect(transport.calls).toEqual([
      { kind: "many", queueId: 0, msgIds: ["p0", "p1"] },
      { kind: "many", queueId: 0, msgIds: ["s0", "s1", "s2"] },
    ]);
  });

  test("sends of a later turn form the next batch", async () => {
    const transport = new RecordingTransport();
    const accumulator = new SendAccumulator(transport, 0);
    const first = accumulator.add("broker:1", queueA, prepared("a"), "a");
    await first;
    await Promise.all([accumulator.add("broker:1", queueA, prepared("b"), "b"), accumulator.add("broker:1", queueA, prepared("c"), "c")]);
    expect(transport.calls.map((call) => call.msgIds)).toEqual([["a"], ["b", "c"]]);
  });

  test("a batch refused with a non-retriable error is sent again message by message, each with its own verdict", async () => {
    const transport = new RecordingTransport();
    transport.failMany = new MqError("TOPIC_NOT_WRITABLE", { topic: "t", perm: 4 });
    transport.failOne = (send) => (send.msgId === "bad" ? new MqError("INVALID_FIELD", { field: "properties", reason: "bad" }) : undefined);
    const accumulator = new SendAccumulator(transport, 0);
    const outcomes = await Promise.allSettled(["ok1", "bad", "ok2"].map((id) => accumulator.add("broker:1", queueA, prepared(id), id)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(isMqError((outcomes[1] as PromiseRejectedResult).reason, "INVALID_FIELD")).toBe(true);
    expect(transport.calls.map((call) => call.kind)).toEqual(["many", "one", "one", "one"]);
  });

  test("a batch refused with a retriable error rejects every send with it (each send's retries take over)", async () => {
    const transport = new RecordingTransport();
    transport.failMany = new MqError("CONNECTION_CLOSED", { address: "broker:1" });
    const accumulator = new SendAccumulator(transport, 0);
    const outcomes = await Promise.allSettled(["a", "b"].map((id) => accumulator.add("broker:1", queueA, prepared(id), id)));
    expect(outcomes.map((outcome) => outcome.status === "rejected" && isMqError(outcome.reason, "CONNECTION_CLOSED"))).toEqual([true, true]);
    expect(transport.calls.length).toBe(1);
  });

  test("a batch closes at producerBatchMessagesMax messages and the next send opens another", async () => {
    const { producerBatchMessagesMax } = await import("../../../src/common/limits.ts");
    const transport = new RecordingTransport();
    const accumulator = new SendAccumulator(transport, 0);
    await Promise.all(Array.from({ length: producerBatchMessagesMax + 1 }, (_, index) => accumulator.add("broker:1", queueA, prepared("x"), `m${index}`)));
    expect(transport.calls.map((call) => [call.kind, call.msgIds.length])).toEqual([["many", producerBatchMessagesMax], ["one", 1]]);
  });
});
