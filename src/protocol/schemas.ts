/**
 * zod schemas of every request header, one per request code, and `validateRequest`, which the
 * server runs once per request at the edge: handlers then see typed, bounded fields only.
 *
 * Reserved keys (code, opaque, flags) are checked by the frame decoder and dropped here (zod
 * objects strip unknown keys), so a schema lists only the request's own fields. Structured
 * payloads that grow with the cluster (a broker's topic table) travel as a msgpack body with
 * their own schema (`registerBrokerBodySchema`).
 */

import { z } from "zod";
import { MqError } from "../common/errors.ts";
import { batchMessagesMax, consumeErrorTextBytesMax, dedupKeyLengthMax, dedupWindowMsMax, deadLetterPageMax, pullMessagesMax, queuesPerTopicMax, redriveMessagesMax, redriveRatePerSecondMax, scheduledListBucketMsMin, scheduledListPageMax, tagLengthMax, topicNamePattern, transactionCheckMaxLimit, transactionEndBatchMax, transactionListPageMax } from "../common/limits.ts";
import * as limits from "./limits.ts";
import { type RequestCode as RequestCodeValue, RequestCode } from "./request-codes.ts";
import { hotRequestChecks } from "./hot-request-checks.ts";
import { issueReason, valueAt } from "./schema-issues.ts";
import { offsetMsgIdPattern } from "../common/ids.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset } from "../common/offsets.ts";
import { groupConfigUpdateSchema } from "./group-config.ts";

// Field vocabulary, shared so one name always means one shape.
const topic = z.string().regex(topicNamePattern);
const group = z.string().regex(topicNamePattern);
const queueId = z.int().min(0).max(queuesPerTopicMax - 1);
/** Branded as it is parsed: past this edge a queue offset is a QueueOffset, never a plain number. */
const queueOffset = z.int().min(0).transform(toQueueOffset);
const timestampMs = z.int().min(0);
const messageId = z.string().regex(/^[0-9A-Fa-f]{32}$/);
/** 32 hex characters, or 56 for an IPv6 broker's (common/ids.ts). */
const offsetMsgId = z.string().regex(offsetMsgIdPattern);
const clientId = z.string().min(1).max(limits.clientIdLengthMax);
const address = z.string().max(limits.addressLengthMax).regex(/^\S+:\d{1,5}$/);
const tags = z.string().max(tagLengthMax);
const keys = z.array(z.string().min(1).max(limits.messageKeyLengthMax)).max(limits.messageKeysMax);
const properties = z.record(z.string().min(1).max(limits.propertyNameLengthMax), z.string());
const perm = z.int().min(0).max(7);
const queueCount = z.int().min(1).max(queuesPerTopicMax);
const filter = z.object({
  expressionType: z.enum(["TAG", "SQL92"]),
  expression: z.string().max(limits.filterExpressionLengthMax),
});
const queueRef = z.object({ topic, queueId });
const consumerGroupOnly = z.object({ consumerGroup: group });
const topicQueue = z.object({ topic, queueId });
const nothing = z.object({});
const textEncoder = new TextEncoder();
const utf8Bytes = (text: string): number => textEncoder.encode(text).length;
/** A consumer's reason for a failure, kept on retry copies and DLQ entries. */
const errorText = z.string().refine((text) => utf8Bytes(text) <= consumeErrorTextBytesMax, { message: `Must be at most ${consumeErrorTextBytesMax} bytes` });

export const sendMessageSchema = z.object({
  producerGroup: group,
  topic,
  queueId,
  msgId: messageId,
  tags: tags.optional(),
  keys: keys.optional(),
  properties: properties.optional(),
  flag: z.int32().default(0),
  bornTimestampMs: timestampMs,
  bornHost: address.optional(),
  /** 1..N picks a delay level; absent or 0 means no delay. */
  delayLevel: z.int().min(0).max(limits.delayLevelMax).optional(),
  /** Exact delivery time; wins over delayMs and delayLevel. */
  deliverAtMs: timestampMs.optional(),
  /** A delay the broker turns into a delivery time on its own clock; wins over delayLevel. Range: the broker's (TIMER_DELAY_OUT_OF_RANGE). */
  delayMs: z.int().optional(),
  transactionPrepared: z.boolean().optional(),
  reconsumeTimes: z.int().min(0).max(limits.reconsumeTimesMax).optional(),
  /** What the dedup window knows the message by instead of its msgId, per topic (a topic or broker with a window answers a repeat with the original). */
  dedupKey: z.string().min(1).max(dedupKeyLengthMax).optional(),
});

