/**
 * The success responses of every request: the fields the broker puts in the response header,
 * as zod schemas the client validates against (a broker of another version, or a buggy one,
 * gives a clear INVALID_FIELD instead of undefined behaviour). Bodies are described beside each.
 * Error responses carry the catalogue code in `code` and the message in `remark` (frame.ts).
 *
 * A result too large for the 64 KiB header (a SEND_BATCH of thousands, a big topic or group
 * table) arrives instead as one msgpack map in the body, marked by the header field
 * `resultInBody: true`: read every result through `readResult` (response-body.ts).
 */

import { z } from "zod";
import { topicNamePattern } from "../common/limits.ts";
import { offsetMsgIdPattern } from "../common/ids.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset } from "../common/offsets.ts";

const topic = z.string().regex(topicNamePattern);
/** Offsets are branded as they are parsed: past this edge they are QueueOffset and PhysicalOffset, never plain numbers. */
const queueOffset = z.int().min(0).transform(toQueueOffset);
const physicalOffset = z.int().min(0).transform(toPhysicalOffset);
/** A group's committed offset, or -1 when it has none. */
const committedOffset = z.int().min(-1).transform((value) => (value === -1 ? -1 : toQueueOffset(value)));
const messageId = z.string().regex(/^[0-9A-Fa-f]{32}$/);
const offsetMsgId = z.string().regex(offsetMsgIdPattern);

/** SEND_MESSAGE (request body: the message body, raw). */
export const sendResultSchema = z.object({
  msgId: messageId,
  offsetMsgId,
  topic,
  queueId: z.int().min(0),
  queueOffset,
  /** A message sent with a delivery time: that time, and whether it is still to come (false: delivered at once). */
  deliverAtMs: z.int().min(0).optional(),
  scheduled: z.boolean().optional(),
  /** The dedup window had this message stored already: msgId, queue and offsets are the original's, nothing was stored. */
  duplicate: z.boolean().optional(),
  /** A half message (transactional send): the id that ends it, its own offsetMsgId. */
  transactionId: offsetMsgId.optional(),
});
export type SendResult = z.infer<typeof sendResultSchema>;

/**
 * SEND_BATCH (request body: batch-body.ts). A batch lands in one queue at consecutive offsets,
 * so the answer is compact: the first queue offset and each record's CommitLog offset. The
 * sender knows its msgIds; offsetMsgId i = encodeOffsetMsgId(storeHost, physicalOffsets[i]).
 */
export const sendBatchResultSchema = z.object({
  topic,
  queueId: z.int().min(0),
  firstQueueOffset: queueOffset,
  /** "ip:port" (an IPv6 ip in brackets: "[::1]:10911") as it appears in offsetMsgIds. */
  storeHost: z.string().regex(/^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/),
  physicalOffsets: z.array(physicalOffset),
  /** A batch holding scheduled messages: each entry's delivery time and whether it is still to come. */
  deliverAtMs: z.array(z.int().min(0)).optional(),
  scheduled: z.array(z.boolean()).optional(),
  /**
   * The entries the dedup window had stored already (absent: none), each answered with its
   * original: physicalOffsets[index] is the original's, and so are these msgId, queue and queue
   * offset. The other entries were stored at consecutive queue offsets from firstQueueOffset.
   */
  duplicates: z.array(z.object({ index: z.int().min(0), msgId: messageId, queueId: z.int().min(0), queueOffset })).optional(),
});
export type SendBatchResult = z.infer<typeof sendBatchResultSchema>;

/**
 * PULL_MESSAGE. Body: the found records, concatenated exactly as stored in the
 * CommitLog (see common/message-record.ts; split with record-stream.ts).
 * - found: the body holds at least one record;
 * - no_new_message: the queue has nothing at queueOffset (after any long-poll hold);
 * - no_matched_message: entries were scanned but none passed the filter; continue at nextOffset;
 * - offset_moved: queueOffset was outside [minOffset, maxOffset]; continue at nextOffset.
 */
export const pullResultSchema = z.object({
  status: z.enum(["found", "no_new_message", "no_matched_message", "offset_moved"]),
  nextOffset: queueOffset,
  minOffset: queueOffset,
  maxOffset: queueOffset,
});
export type PullResult = z.infer<typeof pullResultSchema>;

