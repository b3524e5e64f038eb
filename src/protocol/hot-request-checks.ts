/**
 * Hand-written twins of the zod schemas of the per-message requests (SEND_MESSAGE,
 * PULL_MESSAGE, and END_TRANSACTION_BATCH, which carries an id per transaction): STYLE §10 keeps
 * zod at the edges, and these arrive once per message. Each
 * accepts exactly what its schema accepts and returns what the schema would output (unknown keys
 * dropped, defaults applied). Anything it does not accept goes to the schema, which then names
 * the field and the reason — so every error stays zod's. A seeded test holds the pairs together.
 */

import { offsetMsgIdPattern } from "../common/ids.ts";
import { dedupKeyLengthMax, pullMessagesMax, queuesPerTopicMax, tagLengthMax, topicNamePattern, transactionEndBatchMax } from "../common/limits.ts";
import { queueOffset as toQueueOffset } from "../common/offsets.ts";
import * as limits from "./limits.ts";
import { RequestCode } from "./request-codes.ts";

type Header = Readonly<Record<string, unknown>>;

const messageIdPattern = /^[0-9A-Fa-f]{32}$/;
const addressPattern = /^\S+:\d{1,5}$/;

const isName = (value: unknown): value is string => typeof value === "string" && topicNamePattern.test(value);
const isInt = (value: unknown, min: number, max: number): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
const isOffset = (value: unknown): value is number => isInt(value, 0, Number.MAX_SAFE_INTEGER);

function keysOk(keys: unknown): boolean {
  if (!Array.isArray(keys) || keys.length > limits.messageKeysMax) return false;
  for (const key of keys) if (typeof key !== "string" || key.length === 0 || key.length > limits.messageKeyLengthMax) return false;
  return true;
}

function propertiesOk(properties: unknown): boolean {
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return false;
  for (const name in properties) {
    if (name.length === 0 || name.length > limits.propertyNameLengthMax || typeof (properties as Record<string, unknown>)[name] !== "string") return false;
  }
  return Object.getPrototypeOf(properties) === Object.prototype;
}

function acceptSend(header: Header): Record<string, unknown> | undefined {
  const { producerGroup, topic, queueId, msgId, tags, keys, properties, flag, bornTimestampMs, bornHost, delayLevel, deliverAtMs, delayMs, transactionPrepared, reconsumeTimes, dedupKey } = header;
  if (!isName(producerGroup) || !isName(topic) || !isInt(queueId, 0, queuesPerTopicMax - 1)) return undefined;
  if (typeof msgId !== "string" || !messageIdPattern.test(msgId) || !isOffset(bornTimestampMs)) return undefined;
  if (tags !== undefined && (typeof tags !== "string" || tags.length > tagLengthMax)) return undefined;
  if (keys !== undefined && !keysOk(keys)) return undefined;
  if (properties !== undefined && !propertiesOk(properties)) return undefined;
  if (flag !== undefined && !isInt(flag, -(2 ** 31), 2 ** 31 - 1)) return undefined;
  if (bornHost !== undefined && (typeof bornHost !== "string" || bornHost.length > limits.addressLengthMax || !addressPattern.test(bornHost))) return undefined;
  if (delayLevel !== undefined && !isInt(delayLevel, 0, limits.delayLevelMax)) return undefined;
  if (deliverAtMs !== undefined && !isOffset(deliverAtMs)) return undefined;
  if (delayMs !== undefined && !Number.isSafeInteger(delayMs)) return undefined;
  if (transactionPrepared !== undefined && typeof transactionPrepared !== "boolean") return undefined;
  if (reconsumeTimes !== undefined && !isInt(reconsumeTimes, 0, limits.reconsumeTimesMax)) return undefined;
  if (dedupKey !== undefined && (typeof dedupKey !== "string" || dedupKey.length === 0 || dedupKey.length > dedupKeyLengthMax)) return undefined;
  const fields: Record<string, unknown> = { producerGroup, topic, queueId, msgId, flag: flag ?? 0, bornTimestampMs };
  if (tags !== undefined) fields.tags = tags;
  if (keys !== undefined) fields.keys = keys;
  if (properties !== undefined) fields.properties = properties;
  if (bornHost !== undefined) fields.bornHost = bornHost;
  if (delayLevel !== undefined) fields.delayLevel = delayLevel;
  if (deliverAtMs !== undefined) fields.deliverAtMs = deliverAtMs;
  if (delayMs !== undefined) fields.delayMs = delayMs;
  if (transactionPrepared !== undefined) fields.transactionPrepared = transactionPrepared;
  if (reconsumeTimes !== undefined) fields.reconsumeTimes = reconsumeTimes;
  if (dedupKey !== undefined) fields.dedupKey = dedupKey;
  return fields;
}

