/**
 * Pop consumption over TCP — POP_MESSAGE, ACK_MESSAGE, CHANGE_INVISIBLE_TIME — on the broker's
 * one PopService, so SDK SimpleConsumers and REST receivers of a group share one view of what is
 * in flight: a message received over HTTP is invisible to a TCP receiver until its time passes.
 *
 * POP_MESSAGE answers like a pull: the records, concatenated as stored, in the body; per record a
 * receipt handle and a delivery attempt in the header (responses.ts `popResultSchema`). A pop that
 * finds nothing is held up to pollTimeMs (capped by the broker's longPollMsMax) and answered as
 * soon as a message is stored on the topic or an in-flight one's invisible time passes. A held pop
 * whose connection closes is dropped before it takes any message, so nothing turns invisible for
 * a client that can no longer ack it.
 *
 * `queueId` in the request is accepted and not honoured yet: the broker spreads pops over every
 * readable queue of the topic itself.
 */

import { MqError } from "../../common/errors.ts";
import type { StoredMessage } from "../../common/message-record.ts";
import type { Channel } from "../../net/channel.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { MessageStore } from "../../store/message-store.ts";
import type { BrokerContext } from "../broker-context.ts";
import { type PoppedMessage, PopService } from "../pop-service.ts";

/** One abort signal per connection (not one close listener per held pop): fires when it closes. */
const closedSignals = new WeakMap<Channel, AbortSignal>();

export function popMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.POP_MESSAGE>): Reply | Promise<Reply> {
  const fields = request.fields;
  const received = PopService.of(context).receive({
    group: fields.consumerGroup,
    topic: fields.topic,
    maxMessages: fields.maxMessages,
    invisibleMs: fields.invisibleTimeMs,
    waitMs: fields.pollTimeMs,
    filter: fields.filter,
    signal: closedSignal(request.channel),
  });
  const invisibleUntilMs = context.clock.nowMs() + fields.invisibleTimeMs;
  return received.then((popped) => popReply(context.store, popped, invisibleUntilMs));
}

export function ackMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.ACK_MESSAGE>): Reply {
  const { consumerGroup, topic, receiptHandle } = request.fields;
  PopService.of(context).ack(consumerGroup, topic, receiptHandle);
  return {};
}

export function changeInvisibleTime(context: BrokerContext, request: IncomingRequest<typeof RequestCode.CHANGE_INVISIBLE_TIME>): Reply {
  const { consumerGroup, topic, receiptHandle, invisibleTimeMs } = request.fields;
  const { nack, errorText } = request.fields;
  return { fields: PopService.of(context).changeInvisibleTime(consumerGroup, topic, receiptHandle, invisibleTimeMs, { ...(nack === undefined ? {} : { nack }), ...(errorText === undefined ? {} : { errorText }) }) };
}

function closedSignal(channel: Channel): AbortSignal {
  let signal = closedSignals.get(channel);
  if (signal === undefined) {
    const controller = new AbortController();
    channel.onClose(() => controller.abort());
    signal = controller.signal;
    closedSignals.set(channel, signal);
  }
  return signal;
}

/**
 * The records of `popped`, copied out of the CommitLog into one body. A held pop hands out
 * messages at a later time than it was asked, so the deadline is taken from the messages
 * themselves when there are any (all of one answer share it).
 */
function popReply(store: MessageStore, popped: readonly PoppedMessage[], emptyDeadlineMs: number): Reply {
  const receiptHandles: string[] = [];
  const deliveryAttempts: number[] = [];
  const records: Uint8Array[] = [];
  let bytes = 0;
  for (const item of popped) {
    const record = recordOf(store, item.message);
    receiptHandles.push(item.receiptHandle);
    deliveryAttempts.push(item.deliveryAttempt);
    records.push(record);
    bytes += record.byteLength;
  }
  const body = new Uint8Array(bytes);
  let position = 0;
  for (const record of records) {
    body.set(record, position);
    position += record.byteLength;
  }
  const invisibleUntilMs = popped[0]?.invisibleUntilMs ?? emptyDeadlineMs;
  return { fields: { count: popped.length, invisibleUntilMs, receiptHandles, deliveryAttempts }, body };
}

/**
 * The stored bytes of a message the pop service read moments ago (no timer ran since, so
 * retention cannot have removed its file); a view, copied once into the body.
 */
function recordOf(store: MessageStore, message: StoredMessage): Uint8Array {
  const located = store.commitLog.locate(message.physicalOffset);
  if (located === undefined) throw new MqError("INTERNAL", { reason: `popped message at CommitLog offset ${message.physicalOffset} is not in the log` });
  return located.file.bytes.subarray(located.position, located.position + message.storeSize);
}