/**
 * POP_MESSAGE. Body: the handed-out records, concatenated as stored (like PULL_MESSAGE; split
 * with record-stream.ts). Per record i, in body order: receiptHandles[i] settles it (ACK_MESSAGE)
 * or moves its deadline (CHANGE_INVISIBLE_TIME), deliveryAttempts[i] is 1 on the first delivery
 * and one more on each re-delivery. Every record of one answer is hidden from the group's other
 * consumers until invisibleUntilMs (broker clock, ms since the epoch). An empty answer (count 0,
 * no body) means nothing was available within pollTimeMs.
 */
export const popResultSchema = z
  .object({
    count: z.int().min(0),
    invisibleUntilMs: z.int().min(0),
    receiptHandles: z.array(z.string().min(1)),
    deliveryAttempts: z.array(z.int().min(1)),
  })
  .refine((result) => result.receiptHandles.length === result.count && result.deliveryAttempts.length === result.count, { message: "Must hold one receipt handle and one delivery attempt per message", path: ["receiptHandles"] });
export type PopResult = z.infer<typeof popResultSchema>;

/** CHANGE_INVISIBLE_TIME: the message's new handle (the old one stops working) and its new deadline. */
export const changeInvisibleTimeResultSchema = z.object({ receiptHandle: z.string().min(1), invisibleUntilMs: z.int().min(0) });
export type ChangeInvisibleTimeResult = z.infer<typeof changeInvisibleTimeResultSchema>;

/**
 * CONSUMER_SEND_BACK: where the failed message went. `retry`: appended to `%RETRY%<group>`, to be
 * delivered at deliverAtMs; `dead-letter`: its reconsume count passed the max, appended to
 * `%DLQ%<group>`. `duplicate` is set when the same send-back (group, offset, reconsume count) was
 * already stored, and the answer is the first one's.
 */
export const sendBackResultSchema = z.object({
  outcome: z.enum(["retry", "dead-letter"]),
  topic,
  msgId: messageId,
  /** The reconsume count the stored copy carries (RECONSUME_TIME): 1 after the first failure. */
  reconsumeTimes: z.int().min(0),
  deliverAtMs: z.int().min(0).optional(),
  duplicate: z.boolean().optional(),
});
export type SendBackResult = z.infer<typeof sendBackResultSchema>;

/** CONSUMER_SEND_BACK_BATCH: one result per entry, in order — CONSUMER_SEND_BACK's answer, or the catalogue error that refused the entry. */
export const sendBackBatchResultSchema = z.object({
  results: z.array(z.union([sendBackResultSchema, z.object({ error: z.object({ code: z.int(), message: z.string() }) })])),
});
export type SendBackBatchResult = z.infer<typeof sendBackBatchResultSchema>;

/** QUERY_CONSUMER_OFFSET: -1 when the group has never committed an offset for the queue. */
export const consumerOffsetSchema = z.object({ queueOffset: committedOffset });

/** GET_MIN_OFFSET, GET_MAX_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP. */
export const queueOffsetSchema = z.object({ queueOffset });

export const subscriptionSchema = z.object({ topic, expressionType: z.enum(["TAG", "SQL92"]), expression: z.string() });

/** One live member of a consumer group: who it is, where it connects from, what it runs and reads. */
export const groupMemberSchema = z.object({
  clientId: z.string(),
  /** The member's connection address as the broker sees it ("host:port"). */
  host: z.string(),
  /** The client's mq version; absent when the client's heartbeat carries none (older clients). */
  version: z.string().optional(),
  subscriptions: z.array(subscriptionSchema),
});
export type GroupMember = z.infer<typeof groupMemberSchema>;

/** GET_CONSUMER_LIST: the client ids of the group's live members, sorted; members: the same, described (absent from older brokers). */
export const consumerListSchema = z.object({ clientIds: z.array(z.string()), members: z.array(groupMemberSchema).optional() });

/** LOCK_BATCH_MQ: the queues now held by the caller (a subset of those asked for). */
export const lockBatchResultSchema = z.object({ locked: z.array(z.object({ topic, queueId: z.int().min(0) })) });

/** VIEW_MESSAGE_BY_ID and QUERY_MESSAGE_BY_KEY. Body: the records found, concatenated. */
export const messagesFoundSchema = z.object({ count: z.int().min(0) });