export const sendBatchSchema = z.object({
  producerGroup: group,
  topic,
  queueId,
  messageCount: z.int().min(1).max(batchMessagesMax),
  bornTimestampMs: timestampMs,
  bornHost: address.optional(),
  /** true: every message of the batch is a half message of its own transaction (transaction id: its offsetMsgId). */
  transactionPrepared: z.boolean().optional(),
});

export const pullMessageSchema = z.object({
  consumerGroup: group,
  topic,
  queueId,
  queueOffset,
  maxMessages: z.int().min(1).max(pullMessagesMax),
  maxBytes: z.int().min(1).max(limits.frameBodyBytesMax).optional(),
  filter: filter.optional(),
  /** 0 answers at once; otherwise the broker holds the pull until a message arrives or this passes. */
  suspendTimeoutMs: z.int().min(0).max(limits.longPollMsMax).default(0),
  /** The consumer's committed offset, piggybacked to save an UPDATE_CONSUMER_OFFSET. */
  commitOffset: queueOffset.optional(),
});

/**
 * CONSUMER_SEND_BACK (RocketMQ's code 36): a consumer of `consumerGroup` failed the message stored
 * at `physicalOffset` and hands it back. The broker re-appends it to `%RETRY%<group>` after the
 * group's back-off, or to `%DLQ%<group>` once its reconsume count passes the max. Sending the
 * same failure twice (same group, offset and reconsume count) stores it once.
 */
export const consumerSendBackSchema = z.object({
  consumerGroup: group,
  /** The failed message's CommitLog offset (its offsetMsgId's offset part). */
  physicalOffset: z.int().min(0).transform(toPhysicalOffset),
  originMsgId: messageId,
  originTopic: topic,
  /** A delay level for this retry; absent lets the group's back-off decide. */
  delayLevel: z.int().min(1).max(limits.delayLevelMax).optional(),
  /** Overrides the group's maxReconsumeTimes for this message (RocketMQ's per-consumer setting). */
  maxReconsumeTimes: z.int().min(0).max(limits.reconsumeTimesMax).optional(),
  clientId,
  /** Why the consumer failed it (the handler's error), kept on the retry message and the DLQ entry. */
  errorText: errorText.optional(),
});

/**
 * CONSUMER_SEND_BACK_BATCH: CONSUMER_SEND_BACK for up to sendBackBatchMax failed messages of one
 * group and client at once (a consumer hands back the failures of one event-loop turn together).
 * Each entry is handled as its own CONSUMER_SEND_BACK, idempotent the same way; the answer holds
 * one result per entry, in order.
 */
export const consumerSendBackBatchSchema = z.object({
  consumerGroup: group,
  clientId,
  entries: z
    .array(consumerSendBackSchema.omit({ consumerGroup: true, clientId: true }))
    .min(1)
    .max(limits.sendBackBatchMax),
});

/**
 * END_TRANSACTION: a producer (or an operator) ends a half message by its transaction id (the
 * half's offsetMsgId). "unknown" changes nothing: the broker's check-back asks again later.
 */
export const endTransactionSchema = z.object({
  transactionId: offsetMsgId,
  resolution: z.enum(["commit", "rollback", "unknown"]),
  /** The producer's group; absent for an operator. */
  producerGroup: group.optional(),
  msgId: messageId.optional(),
});

export const popMessageSchema = z.object({
  consumerGroup: group,
  topic,
  queueId: queueId.optional(),
  maxMessages: z.int().min(1).max(pullMessagesMax),
  invisibleTimeMs: z.int().min(1).max(limits.invisibleTimeMsMax),
  pollTimeMs: z.int().min(0).max(limits.longPollMsMax).default(0),
  filter: filter.optional(),
});

