/**
 * Admin requests: topics (create, update-or-create, delete, describe, list) and consumer groups
 * (list, describe with per-queue broker offset, group offset, lag and lock holder, and how many
 * popped messages await their ack).
 *
 * Lag of a queue is maxOffset − the group's offset; a queue the group never committed counts
 * everything still kept (maxOffset − minOffset), since nothing there is known to be consumed.
 *
 * Each action is a plain function of typed input (createTopicConfig, describeTopic, ...) that
 * the request handlers wrap and the in-process REST backend calls directly, so both share one
 * implementation of each rule and error.
 */

import { MqError } from "../../common/errors.ts";
import type { QueueOffset } from "../../common/offsets.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { BrokerContext } from "../broker-context.ts";
import type { ConsumerSettings } from "../consumer-manager.ts";
import { PopService } from "../pop-service.ts";
import type { TopicConfig } from "../topic-config-manager.ts";

type TopicRequest = IncomingRequest<typeof RequestCode.CREATE_TOPIC | typeof RequestCode.UPDATE_TOPIC>;

export function createTopic(context: BrokerContext, request: TopicRequest): Reply {
  return { fields: { ...createTopicConfig(context, request.fields) } };
}

export function createTopicConfig(context: BrokerContext, config: TopicConfig): TopicConfig {
  const created = context.topics.create(config);
  context.logger.info(`Created topic "${created.topic}": ${created.readQueues} read / ${created.writeQueues} write queues, perm ${created.perm}`);
  return created;
}

export function updateTopic(context: BrokerContext, request: TopicRequest): Reply {
  return { fields: { ...changeTopicConfig(context, request.fields) } };
}

/**
 * Creates or changes the topic's settings (UPDATE_TOPIC, REST PUT). A change that does not name
 * `dedupWindowMs` keeps the topic's own window: a queue or permission change must not drop it.
 */
export function changeTopicConfig(context: BrokerContext, config: TopicConfig): TopicConfig {
  const window = config.dedupWindowMs ?? context.topics.get(config.topic)?.dedupWindowMs;
  const updated = context.topics.upsert(window === undefined ? config : { ...config, dedupWindowMs: window });
  context.logger.info(`Updated topic "${updated.topic}": ${updated.readQueues} read / ${updated.writeQueues} write queues, perm ${updated.perm}`);
  return updated;
}

export function deleteTopic(context: BrokerContext, request: IncomingRequest<typeof RequestCode.DELETE_TOPIC>): Reply {
  removeTopic(context, request.fields.topic);
  return {};
}

/** Forgets the topic's settings, queues and committed offsets; its records leave with retention. */
export function removeTopic(context: BrokerContext, topic: string): void {
  context.topics.delete(topic);
  context.store.deleteTopic(topic);
  context.offsets.removeTopic(topic);
  context.logger.info(`Deleted topic "${topic}"`);
}

export function getTopic(context: BrokerContext, request: IncomingRequest<typeof RequestCode.GET_TOPIC>): Reply {
  return resultReply(describeTopic(context, request.fields.topic));
}

/** The topic's settings and each queue's offsets; TOPIC_NOT_FOUND when it does not exist. */
export function describeTopic(context: BrokerContext, topic: string): TopicDetail {
  return topicDetail(context, context.topics.require(topic));
}

export type TopicDetail = ReturnType<typeof topicDetail>;

export function listTopics(context: BrokerContext): Reply {
  return resultReply({ topics: context.topics.list().map((config) => ({ ...config })) });
}

function topicDetail(context: BrokerContext, config: TopicConfig) {
  const queueCount = Math.max(config.readQueues, config.writeQueues);
  const queues = Array.from({ length: queueCount }, (_, queueId) => ({
    queueId,
    minOffset: context.store.minOffset(config.topic, queueId),
    maxOffset: context.store.maxOffset(config.topic, queueId),
  }));
  return { ...config, queues };
}

export function listGroups(context: BrokerContext): Reply {
  return resultReply({ groups: groupSummaries(context) });
}

/** Every group with members or committed offsets, without per-queue details. */
export function groupSummaries(context: BrokerContext) {
  const names = new Set([...context.consumers.groups(), ...context.offsets.groups()]);
  return [...names].sort().map((group) => {
    const { queues: _queues, clientIds: _clientIds, members: _members, subscriptionConflict: _conflict, ...summary } = groupDetail(context, group);
    return summary;
  });
}

export function getGroup(context: BrokerContext, request: IncomingRequest<typeof RequestCode.GET_GROUP>): Reply {
  return resultReply(describeGroup(context, request.fields.consumerGroup));
}

/** GROUP_NOT_FOUND for a group with neither members nor committed offsets. */
export function describeGroup(context: BrokerContext, group: string) {
  if (context.consumers.clientIds(group).length === 0 && !context.offsets.groups().has(group)) throw new MqError("GROUP_NOT_FOUND", { group });
  return groupDetail(context, group);
}

function groupDetail(context: BrokerContext, group: string) {
  const description = context.consumers.describe(group);
  const settings: ConsumerSettings | undefined = description.settings;
  const topics = new Set(description.topics);
  for (const entry of context.offsets.entries()) if (entry.group === group) topics.add(entry.topic);
  const queues: { topic: string; queueId: number; brokerOffset: QueueOffset; consumerOffset: QueueOffset | -1; lag: number; lockedBy?: string }[] = [];
  for (const topic of [...topics].sort()) {
    const config = context.topics.get(topic);
    const committed = context.offsets.offsetsOf(group, topic);
    const queueIds = config === undefined ? [...committed.keys()].sort((a, b) => a - b) : Array.from({ length: config.readQueues }, (_, queueId) => queueId);
    for (const queueId of queueIds) {
      const brokerOffset = context.store.maxOffset(topic, queueId);
      const consumerOffset = committed.get(queueId) ?? -1;
      const from = consumerOffset === -1 ? context.store.minOffset(topic, queueId) : consumerOffset;
      const lockedBy = context.locks.holder(group, { topic, queueId });
      queues.push({ topic, queueId, brokerOffset, consumerOffset, lag: Math.max(0, brokerOffset - from), ...(lockedBy === undefined ? {} : { lockedBy }) });
    }
  }
  return {
    group,
    ...(settings === undefined ? {} : { consumeType: settings.consumeType, messageModel: settings.messageModel }),
    clients: description.members.length,
    subscriptions: settings?.subscriptions.map(({ topic, expressionType, expression }) => ({ topic, expressionType, expression })) ?? [],
    totalLag: queues.reduce((sum, queue) => sum + queue.lag, 0),
    inFlight: PopService.existing(context)?.inFlight(group) ?? 0,
    clientIds: description.members.map((member) => member.clientId).sort(),
    members: context.consumers.memberViews(group),
    ...(description.subscriptionConflict === undefined ? {} : { subscriptionConflict: description.subscriptionConflict }),
    queues,
  };
}