export const topicConfigResultSchema = z.object({
  topic,
  readQueues: z.int().min(1),
  writeQueues: z.int().min(1),
  perm: z.int().min(0).max(7),
  order: z.boolean(),
  /** The topic's own dedup window in ms (0: none); absent: the broker's. */
  dedupWindowMs: z.int().min(0).optional(),
});
export type TopicConfig = z.infer<typeof topicConfigResultSchema>;

export const queueStatsSchema = z.object({ queueId: z.int().min(0), minOffset: queueOffset, maxOffset: queueOffset });

/** GET_TOPIC. */
export const topicDetailSchema = topicConfigResultSchema.extend({ queues: z.array(queueStatsSchema) });
export type TopicDetail = z.infer<typeof topicDetailSchema>;

/** LIST_TOPICS. */
export const topicListSchema = z.object({ topics: z.array(topicConfigResultSchema) });

/** LIST_GROUPS. */
export const groupSummarySchema = z.object({
  group: z.string(),
  consumeType: z.enum(["push", "pull", "pop"]).optional(),
  messageModel: z.enum(["clustering", "broadcasting"]).optional(),
  clients: z.int().min(0),
  subscriptions: z.array(subscriptionSchema),
  totalLag: z.int().min(0),
  /** Messages popped (POP_MESSAGE or REST receive) and not yet acked; absent from brokers before pop. */
  inFlight: z.int().min(0).optional(),
});
export const groupListSchema = z.object({ groups: z.array(groupSummarySchema) });

/** GET_GROUP: members, subscriptions and, per queue, the broker's max offset, the group's offset and the lag. */
export const groupDetailSchema = groupSummarySchema.extend({
  clientIds: z.array(z.string()),
  /** The live members in client-id order; absent from older brokers. */
  members: z.array(groupMemberSchema).optional(),
  /** Set when members subscribe differently: reported, never silently overwritten. */
  subscriptionConflict: z.string().optional(),
  queues: z.array(
    z.object({
      topic,
      queueId: z.int().min(0),
      brokerOffset: queueOffset,
      consumerOffset: committedOffset,
      lag: z.int().min(0),
      lockedBy: z.string().optional(),
    }),
  ),
});
export type GroupDetail = z.infer<typeof groupDetailSchema>;

/** RESET_OFFSET: the offsets the group now holds, per queue. */
export const resetOffsetResultSchema = z.object({ queues: z.array(z.object({ topic, queueId: z.int().min(0), queueOffset })) });

/** UPDATE_GROUP_CONFIG and GET_GROUP_CONFIG: the group's whole configuration, defaults applied. */
export { groupConfigSchema as groupConfigResultSchema } from "./group-config.ts";

/** Requests answered with no fields (UPDATE_CONSUMER_OFFSET, HEARTBEAT, topic changes, ...). */
export const emptyResultSchema = z.object({});

// NameServer responses (cluster mode).

/** One broker group's queues of a topic. */
export const queueDataSchema = z.object({
  brokerName: z.string(),
  readQueues: z.int().min(0),
  writeQueues: z.int().min(0),
  perm: z.int().min(0).max(7),
  order: z.boolean(),
});
export type QueueData = z.infer<typeof queueDataSchema>;

const brokerRole = z.enum(["master", "slave"]);

/** One broker group: its live members' addresses by broker id (0 = master). */
export const brokerDataSchema = z.object({
  clusterName: z.string(),
  brokerName: z.string(),
  /** brokerId (as a decimal string key, msgpack maps want string keys) → "host:port". */
  brokerAddrs: z.record(z.string().regex(/^\d+$/), z.string()),
  /** brokerId → role, for the same keys ("0" is the master); absent from NameServers before roles. */
  brokerRoles: z.record(z.string().regex(/^\d+$/), brokerRole).optional(),
});
export type BrokerData = z.infer<typeof brokerDataSchema>;

/**
 * GET_ROUTE: where a topic lives. An unknown topic (or one no live broker carries) is the
 * catalogue's TOPIC_NOT_FOUND; the client turns "no NameServer knows it" into NO_ROUTE.
 */
export const topicRouteSchema = z.object({
  topic,
  queueDatas: z.array(queueDataSchema),
  brokerDatas: z.array(brokerDataSchema),
});
export type TopicRouteData = z.infer<typeof topicRouteSchema>;