export const ackMessageSchema = z.object({ consumerGroup: group, topic, receiptHandle: z.string().min(1).max(512) });

/**
 * invisibleTimeMs 0 makes the message visible again at once (a nack without delay). With `nack`,
 * the delivery failed: once invisibleTimeMs passes the group's back-off is waited too (0: only
 * the back-off), and past the group's maxReconsumeTimes the message goes to its DLQ, giving
 * errorText as the reason.
 */
export const changeInvisibleTimeSchema = ackMessageSchema.extend({
  invisibleTimeMs: z.int().min(0).max(limits.invisibleTimeMsMax),
  nack: z.boolean().optional(),
  errorText: errorText.optional(),
});

export const queryConsumerOffsetSchema = z.object({ consumerGroup: group, topic, queueId });
export const updateConsumerOffsetSchema = queryConsumerOffsetSchema.extend({ queueOffset });
export const searchOffsetByTimestampSchema = topicQueue.extend({ timestampMs });
/**
 * `to` picks the target of every queue: "timestamp" (the first message stored at or after
 * timestampMs, which it then requires), "first" (the oldest kept) or "last" (skip everything).
 * Every reset is applied whatever the current offset (`force` is accepted for compatibility).
 */
export const resetOffsetSchema = z
  .object({
    consumerGroup: group,
    topic,
    to: z.enum(["timestamp", "first", "last"]).default("timestamp"),
    timestampMs: timestampMs.optional(),
    force: z.boolean().default(false),
  })
  .refine((fields) => fields.to !== "timestamp" || fields.timestampMs !== undefined, { message: 'Is required when "to" is "timestamp"', path: ["timestampMs"] });
/**
 * Either id finds the message: the broker's offsetMsgId (read directly at its CommitLog
 * offset) or the producer's msgId (looked up in the index). An id sent as offsetMsgId that
 * finds nothing there is tried as a msgId too, so a caller holding "an id" need not know which.
 */
export const viewMessageByIdSchema = z
  .object({ offsetMsgId: offsetMsgId.optional(), msgId: messageId.optional() })
  .refine((fields) => fields.offsetMsgId !== undefined || fields.msgId !== undefined, { message: "Is required when msgId is absent", path: ["offsetMsgId"] });
/** RESET_CONSUMER_CLIENT_OFFSET (broker→client): a group's offsets were reset; re-read them. */
export const resetConsumerClientOffsetSchema = z.object({
  consumerGroup: group,
  topic,
  queues: z.array(z.object({ queueId, queueOffset })).max(queuesPerTopicMax),
});
export const queryMessageByKeySchema = z.object({
  topic,
  key: z.string().min(1).max(limits.messageKeyLengthMax),
  maxResults: z.int().min(1).max(limits.queryResultsMax).default(limits.queryResultsMax),
  beginTimestampMs: timestampMs.optional(),
  endTimestampMs: timestampMs.optional(),
});

/** QUERY_MESSAGE_TRACE: `id` a msgId, an offsetMsgId or a message key; `topic` a trace topic to search besides the broker's. */
export const queryMessageTraceSchema = z.object({
  id: z.string().min(1).max(limits.messageKeyLengthMax),
  topic: topic.optional(),
});

/** LIST_SCHEDULED_MESSAGES: pending in [fromMs, toMs), one page after (afterDeliverAtMs, afterMsgId). */
export const listScheduledMessagesSchema = z
  .object({
    topic: topic.optional(),
    fromMs: timestampMs.optional(),
    toMs: timestampMs.optional(),
    bucketMs: z.int().min(scheduledListBucketMsMin).optional(),
    afterDeliverAtMs: timestampMs.optional(),
    afterMsgId: messageId.optional(),
    limit: z.int().min(1).max(scheduledListPageMax).optional(),
  })
  .refine((fields) => (fields.afterDeliverAtMs === undefined) === (fields.afterMsgId === undefined), { message: "Is required with afterDeliverAtMs (and only with it)", path: ["afterMsgId"] });
