/**
 * Offsets: a group's committed offsets (QUERY/UPDATE_CONSUMER_OFFSET), a queue's bounds
 * (GET_MIN/MAX_OFFSET), the offset of a point in time (SEARCH_OFFSET_BY_TIMESTAMP), and an
 * admin's RESET_OFFSET, which moves every queue of a topic for a group and tells the group's
 * running clients (RESET_CONSUMER_CLIENT_OFFSET) so they drop what they hold and re-read —
 * otherwise their next commit would undo the reset.
 */

import { MqError } from "../../common/errors.ts";
import type { QueueOffset } from "../../common/offsets.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { BrokerContext } from "../broker-context.ts";

export function queryConsumerOffset(context: BrokerContext, request: IncomingRequest<typeof RequestCode.QUERY_CONSUMER_OFFSET>): Reply {
  const { consumerGroup, topic, queueId } = request.fields;
  return { fields: { queueOffset: context.offsets.query(consumerGroup, topic, queueId) } };
}

export function updateConsumerOffset(context: BrokerContext, request: IncomingRequest<typeof RequestCode.UPDATE_CONSUMER_OFFSET>): Reply {
  const { consumerGroup, topic, queueId, queueOffset } = request.fields;
  context.topics.require(topic);
  context.offsets.commit(consumerGroup, topic, queueId, queueOffset);
  return {};
}

type QueueRequest = IncomingRequest<typeof RequestCode.GET_MIN_OFFSET | typeof RequestCode.GET_MAX_OFFSET>;

export function getMinOffset(context: BrokerContext, request: QueueRequest): Reply {
  const { topic, queueId } = checkQueue(context, request.fields);
  return { fields: { queueOffset: context.store.minOffset(topic, queueId) } };
}

export function getMaxOffset(context: BrokerContext, request: QueueRequest): Reply {
  const { topic, queueId } = checkQueue(context, request.fields);
  return { fields: { queueOffset: context.store.maxOffset(topic, queueId) } };
}

export function searchOffsetByTimestamp(context: BrokerContext, request: IncomingRequest<typeof RequestCode.SEARCH_OFFSET_BY_TIMESTAMP>): Reply {
  const { topic, queueId } = checkQueue(context, request.fields);
  return { fields: { queueOffset: context.store.offsetForTimestamp(topic, queueId, request.fields.timestampMs) } };
}

export function resetOffset(context: BrokerContext, request: IncomingRequest<typeof RequestCode.RESET_OFFSET>): Reply {
  return resultReply({ queues: resetGroupOffsets(context, request.fields) });
}

/** Commits the group's offset of every queue of `topic` at its first, last or first-after-time message, and tells the group's clients. */
export function resetGroupOffsets(
  context: BrokerContext,
  target: { readonly consumerGroup: string; readonly topic: string; readonly to: "first" | "last" | "timestamp"; readonly timestampMs?: number },
): Array<{ topic: string; queueId: number; queueOffset: QueueOffset }> {
  const { consumerGroup, topic, to, timestampMs } = target;
  const config = context.topics.require(topic);
  const queues: { topic: string; queueId: number; queueOffset: QueueOffset }[] = [];
  for (let queueId = 0; queueId < config.readQueues; queueId++) {
    const queueOffset =
      to === "first" ? context.store.minOffset(topic, queueId)
      : to === "last" ? context.store.maxOffset(topic, queueId)
      : context.store.offsetForTimestamp(topic, queueId, timestampMs ?? 0);
    context.offsets.commit(consumerGroup, topic, queueId, queueOffset);
    queues.push({ topic, queueId, queueOffset });
  }
  void context.offsets.persist();
  context.logger.info(`Reset offsets of group "${consumerGroup}" on "${topic}" to ${to === "timestamp" ? `time ${timestampMs}` : to}`);
  context.notifyOffsetReset(consumerGroup, topic, queues.map(({ queueId, queueOffset }) => ({ queueId, queueOffset })));
  return queues;
}

function checkQueue<F extends { topic: string; queueId: number }>(context: BrokerContext, fields: F): F {
  const config = context.topics.require(fields.topic);
  const queues = Math.max(config.readQueues, config.writeQueues);
  if (fields.queueId >= queues) throw new MqError("QUEUE_NOT_FOUND", { topic: fields.topic, queueId: fields.queueId, queues });
  return fields;
}