/** GET_CLUSTER_INFO: every live broker, for `mq cluster list`. */
export const clusterInfoSchema = z.object({
  brokers: z.array(
    z.object({
      clusterName: z.string(),
      brokerName: z.string(),
      brokerId: z.int().min(0),
      /** Master (id 0) or slave; absent from NameServers before roles. */
      role: brokerRole.optional(),
      brokerAddr: z.string(),
      haAddr: z.string().optional(),
      version: z.string(),
      /** Milliseconds since the NameServer last heard from it. */
      lastHeartbeatAgeMs: z.int().min(0),
      topics: z.int().min(0),
      /** Bytes its store holds, from its last registration; absent when the broker does not report it. */
      storeBytes: z.int().min(0).optional(),
      /** Used share (0..1) of its store's disk, from its last registration; absent when unreported. */
      diskUsedRatio: z.number().min(0).max(1).optional(),
    }),
  ),
});
export type ClusterInfo = z.infer<typeof clusterInfoSchema>;

const scheduledCursor = z.object({ deliverAtMs: z.int().min(0), msgId: messageId });

/** LIST_SCHEDULED_MESSAGES: counts per bucket of the whole match, and one page of messages. */
export const scheduledListingSchema = z.object({
  total: z.int().min(0),
  bucketMs: z.int().min(1),
  buckets: z.array(z.object({ startMs: z.int(), count: z.int().min(0) })),
  bucketsTruncated: z.boolean(),
  messages: z.array(
    z.object({
      msgId: messageId,
      topic,
      queueId: z.int().min(0),
      deliverAtMs: z.int().min(0),
      tags: z.string().optional(),
      bodyBytes: z.int().min(0).optional(),
    }),
  ),
  /** Where the next page starts; absent on the last page. */
  next: scheduledCursor.optional(),
});
export type ScheduledListing = z.infer<typeof scheduledListingSchema>;
export type ScheduledMessageView = ScheduledListing["messages"][number];

/** Which scheduled messages a listing asks for (LIST_SCHEDULED_MESSAGES, the REST timers query, Admin.listScheduled). */
export interface ScheduledListOptions {
  /** Only messages to be delivered into this topic. */
  readonly topic?: string;
  /** Delivery at or after (ms since the epoch); default every time. */
  readonly fromMs?: number;
  /** Delivery before (ms since the epoch); default no end. */
  readonly toMs?: number;
  /** Width of the count buckets (default 60,000, at least 1,000). */
  readonly bucketMs?: number;
  /** The `next` of the previous page. */
  readonly after?: { readonly deliverAtMs: number; readonly msgId: string };
  /** Messages per page (default 100, at most 1,000). */
  readonly limit?: number;
}

export const cancelOutcomes = ["cancelled", "already-delivered", "unknown"] as const;
export type CancelOutcome = (typeof cancelOutcomes)[number];

/** CANCEL_SCHEDULED_MESSAGE. */
export const cancelScheduledResultSchema = z.object({ msgId: messageId, outcome: z.enum(cancelOutcomes) });

const deadLetterEntrySchema = z.object({
  id: z.string(),
  msgId: z.string().optional(),
  originTopic: z.string().optional(),
  originMsgId: z.string().optional(),
  reconsumeTimes: z.int().min(0),
  firstFailureMs: z.number().optional(),
  lastFailureMs: z.number().optional(),
  clientId: z.string().optional(),
  errorText: z.string().optional(),
  storeTimestampMs: z.int().min(0),
  queueId: z.int().min(0),
  queueOffset: z.int().min(0),
  tags: z.string().optional(),
  keys: z.array(z.string()),
  bodyBytes: z.int().min(0),
  redriven: z.boolean(),
});

/** LIST_DEAD_LETTERS: one page of a group's DLQ entries; `next` absent on the last page. */
export const deadLetterPageSchema = z.object({
  entries: z.array(deadLetterEntrySchema),
  next: z.object({ queueId: z.int().min(0), queueOffset: z.int().min(0) }).optional(),
});
export type DeadLetterPage = z.infer<typeof deadLetterPageSchema>;
export type DeadLetterView = DeadLetterPage["entries"][number];

const redriveResultSchema = z.discriminatedUnion("status", [
  z.object({ id: z.string(), originMsgId: z.string().optional(), status: z.literal("resent"), topic: z.string(), msgId: z.string() }),
  z.object({ id: z.string(), originMsgId: z.string().optional(), status: z.literal("failed"), reason: z.string() }),
]);