export const cancelScheduledMessageSchema = z.object({ msgId: messageId });

/** An id naming a DLQ entry: its offsetMsgId, its msgId or its origin msgId. */
const deadLetterId = z.string().regex(/^[0-9A-Fa-f]{32,56}$/, { message: "Must be an offsetMsgId or a msgId (hex)" });
/** LIST_DEAD_LETTERS: one page of a group's DLQ after (afterQueueId, afterQueueOffset). */
export const listDeadLettersSchema = z
  .object({
    consumerGroup: group,
    fromMs: timestampMs.optional(),
    toMs: timestampMs.optional(),
    msgId: deadLetterId.optional(),
    afterQueueId: queueId.optional(),
    afterQueueOffset: z.int().min(0).optional(),
    limit: z.int().min(1).max(deadLetterPageMax).optional(),
  })
  .refine((fields) => (fields.afterQueueId === undefined) === (fields.afterQueueOffset === undefined), { message: "Is required with afterQueueId (and only with it)", path: ["afterQueueOffset"] });
/** REDRIVE_DEAD_LETTERS: by ids, else the time range, else (with all) every entry. */
export const redriveDeadLettersSchema = z
  .object({
    consumerGroup: group,
    ids: z.array(deadLetterId).min(1).max(redriveMessagesMax).optional(),
    fromMs: timestampMs.optional(),
    toMs: timestampMs.optional(),
    all: z.boolean().optional(),
    toTopic: topic.optional(),
    ratePerSecond: z.number().positive().max(redriveRatePerSecondMax).optional(),
    force: z.boolean().optional(),
  })
  .refine((fields) => fields.ids !== undefined || fields.fromMs !== undefined || fields.toMs !== undefined || fields.all === true, { message: "Is required: name ids, a time range, or all", path: ["ids"] });

export const heartbeatSchema = z.object({
  clientId,
  /** The client's mq version, shown with the group's members; absent from older clients. */
  version: z.string().max(64).optional(),
  producerGroups: z.array(group).max(limits.heartbeatGroupsMax).default([]),
  consumers: z
    .array(
      z.object({
        consumerGroup: group,
        consumeType: z.enum(["push", "pull", "pop"]),
        messageModel: z.enum(["clustering", "broadcasting"]),
        consumeFromWhere: z.enum(["last", "first", "timestamp"]),
        consumeTimestampMs: timestampMs.optional(),
        subscriptions: z.array(filter.extend({ topic })).max(limits.subscriptionsPerGroupMax),
      }),
    )
    .max(limits.heartbeatGroupsMax)
    .default([]),
});

export const unregisterClientSchema = z.object({ clientId, producerGroup: group.optional(), consumerGroup: group.optional() });
export const lockBatchSchema = z.object({ consumerGroup: group, clientId, queues: z.array(queueRef).min(1).max(limits.lockBatchQueuesMax) });

export const topicConfigSchema = z.object({
  topic,
  readQueues: queueCount,
  writeQueues: queueCount,
  /** Read 4, write 2, inherit 1. */
  perm: perm.default(6),
  order: z.boolean().default(false),
  /** The topic's own dedup window (exactly-once produce), ms; 0: none even when the broker has one; absent: the broker's. */
  dedupWindowMs: z.int().min(0).max(dedupWindowMsMax).optional(),
});

/**
 * CHECK_TRANSACTION_STATE (broker → producer; body: the message body): the broker asks a live
 * producer of the group how a half message's local transaction ended. The producer answers
 * `{ resolution: "commit" | "rollback" | "unknown" }` (checkTransactionAnswerSchema).
 */
export const checkTransactionStateSchema = z.object({
  producerGroup: group,
  topic,
  msgId: messageId,
  transactionId: offsetMsgId,
  /** Check-backs the producers received before this one. */
  checkTimes: z.int().min(0).max(transactionCheckMaxLimit),
  tags: tags.optional(),
  keys: keys.optional(),
  properties: properties.optional(),
  storeTimestampMs: timestampMs,
});

