/**
 * zod schemas of every REST body, query and path parameter. Routes parse with them once, at the
 * edge (validation.ts turns a failure into a 400 INVALID_FIELD naming the field and why), and
 * openapi.ts publishes them as JSON Schema — so the document cannot drift from what is enforced.
 *
 * Bodies are strict: an unknown field is refused rather than ignored, because a misspelled
 * `invisbleMs` silently falling back to its default is worse than a clear error. Query values
 * arrive as strings; integer ones are matched as digits and converted, never coerced (`Number("")`
 * is 0).
 */

import { z } from "zod";
import { batchMessagesMax, consumeErrorTextBytesMax, dedupKeyLengthMax, dedupWindowMsMax, deadLetterPageMax, queuesPerTopicMax, redriveMessagesMax, redriveRatePerSecondMax, scheduledListBucketMsMin, scheduledListPageMax, tagLengthMax, topicNamePattern, transactionListPageMax } from "../common/limits.ts";
import { delayLevelMax, filterExpressionLengthMax, messageKeyLengthMax, messageKeysMax, propertyNameLengthMax } from "../protocol/limits.ts";
import * as limits from "./limits.ts";
import { groupConfigSchema, groupConfigUpdateSchema } from "../protocol/group-config.ts";
import { endTransactionResultSchema, transactionListingSchema } from "../protocol/responses.ts";

export const topicName = z.string().regex(topicNamePattern).meta({ description: "Topic name: letters, digits, %, |, _ and -, 1..127 characters" });
export const groupName = z.string().regex(topicNamePattern).meta({ description: "Consumer group name, same rule as topics" });
export const messageIdText = z.string().regex(/^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/).meta({ description: "msgId (producer) or offsetMsgId (broker): 32 hex characters, or 56 for an IPv6 broker's offsetMsgId" });

/** A non-negative integer in a query string: digits only, at most 15 of them (below 2^53). */
function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,15}$/, { error: "must be a non-negative integer" })
    .transform(Number)
    .pipe(z.int().min(min).max(max));
}

const bodyEncoding = z.enum(["utf8", "base64"]).meta({ description: "How `body` is written: UTF-8 text (default) or base64 bytes" });

// --- Topics ----------------------------------------------------------------------------------

export const updateTopicBody = z
  .strictObject({
    queues: z.int().min(1).max(queuesPerTopicMax).optional().meta({ description: "Read and write queues; default unchanged" }),
    perm: z.int().min(0).max(7).optional().meta({ description: "Permission bits: read 4, write 2, inherit 1; default unchanged" }),
    dedupWindowMs: z.int().min(0).max(dedupWindowMsMax).optional().meta({ description: "The topic's own dedup window in ms, at most 24 h; 0: none even when the broker has one; default unchanged" }),
  })
  .meta({ id: "UpdateTopic" });

export const createTopicBody = z
  .strictObject({
    topic: topicName,
    queues: z.int().min(1).max(queuesPerTopicMax).optional().meta({ description: "Read and write queues; default the broker's defaultTopicQueues" }),
    perm: z.int().min(0).max(7).default(6).meta({ description: "Permission bits: read 4, write 2, inherit 1" }),
    order: z.boolean().default(false),
    dedupWindowMs: z
      .int()
      .min(0)
      .max(dedupWindowMsMax)
      .optional()
      .meta({ description: "The topic's own dedup window (exactly-once produce) in ms, at most 24 h; 0: none even when the broker has one; absent: the broker's" }),
  })
  .meta({ id: "CreateTopic" });

export const topicPath = z.object({ topic: topicName });

// --- Messages --------------------------------------------------------------------------------