/** REDRIVE_DEAD_LETTERS: one result per entry it took up; `missing`: ids naming no entry on this broker. */
export const redriveAnswerSchema = z.object({ results: z.array(redriveResultSchema), missing: z.array(z.string()) });
export type RedriveAnswer = z.infer<typeof redriveAnswerSchema>;
export type RedriveResult = RedriveAnswer["results"][number];

export const transactionResolutions = ["commit", "rollback", "unknown"] as const;
export type TransactionResolutionAnswer = (typeof transactionResolutions)[number];

/** The producer's answer to CHECK_TRANSACTION_STATE. */
export const checkTransactionAnswerSchema = z.object({ resolution: z.enum(transactionResolutions) });

/**
 * END_TRANSACTION: how the transaction stands now. `already`: it had ended so before (nothing
 * written now); `committed`: the message this call committed. "unknown" answers state "pending".
 */
export const endTransactionResultSchema = z.object({
  transactionId: offsetMsgId,
  msgId: messageId,
  state: z.enum(["committed", "rolled_back", "pending"]),
  already: z.boolean(),
  committed: z.object({ queueId: z.int().min(0), queueOffset: z.int().min(0), offsetMsgId }).optional(),
});
export type EndTransactionResult = z.infer<typeof endTransactionResultSchema>;

/** One pending or exhausted transaction, as LIST_TRANSACTIONS, the REST API and the CLI show it. */
export const transactionViewSchema = z.object({
  transactionId: offsetMsgId,
  msgId: messageId,
  producerGroup: z.string(),
  topic: z.string(),
  state: z.enum(["pending", "exhausted"]),
  storedMs: z.int().min(0),
  ageMs: z.int().min(0),
  checks: z.int().min(0),
  nextCheckMs: z.int().min(0).optional(),
});
export type TransactionView = z.infer<typeof transactionViewSchema>;

/** LIST_TRANSACTIONS: one page, oldest first; `next` (the last id) absent on the last page. */
export const transactionListingSchema = z.object({
  transactions: z.array(transactionViewSchema),
  total: z.int().min(0),
  next: offsetMsgId.optional(),
});
export type TransactionListing = z.infer<typeof transactionListingSchema>;
/** QUERY_MESSAGE_TRACE: `count` hops, JSON in the body (an array of trace hops, trace-record.ts). */
export const traceFoundSchema = z.object({ count: z.int().min(0) });

/** END_TRANSACTION_BATCH's per-entry states (endTransactionBatchAnswerSchema's `states`). */
export const transactionEndState = { refused: 0, committed: 1, committedBefore: 2, rolledBack: 3, rolledBackBefore: 4 } as const;

/**
 * END_TRANSACTION_BATCH (request: schemas.ts). The answer is columns, entry i answering
 * transactionIds[i] (the sender knows its ids), so a thousand ends cost no map each:
 *   states[i]       transactionEndState: 1 committed by this request, 2 committed before
 *                   (`already`), 3 rolled back by this request, 4 rolled back before, 0 refused
 *   msgIds[i]       the message's msgId ("" for a refused entry)
 *   queueIds[i], queueOffsets[i], physicalOffsets[i]
 *                   where the message this request committed is (0 for the others); its
 *                   offsetMsgId is the transaction id's broker part (all but its last 16 hex
 *                   digits) followed by physicalOffsets[i] in 16 hex digits
 *   errors          the refused entries: `index`, and the catalogue error's `code` and `message`
 */
export const endTransactionBatchAnswerSchema = z.object({
  states: z.array(z.int().min(0).max(4)),
  msgIds: z.array(z.union([messageId, z.literal("")])),
  queueIds: z.array(z.int().min(0)),
  queueOffsets: z.array(queueOffset),
  physicalOffsets: z.array(physicalOffset),
  errors: z.array(z.object({ index: z.int().min(0), code: z.int(), message: z.string() })).optional(),
});
export type EndTransactionBatchAnswer = z.infer<typeof endTransactionBatchAnswerSchema>;

/** One END_TRANSACTION_BATCH entry's result, as the client gives it: END_TRANSACTION's answer, or the catalogue error that refused it. */
export const endTransactionBatchResultSchema = z.object({
  results: z.array(
    z.union([
      endTransactionResultSchema,
      z.object({ transactionId: offsetMsgId, error: z.object({ code: z.int(), message: z.string() }) }),
    ]),
  ),
});
export type EndTransactionBatchResult = z.infer<typeof endTransactionBatchResultSchema>;