/**
 * END_TRANSACTION_BATCH: END_TRANSACTION for many transactions of one broker in one request,
 * `resolutions[i]` ending `transactionIds[i]`; answered with one result each (in the body).
 */
export const endTransactionBatchSchema = z
  .object({
    transactionIds: z.array(offsetMsgId).min(1).max(transactionEndBatchMax),
    resolutions: z.array(z.enum(["commit", "rollback"])).min(1).max(transactionEndBatchMax),
    producerGroup: group.optional(),
  })
  .refine((fields) => fields.transactionIds.length === fields.resolutions.length, { message: "must hold one resolution per transaction id", path: ["resolutions"] });

/** LIST_TRANSACTIONS: one page of the pending or exhausted transactions, oldest first, after a transaction id. */
export const listTransactionsSchema = z.object({
  state: z.enum(["pending", "exhausted"]),
  limit: z.int().min(1).max(transactionListPageMax).optional(),
  afterTransactionId: offsetMsgId.optional(),
});

export const brokerIdentitySchema = z.object({
  clusterName: group,
  brokerName: group,
  /** 0 is the master; 1.. are slaves. */
  brokerId: z.int().min(0).max(1_023),
  brokerAddr: address,
});

export const registerBrokerSchema = brokerIdentitySchema.extend({
  haAddr: address.optional(),
  /** The broker's mq version, shown by `mq cluster list`. */
  version: z.string().max(64).default("unknown"),
  /** Bumped whenever the topic table changes, so the NameServer skips unchanged tables. */
  dataVersion: z.int().min(0),
  /** Bytes the broker's store holds on disk; absent from older brokers. */
  storeBytes: z.int().min(0).optional(),
  /** Used share (0..1) of the disk holding the store; absent from older brokers or when unknown. */
  diskUsedRatio: z.number().min(0).max(1).optional(),
});

/** REGISTER_BROKER's body: msgpack of this map (a topic table can outgrow a header). */
export const registerBrokerBodySchema = z.object({
  topicConfigs: z.array(topicConfigSchema).max(1_000_000),
});