function acceptPull(header: Header): Record<string, unknown> | undefined {
  const { consumerGroup, topic, queueId, queueOffset, maxMessages, maxBytes, filter, suspendTimeoutMs, commitOffset } = header;
  if (!isName(consumerGroup) || !isName(topic) || !isInt(queueId, 0, queuesPerTopicMax - 1) || !isOffset(queueOffset)) return undefined;
  if (!isInt(maxMessages, 1, pullMessagesMax)) return undefined;
  if (maxBytes !== undefined && !isInt(maxBytes, 1, limits.frameBodyBytesMax)) return undefined;
  if (suspendTimeoutMs !== undefined && !isInt(suspendTimeoutMs, 0, limits.longPollMsMax)) return undefined;
  if (commitOffset !== undefined && !isOffset(commitOffset)) return undefined;
  let checkedFilter: { expressionType: string; expression: string } | undefined;
  if (filter !== undefined) {
    if (typeof filter !== "object" || filter === null || Array.isArray(filter)) return undefined;
    const { expressionType, expression } = filter as Record<string, unknown>;
    if ((expressionType !== "TAG" && expressionType !== "SQL92") || typeof expression !== "string" || expression.length > limits.filterExpressionLengthMax) return undefined;
    checkedFilter = { expressionType, expression };
  }
  // Offsets are branded here as the schema brands them: this is where a pull's offsets enter.
  const fields: Record<string, unknown> = { consumerGroup, topic, queueId, queueOffset: toQueueOffset(queueOffset), maxMessages, suspendTimeoutMs: suspendTimeoutMs ?? 0 };
  if (maxBytes !== undefined) fields.maxBytes = maxBytes;
  if (checkedFilter !== undefined) fields.filter = checkedFilter;
  if (commitOffset !== undefined) fields.commitOffset = toQueueOffset(commitOffset);
  return fields;
}

function acceptEndTransactionBatch(header: Header): Record<string, unknown> | undefined {
  const { transactionIds, resolutions, producerGroup } = header;
  if (!Array.isArray(transactionIds) || !Array.isArray(resolutions)) return undefined;
  const count = transactionIds.length;
  if (count < 1 || count > transactionEndBatchMax || resolutions.length !== count) return undefined;
  for (const id of transactionIds) if (typeof id !== "string" || !offsetMsgIdPattern.test(id)) return undefined;
  for (const resolution of resolutions) if (resolution !== "commit" && resolution !== "rollback") return undefined;
  if (producerGroup !== undefined && !isName(producerGroup)) return undefined;
  return producerGroup === undefined ? { transactionIds, resolutions } : { transactionIds, resolutions, producerGroup };
}

/** Per request code: the fields as the schema would output them, or undefined to ask the schema. */
export const hotRequestChecks: Readonly<Partial<Record<number, (header: Header) => Record<string, unknown> | undefined>>> = {
  [RequestCode.SEND_MESSAGE]: acceptSend,
  [RequestCode.PULL_MESSAGE]: acceptPull,
  [RequestCode.END_TRANSACTION_BATCH]: acceptEndTransactionBatch,
};