export const messageInput = z
  .strictObject({
    body: z.string().meta({ description: "The message body, as `encoding` says" }),
    encoding: bodyEncoding.default("utf8"),
    tags: z.string().max(tagLengthMax).optional().meta({ description: "One tag, filterable by consumers" }),
    keys: z
      .array(z.string().min(1).max(messageKeyLengthMax))
      .max(messageKeysMax)
      .optional()
      .meta({ description: "Business keys, indexed for GET /api/v1/messages?topic=&key=" }),
    properties: z.record(z.string().min(1).max(propertyNameLengthMax), z.string()).optional().meta({ description: "User properties" }),
    shardingKey: z.string().min(1).max(limits.shardingKeyLengthMax).optional().meta({ description: "Messages with one sharding key go to one queue, in order" }),
    deliverAt: z
      .union([z.int().min(0), z.string().max(64).refine((text) => Number.isFinite(Date.parse(text)), "must be ms since the epoch or an ISO date-time like 2026-12-24T18:00Z")])
      .optional()
      .meta({ description: "Deliver at this time: ms since the epoch or an ISO date-time; a time already past is delivered at once. Wins over delayMs and delayLevel" }),
    delayMs: z.int().optional().meta({ description: "Deliver this long after the broker receives it (1 ms up to the broker's timerMaxDelayMs, default 40 days)" }),
    delayLevel: z.int().min(0).max(delayLevelMax).optional().meta({ description: "A delay level of the broker's messageDelayLevel table (default 1s 5s 10s 30s 1m ... 2h); above the last is the last" }),
    dedupKey: z
      .string()
      .min(1)
      .max(dedupKeyLengthMax)
      .optional()
      .meta({ description: "Exactly-once produce: on a topic with a dedup window, a send whose key was stored within the window is not stored again and is answered with the original (duplicate: true)" }),
    transaction: z
      .boolean()
      .optional()
      .meta({ description: "true: a half message, invisible until committed with POST /api/v1/transactions/{transactionId}/commit (or rolled back); the answer carries transactionId. Not checked back: unended, it moves to the exhausted list after the broker's transactionTimeoutMs. Not in a batch, not with a delay" }),
  })
  .meta({ id: "MessageInput" });
export type MessageInput = z.output<typeof messageInput>;

export const messageBatchInput = z.array(messageInput).min(1).max(batchMessagesMax);

export const sendResult = z
  .object({
    msgId: messageIdText,
    offsetMsgId: messageIdText,
    queueId: z.int(),
    queueOffset: z.int().meta({ description: "0 for a scheduled message: it takes its queue offset when delivered" }),
    deliverAtMs: z.int().optional().meta({ description: "A message sent with a delivery time: that time, ms since the epoch" }),
    scheduled: z.boolean().optional().meta({ description: "A message sent with a delivery time: true while it waits; false when the time had passed and it was delivered at once" }),
    duplicate: z.boolean().optional().meta({ description: "The dedup window had this message stored already: nothing was stored, and msgId, queue and offsets are the original's" }),
    transactionId: messageIdText.optional().meta({ description: "A half message (\"transaction\": true): the id that commits or rolls it back" }),
  })
  .meta({ id: "SendResult" });

export const encodingQuery = z.object({ encoding: bodyEncoding.optional().meta({ description: "Force the body encoding of answers (default: utf8 when the body is valid UTF-8)" }) });

/** A time in a query: ms since the epoch or an ISO date-time. */
const epochMs = z.string().regex(/^\d{1,15}$/, { error: "must be ms since the epoch" }).transform(Number).or(z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)));

export const browsePath = z.object({ topic: topicName, queueId: queryInt(0, queuesPerTopicMax - 1) });
export const browseQuery = encodingQuery.extend({
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).optional().meta({ description: "Queue offset to start at (the `nextOffset` of the previous page continues); default the queue's minimum, or the first message stored at or after `from`" }),
  from: epochMs.optional().meta({ description: "Without `offset`: start at the first message stored at or after this time (ms since the epoch or an ISO date-time)" }),
  to: epochMs.optional().meta({ description: "Leave out messages stored at or after this time; `done` says the page reached it" }),
  tags: z.string().max(filterExpressionLengthMax).optional().meta({ description: "A tag expression (`a || b`); messages not matching are left out of the page, and `nextOffset` still moves past them" }),
  sql: z.string().max(filterExpressionLengthMax).optional().meta({ description: "A SQL92 filter over properties (\"region = 'eu' AND price > 30\"), evaluated on the broker like a subscription's; not with tags" }),
  max: queryInt(1, limits.httpBrowseMessagesMax).default(limits.httpBrowseDefault),
  broker: z.string().min(1).max(255).optional().meta({ description: "Cluster: the broker (group) name whose queue to read, needed when the topic is on several" }),
}).refine((query) => query.tags === undefined || query.sql === undefined, { message: "give tags or sql, not both", path: ["sql"] });

