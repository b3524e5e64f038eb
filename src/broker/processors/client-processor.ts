/**
 * Clients and groups: HEARTBEAT (register producer and consumer group membership with
 * subscriptions, whose filters must compile), UNREGISTER_CLIENT, GET_CONSUMER_LIST (the live member ids, sorted, which every
 * member re-balances from), and the orderly-consumption queue locks LOCK/UNLOCK_BATCH_MQ.
 */

import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { RequestFields } from "../../protocol/schemas.ts";
import type { BrokerContext } from "../broker-context.ts";
import { ensureRetryTopic } from "../retry-topics.ts";
import { compileFilter } from "../../protocol/filter/filter-expression.ts";

type HeartbeatFields = RequestFields<typeof RequestCode.HEARTBEAT>;

export function heartbeat(context: BrokerContext, request: IncomingRequest<typeof RequestCode.HEARTBEAT>): Reply {
  // A subscription whose filter does not compile is refused before anything is registered
  // (FILTER_EXPRESSION_INVALID names line and column); the compiled filters are cached for the pulls.
  for (const consumer of request.fields.consumers) {
    for (const subscription of consumer.subscriptions) compileFilter(subscription, consumer.consumerGroup);
  }
  context.consumers.heartbeat(request.channel, request.fields);
  for (const consumer of request.fields.consumers) groupSeen(context, consumer);
  return {};
}

/**
 * A consumer group heartbeating gets its stored configuration (the defaults, first time) and, for
 * a clustering push or pull consumer, its `%RETRY%<group>` topic: messages it sends back land
 * there and its members pull them like any topic they subscribe to.
 */
function groupSeen(context: BrokerContext, consumer: HeartbeatFields["consumers"][number]): void {
  context.groupConfigs.ensure(consumer.consumerGroup);
  if (consumer.consumeType === "pop" || consumer.messageModel !== "clustering" || context.role !== "master") return;
  try {
    ensureRetryTopic(context, consumer.consumerGroup);
  } catch (error) {
    // The topic cap: the group still consumes; its send-backs will report the same error.
    context.logger.warn(`Cannot create the retry topic of group "${consumer.consumerGroup}": ${(error as Error).message}`);
  }
}

export function unregisterClient(context: BrokerContext, request: IncomingRequest<typeof RequestCode.UNREGISTER_CLIENT>): Reply {
  const { clientId, producerGroup, consumerGroup } = request.fields;
  context.consumers.unregister(clientId, { producerGroup, consumerGroup });
  return {};
}

export function getConsumerList(context: BrokerContext, request: IncomingRequest<typeof RequestCode.GET_CONSUMER_LIST>): Reply {
  const group = request.fields.consumerGroup;
  return resultReply({ clientIds: context.consumers.clientIds(group), members: context.consumers.memberViews(group) });
}

export function lockBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.LOCK_BATCH_MQ>): Reply {
  const { consumerGroup, clientId, queues } = request.fields;
  return { fields: { locked: context.locks.lock(consumerGroup, clientId, queues) } };
}

export function unlockBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.UNLOCK_BATCH_MQ>): Reply {
  const { consumerGroup, clientId, queues } = request.fields;
  context.locks.unlock(consumerGroup, clientId, queues);
  return {};
}
