/**
 * A group's retry and dead-letter topics (DESIGN §6, §14), with RocketMQ's names and settings:
 * `%RETRY%<group>` (one queue, read and write: the group's consumers pull it like any topic it
 * subscribes to) and `%DLQ%<group>` (one queue, perm 0: clients can neither read nor write it
 * until an admin changes its perm with a topic update). Both are made by the broker when first
 * needed, within the broker's topic cap, and never changed afterwards by it.
 *
 * Also the properties a failed message carries on its way through them (message-properties.ts):
 * where it came from, how often it failed, when, by whom and why.
 */

import { MqError } from "../common/errors.ts";
import { propertyNames } from "../common/message-properties.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { deadLetterTopicPrefix, retryTopicPrefix } from "../common/system-topics.ts";
import type { BrokerContext } from "./broker-context.ts";
import { Perm, type TopicConfig } from "./topic-config-manager.ts";

export const retryTopicOf = (group: string): string => retryTopicPrefix + group;
export const deadLetterTopicOf = (group: string): string => deadLetterTopicPrefix + group;

/** `%RETRY%<group>`, made now (perm read+write, one queue) if missing. */
export function ensureRetryTopic(context: BrokerContext, group: string): TopicConfig {
  return ensureTopic(context, retryTopicOf(group), Perm.read | Perm.write);
}

/** `%DLQ%<group>`, made now (perm 0, one queue) if missing. */
export function ensureDeadLetterTopic(context: BrokerContext, group: string): TopicConfig {
  return ensureTopic(context, deadLetterTopicOf(group), 0);
}

function ensureTopic(context: BrokerContext, topic: string, perm: number): TopicConfig {
  const existing = context.topics.get(topic);
  if (existing !== undefined) return existing;
  const created = context.topics.create({ topic, readQueues: 1, writeQueues: 1, perm, order: false });
  context.logger.info(`Created topic "${topic}": 1 queue, perm ${perm}`);
  return created;
}

/** What the broker knows of one failure of a message by a group. */
export interface Failure {
  readonly group: string;
  /** The topic the message was first sent to. */
  readonly originTopic: string;
  readonly originMsgId: string;
  /** Failed deliveries so far, this one included (RECONSUME_TIME of the copy written). */
  readonly reconsumeTimes: number;
  readonly nowMs: number;
  /** When the group first failed it, if known apart from the message (pop keeps it); default: the message's FIRST_FAILURE_MS, else now. */
  readonly firstFailureMs?: number;
  readonly clientId?: string;
  readonly errorText?: string;
  /** A send-back's SEND_BACK_KEY (sendBackKeyOf); the broker's own failures (pop) have none. */
  readonly sendBackKey?: string;
}

/** Which failure a send-back copy is of: the failed record's CommitLog offset, its reconsume count and the group. */
export function sendBackKeyOf(group: string, physicalOffset: number, reconsumeTimes: number): string {
  return `${physicalOffset}:${reconsumeTimes}:${group}`;
}

/** Properties that belong to one stored copy and must not travel to the next one. */
const copyOnlyProperties = [
  propertyNames.tags,
  propertyNames.keys,
  propertyNames.msgId,
  propertyNames.realTopic,
  propertyNames.realQueueId,
  propertyNames.timerDeliverMs,
  propertyNames.timerDelayMs,
  propertyNames.deliverAtMs,
  propertyNames.delayLevel,
  propertyNames.timerOutMs,
  propertyNames.timerDeliveredMs,
  propertyNames.timerSourceOffset,
  propertyNames.sendBackKey,
];

/** The failed message's properties for its next copy (retry or DLQ): the user's kept, the failure recorded. */
export function failureProperties(message: StoredMessage, failure: Failure): Record<string, string> {
  const properties: Record<string, string> = { ...message.properties };
  for (const name of copyOnlyProperties) delete properties[name];
  properties[propertyNames.retryTopic] = failure.originTopic;
  properties[propertyNames.originMsgId] = failure.originMsgId;
  properties[propertyNames.reconsumeTimes] = String(failure.reconsumeTimes);
  properties[propertyNames.firstFailureMs] ??= String(failure.firstFailureMs ?? failure.nowMs);
  properties[propertyNames.lastFailureMs] = String(failure.nowMs);
  if (failure.clientId !== undefined) properties[propertyNames.lastConsumerClientId] = failure.clientId;
  if (failure.errorText !== undefined) properties[propertyNames.consumeErrorText] = cleanText(failure.errorText);
  if (failure.sendBackKey !== undefined) properties[propertyNames.sendBackKey] = failure.sendBackKey;
  return properties;
}

/** The DLQ entry's properties: the failure's, plus where the message came from under the DLQ's own names. */
export function deadLetterProperties(message: StoredMessage, failure: Failure): Record<string, string> {
  const properties = failureProperties(message, failure);
  properties[propertyNames.dlqOriginTopic] = failure.originTopic;
  properties[propertyNames.dlqOriginMsgId] = failure.originMsgId;
  return properties;
}

/** The failure's group must be the one the message is handed back by: a retry copy names its group in its topic. */
export function assertRetryOfGroup(message: StoredMessage, group: string): void {
  if (message.topic.startsWith(retryTopicPrefix) && message.topic !== retryTopicOf(group)) {
    throw new MqError("BAD_REQUEST", { reason: `the message is in "${message.topic}", the retry topic of another group than "${group}"` });
  }
}

/** Property values must not hold the two separator characters; an error text may hold anything. */
function cleanText(text: string): string {
  return text.replace(/[\u0001\u0002]/g, " ");
}