export const messageIdPath = z.object({ id: messageIdText });

/** A trace is asked for by msgId, offsetMsgId or message key. */
export const traceIdPath = z.object({ id: z.string().min(1).max(messageKeyLengthMax).meta({ description: "msgId, offsetMsgId or message key" }) });
export const traceQuery = z.object({ topic: topicName.optional().meta({ description: "A trace topic to search besides the brokers' own (where SDK clients were told to write)" }) });

export const messageQuery = encodingQuery.extend({
  topic: topicName,
  key: z.string().min(1).max(messageKeyLengthMax),
  max: queryInt(1, limits.httpMessagesMax).default(limits.httpBrowseDefault),
});

// --- Groups ------------------------------------------------------------------------------------

export const groupPath = z.object({ group: groupName });

/** PUT /groups/{group}/config: the settings to change (protocol/group-config.ts). */
export const groupConfigBody = groupConfigUpdateSchema.omit({ group: true }).strict().meta({ id: "GroupConfigUpdate" });
export const groupConfigView = groupConfigSchema.meta({ id: "GroupConfig" });

export const resetOffsetBody = z
  .strictObject({
    topic: topicName,
    to: z.union([z.enum(["first", "last"]), z.int().min(0)], { error: 'must be "first", "last" or a store timestamp in ms' }).meta({
      description: '"first" (oldest kept), "last" (skip everything) or a timestamp in ms (first message stored at or after it)',
    }),
  })
  .meta({ id: "ResetOffset" });

// --- Pop-style consumption -----------------------------------------------------------------------

export const receiveBody = z
  .strictObject({
    topic: topicName,
    max: z.int().min(1).max(limits.httpMessagesMax).default(limits.httpReceiveDefault),
    invisibleMs: z.int().min(1).max(limits.invisibleMsMax).default(limits.invisibleMsDefault).meta({ description: "How long received messages stay hidden from the group's other consumers unless acked" }),
    waitMs: z.int().min(0).max(limits.receiveWaitMsMax).default(0).meta({ description: "Long poll: hold the request up to this long while nothing is available" }),
    tags: z.string().max(filterExpressionLengthMax).optional().meta({ description: 'Tag filter: "*" or tags joined by "||"' }),
    sql: z.string().max(filterExpressionLengthMax).optional().meta({ description: "SQL92 filter over properties, e.g. \"region = 'eu' AND price > 30\" (not with tags)" }),
    encoding: bodyEncoding.optional(),
  })
  .refine((body) => body.tags === undefined || body.sql === undefined, { message: "give tags or sql, not both", path: ["sql"] })
  .meta({ id: "Receive" });

const receiptHandles = z.array(z.string().min(1).max(limits.receiptHandleLengthMax)).min(1).max(limits.receiptHandlesMax);

export const ackBody = z
  .strictObject({
    receiptHandles,
    topic: topicName.optional().meta({ description: "When given, every handle must belong to this topic" }),
  })
  .meta({ id: "Ack" });

export const nackBody = z
  .strictObject({
    receiptHandles,
    topic: topicName.optional(),
    delayMs: z.int().min(0).max(limits.invisibleMsMax).optional().meta({ description: "Deliver again after this long (0: at once); absent: after the group's back-off" }),
    errorText: z
      .string()
      .refine((text) => new TextEncoder().encode(text).length <= consumeErrorTextBytesMax, { message: `Must be at most ${consumeErrorTextBytesMax} bytes` })
      .optional()
      .meta({ description: "Why the message failed: the reason its DLQ entry gives if it never succeeds" }),
  })
  .meta({ id: "Nack" });

// --- Scheduled messages ----------------------------------------------------------------------


export const timersQuery = z
  .strictObject({
    topic: topicName.optional().meta({ description: "Only messages to be delivered into this topic" }),
    from: epochMs.optional().meta({ description: "Delivery at or after: ms since the epoch or an ISO date-time; default every time" }),
    to: epochMs.optional().meta({ description: "Delivery before: ms since the epoch or an ISO date-time; default no end" }),
    bucketMs: queryInt(scheduledListBucketMsMin, Number.MAX_SAFE_INTEGER).optional().meta({ description: "Width of the count buckets; default 60000" }),
    limit: queryInt(1, scheduledListPageMax).optional().meta({ description: "Messages per page; default 100" }),
    after: z.string().regex(/^\d{1,15}\.[0-9A-Fa-f]{32}$/).optional().meta({ description: "The `next` cursor of the previous page (deliverAtMs.msgId)" }),
  })
  .meta({ id: "TimersQuery" });

