/**
 * Sends REST messages into the in-process broker the way a producer would: the topic is checked
 * (existing or auto-created, writable), each message gets a producer msgId, a queue is chosen
 * (the sharding key's queue, else round-robin per request), and the answer waits for the
 * broker's flush policy — returned at once after the append under async flush, after the group
 * commit that makes it durable under sync flush.
 *
 * A batch (a JSON array) is checked as a whole first — count and total size — so a batch too
 * large stores nothing. Messages without a sharding key share one queue, in request order.
 */

import type { BrokerContext } from "../broker/broker-context.ts";
import { hash32 } from "../client/hash.ts";
import { MqError } from "../common/errors.ts";
import { MsgIdGenerator, encodeOffsetMsgId } from "../common/ids.ts";
import { batchBytesMax, batchMessagesMax } from "../common/limits.ts";
import { propertyNames } from "../common/message-properties.ts";
import type { OutgoingMessage, SendAnswer } from "./mq-backend.ts";
import { type PutMessageInput, type PutResult, putStatusError } from "../store/put-message.ts";

export class MessageSender {
  private readonly msgIds: MsgIdGenerator;
  /** This broker's ip:port as the first 16 hex digits of every offsetMsgId it makes. */
  private readonly offsetMsgIdPrefix: string;
  private roundRobin = 0;

  constructor(private readonly context: BrokerContext) {
    this.msgIds = new MsgIdGenerator({ ip: context.advertisedHost, pid: process.pid, instanceHash: (Math.random() * 2 ** 32) >>> 0 });
    this.offsetMsgIdPrefix = encodeOffsetMsgId({ host: context.advertisedHost, port: context.port, physicalOffset: 0 }).slice(0, 16);
  }

  /** Stores `messages` (one or a batch) on `topic`; resolves once stored under the flush policy. */
  send(topic: string, messages: readonly OutgoingMessage[]): SendAnswer[] | Promise<SendAnswer[]> {
    this.context.assertWritable();
    const config = this.context.topics.forWrite(topic);
    if (messages.length === 0) throw new MqError("BATCH_EMPTY");
    if (messages.length > 1) checkBatch(messages);
    this.roundRobin = (this.roundRobin + 1) >>> 0;
    const sharedQueueId = this.roundRobin % config.writeQueues;
    const inputs = messages.map((message): PutMessageInput => {
      const queueId = message.shardingKey === undefined ? sharedQueueId : hash32(message.shardingKey) % config.writeQueues;
      const properties = message.shardingKey === undefined ? message.properties : { ...message.properties, [propertyNames.shardingKey]: message.shardingKey };
      return { topic, queueId, body: message.body, tags: message.tags === "" ? undefined : message.tags, keys: message.keys, msgId: this.msgIds.next(), properties };
    });
    const store = this.context.store;
    if (store.options.flush === "sync") {
      const stored = inputs.length === 1 ? store.put(inputs[0]!).then((result) => [result]) : store.putBatch(inputs);
      return stored.then((results) => this.answers(inputs, results));
    }
    return this.answers(inputs, inputs.map((input) => store.append(input)));
  }

  /** One answer per message; the first store failure (disk full, closed, too large) is the answer instead. */
  private answers(inputs: readonly PutMessageInput[], results: readonly PutResult[]): SendAnswer[] {
    return results.map((result, index) => {
      if (result.status !== "ok") throw putStatusError(result);
      return {
        msgId: inputs[index]!.msgId!,
        // Same as encodeOffsetMsgId, without its per-id buffers: the prefix is fixed, the offset < 2^53.
        offsetMsgId: this.offsetMsgIdPrefix + result.physicalOffset.toString(16).toUpperCase().padStart(16, "0"),
        queueId: inputs[index]!.queueId,
        queueOffset: result.queueOffset,
      };
    });
  }
}

function checkBatch(messages: readonly OutgoingMessage[]): void {
  let bytes = 0;
  for (const message of messages) bytes += message.body.length;
  if (messages.length > batchMessagesMax || bytes > batchBytesMax) throw new MqError("BATCH_TOO_LARGE", { bytes, messages: messages.length, limit: batchBytesMax });
}