/** One schema per request code: the server validates with it before calling the handler. */
export const requestSchemas = {
  [RequestCode.SEND_MESSAGE]: sendMessageSchema,
  [RequestCode.SEND_BATCH]: sendBatchSchema,
  [RequestCode.PULL_MESSAGE]: pullMessageSchema,
  [RequestCode.CONSUMER_SEND_BACK]: consumerSendBackSchema,
  [RequestCode.CONSUMER_SEND_BACK_BATCH]: consumerSendBackBatchSchema,
  [RequestCode.END_TRANSACTION]: endTransactionSchema,
  [RequestCode.POP_MESSAGE]: popMessageSchema,
  [RequestCode.ACK_MESSAGE]: ackMessageSchema,
  [RequestCode.CHANGE_INVISIBLE_TIME]: changeInvisibleTimeSchema,
  [RequestCode.QUERY_CONSUMER_OFFSET]: queryConsumerOffsetSchema,
  [RequestCode.UPDATE_CONSUMER_OFFSET]: updateConsumerOffsetSchema,
  [RequestCode.GET_MIN_OFFSET]: topicQueue,
  [RequestCode.GET_MAX_OFFSET]: topicQueue,
  [RequestCode.SEARCH_OFFSET_BY_TIMESTAMP]: searchOffsetByTimestampSchema,
  [RequestCode.RESET_OFFSET]: resetOffsetSchema,
  [RequestCode.VIEW_MESSAGE_BY_ID]: viewMessageByIdSchema,
  [RequestCode.QUERY_MESSAGE_BY_KEY]: queryMessageByKeySchema,
  [RequestCode.HEARTBEAT]: heartbeatSchema,
  [RequestCode.UNREGISTER_CLIENT]: unregisterClientSchema,
  [RequestCode.GET_CONSUMER_LIST]: consumerGroupOnly,
  [RequestCode.LOCK_BATCH_MQ]: lockBatchSchema,
  [RequestCode.UNLOCK_BATCH_MQ]: lockBatchSchema,
  [RequestCode.CREATE_TOPIC]: topicConfigSchema,
  [RequestCode.UPDATE_TOPIC]: topicConfigSchema,
  [RequestCode.DELETE_TOPIC]: z.object({ topic }),
  [RequestCode.GET_TOPIC]: z.object({ topic }),
  [RequestCode.LIST_TOPICS]: nothing,
  [RequestCode.LIST_GROUPS]: nothing,
  [RequestCode.GET_GROUP]: consumerGroupOnly,
  [RequestCode.UPDATE_GROUP_CONFIG]: groupConfigUpdateSchema,
  [RequestCode.GET_GROUP_CONFIG]: z.object({ group }),
  [RequestCode.LIST_SCHEDULED_MESSAGES]: listScheduledMessagesSchema,
  [RequestCode.CANCEL_SCHEDULED_MESSAGE]: cancelScheduledMessageSchema,
  [RequestCode.LIST_DEAD_LETTERS]: listDeadLettersSchema,
  [RequestCode.REDRIVE_DEAD_LETTERS]: redriveDeadLettersSchema,
  [RequestCode.QUERY_MESSAGE_TRACE]: queryMessageTraceSchema,
  [RequestCode.CHECK_TRANSACTION_STATE]: checkTransactionStateSchema,
  [RequestCode.LIST_TRANSACTIONS]: listTransactionsSchema,
  [RequestCode.END_TRANSACTION_BATCH]: endTransactionBatchSchema,
  [RequestCode.NOTIFY_CONSUMER_IDS_CHANGED]: consumerGroupOnly,
  [RequestCode.RESET_CONSUMER_CLIENT_OFFSET]: resetConsumerClientOffsetSchema,
  [RequestCode.REGISTER_BROKER]: registerBrokerSchema,
  [RequestCode.UNREGISTER_BROKER]: brokerIdentitySchema,
  [RequestCode.GET_ROUTE]: z.object({ topic }),
  [RequestCode.GET_CLUSTER_INFO]: nothing,
} as const satisfies Record<RequestCodeValue, z.ZodType<Record<string, unknown>>>;

type Schemas = typeof requestSchemas;

/** The validated fields of a request with code `C` (defaults applied). */
export type RequestFields<C extends number> = C extends keyof Schemas ? z.output<Schemas[C]> : Readonly<Record<string, unknown>>;
/** What a sender passes for a request with code `C` (fields with defaults may be left out). */
export type RequestFieldsInput<C extends number> = C extends keyof Schemas ? z.input<Schemas[C]> : Readonly<Record<string, unknown>>;

export type Validation<T> = { readonly ok: true; readonly fields: T } | { readonly ok: false; readonly error: MqError };

/**
 * Validates a decoded header against the schema of its code. Codes without a schema pass the
 * header through untouched (the caller decides whether the code is known at all).
 */
export function validateRequest<C extends number>(code: C, header: Readonly<Record<string, unknown>>): Validation<RequestFields<C>> {
  const accepted = hotRequestChecks[code]?.(header);
  if (accepted !== undefined) return { ok: true, fields: accepted as RequestFields<C> };
  const schema = (requestSchemas as Record<number, z.ZodType | undefined>)[code];
  if (schema === undefined) return { ok: true, fields: header as RequestFields<C> };
  return toValidation(schema.safeParse(header), header) as Validation<RequestFields<C>>;
}

/** Validates a value against any schema with the same INVALID_FIELD errors (bodies, config). */
export function validateFields<T>(schema: z.ZodType<T>, value: unknown): Validation<T> {
  return toValidation(schema.safeParse(value), value);
}

export function hasRequestSchema(code: number): boolean {
  return Object.hasOwn(requestSchemas, code);
}

function toValidation<T>(result: z.ZodSafeParseResult<T>, input: unknown): Validation<T> {
  if (result.success) return { ok: true, fields: result.data };
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join(".") || "(header)";
  const reason = issueReason(issue, valueAt(input, issue.path));
  return { ok: false, error: new MqError("INVALID_FIELD", { field, reason }) };
}