export const timerPath = z.object({ msgId: z.string().regex(/^[0-9A-Fa-f]{32}$/).meta({ description: "The scheduled message's msgId: 32 hex characters" }) });

// --- Transactions ------------------------------------------------------------------------------

const transactionId = z.string().regex(/^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/).meta({ description: "A transaction id: the half message's offsetMsgId (32 hex characters, 56 for an IPv6 broker)" });

export const transactionsQuery = z
  .strictObject({
    state: z.enum(["pending", "exhausted"]).default("pending").meta({ description: "pending: waiting for an outcome or the next check-back; exhausted: checked back transactionCheckMax times (or sent over REST) without one" }),
    limit: queryInt(1, transactionListPageMax).optional().meta({ description: "Transactions per page; default 100" }),
    after: transactionId.optional().meta({ description: "The `next` of the previous page" }),
  })
  .meta({ id: "TransactionsQuery" });

export const transactionPath = z.object({ id: transactionId });

export const transactionListing = transactionListingSchema.meta({ id: "TransactionListing" });
export const transactionEndResult = endTransactionResultSchema.meta({ id: "TransactionEndResult" });

// --- Dead letters --------------------------------------------------------------------------------

const deadLetterId = z.string().regex(/^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/).meta({ description: "A DLQ entry's id (offsetMsgId), msgId or origin msgId" });

export const deadLettersQuery = z
  .strictObject({
    from: epochMs.optional().meta({ description: "Entered the DLQ at or after: ms since the epoch or an ISO date-time" }),
    to: epochMs.optional().meta({ description: "Entered the DLQ at or before: ms since the epoch or an ISO date-time" }),
    msgId: deadLetterId.optional().meta({ description: "Only the entry with this id, msgId or origin msgId" }),
    limit: queryInt(1, deadLetterPageMax).optional().meta({ description: "Entries per page; default 100" }),
    after: z.string().regex(/^(?:[^@]+@)?\d{1,10}\.\d{1,15}$/).optional().meta({ description: "The `next` cursor of the previous page" }),
  })
  .meta({ id: "DeadLettersQuery" });

export const redriveBody = z
  .strictObject({
    ids: z.array(deadLetterId).min(1).max(redriveMessagesMax).optional().meta({ description: "Entries by id (offsetMsgId), msgId or origin msgId" }),
    from: z.int().min(0).optional().meta({ description: "Entries that entered the DLQ at or after (ms since the epoch)" }),
    to: z.int().min(0).optional().meta({ description: "...and at or before (ms since the epoch)" }),
    all: z.boolean().optional().meta({ description: "Every entry (needed when neither ids nor a time range is given)" }),
    toTopic: topicName.optional().meta({ description: "Resend here instead of each entry's origin topic" }),
    rate: z.number().positive().max(redriveRatePerSecondMax).optional().meta({ description: "Messages per second at most; default as fast as the broker stores them" }),
    force: z.boolean().optional().meta({ description: "Resend entries a redrive already resent" }),
  })
  .refine((body) => body.ids !== undefined || body.from !== undefined || body.to !== undefined || body.all === true, { message: "is required: name ids, a time range (from, to), or all", path: ["ids"] })
  .meta({ id: "Redrive" });

// --- Console -------------------------------------------------------------------------------------

export const auditQuery = z
  .strictObject({
    after: queryInt(0, Number.MAX_SAFE_INTEGER).optional().meta({ description: "Only entries with a larger `seq` (the last one seen)" }),
    limit: queryInt(1, limits.auditPageMax).optional().meta({ description: `Entries to return, newest last; default ${limits.auditPageMax}` }),
  })
  .meta({ id: "AuditQuery" });

export const seriesQuery = z
  .strictObject({
    since: epochMs.optional().meta({ description: "Only samples taken after this time (ms since the epoch); default the whole hour kept" }),
  })
  .meta({ id: "SeriesQuery" });
