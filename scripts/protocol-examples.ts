/**
 * The example frames of src/protocol/README.md: one request and its success response per request
 * code (except the reserved ones), and a few error frames. `scripts/protocol-readme.ts` prints
 * them as annotated hex into the README; test/unit/protocol/readme-examples.test.ts checks that
 * each hex block in the README is exactly the encoding of its example here and decodes with the
 * real codec into fields the request and response schemas accept.
 *
 * Values are fixed (no clock, no randomness) so the README is the same on every run. Ids come
 * from the real generators (MsgIdGenerator, encodeOffsetMsgId), so they show the real formats.
 */

import { Packr } from "msgpackr";
import type { z } from "zod";
import { encodeOffsetMsgId, MsgIdGenerator } from "../src/common/ids.ts";
import { physicalOffset as toPhysicalOffset } from "../src/common/offsets.ts";
import { encodePropertiesText, propertyNames } from "../src/common/message-properties.ts";
import { ipv4ToNumber, recordBytes, writeRecord } from "../src/common/message-record.ts";
import { encodeBatchBody } from "../src/protocol/batch-body.ts";
import { encodeRegisterBrokerBody } from "../src/protocol/broker-registration.ts";
import { FrameFlag, type FrameInput } from "../src/protocol/frame.ts";
import { RequestCode, type RequestCodeName } from "../src/protocol/request-codes.ts";
import * as responses from "../src/protocol/responses.ts";

/** How a body is laid out, so the README can annotate it and the test can decode it. */
export type BodyKind = "none" | "raw" | "batch" | "records" | "register-broker" | "result";

export interface FrameExample {
  /** The README marks each hex block with `<!-- example: NAME -->`. */
  readonly name: string;
  /** The request code this frame is (a request) or answers (a response). */
  readonly request: RequestCodeName;
  readonly frame: FrameInput;
  readonly body: BodyKind;
  /** Success responses: the schema their result must pass (responses.ts). */
  readonly resultSchema?: z.ZodType;
}

/** Request codes no broker or client handles yet: a request gets UNKNOWN_REQUEST_CODE (1003). */
export const reservedRequestCodes: readonly RequestCodeName[] = [];

const textEncoder = new TextEncoder();
const bytes = (text: string): Uint8Array => textEncoder.encode(text);

// 2025-12-07 08:00:00 UTC, and what follows it.
const bornTimestampMs = 1_765_094_400_000;
const storeTimestampMs = bornTimestampMs + 3;

const msgIds = new MsgIdGenerator({ ip: "10.0.0.5", pid: 0x1234, instanceHash: 0x9abcdef0 }, () => bornTimestampMs);
export const exampleMsgId = msgIds.next();
const batchMsgIds = [msgIds.next(), msgIds.next()];

export const exampleStoreHost = { host: "10.0.0.1", port: 10911 };
const physicalOffset = toPhysicalOffset(4096);
export const exampleOffsetMsgId = encodeOffsetMsgId({ ...exampleStoreHost, physicalOffset });
export const exampleClientId = "10.0.0.5@4660@9abcdef0";
const brokerAddr = `${exampleStoreHost.host}:${exampleStoreHost.port}`;
const slaveAddr = "10.0.0.2:10911";
const handle = "k3x9qa.1.7.1";
const topic = "Orders";
const group = "billing";

/** The message stored by the SEND_MESSAGE example, as pulls, pops and lookups return it. */
export function exampleRecord(): Uint8Array {
  const properties = { region: "eu", [propertyNames.tags]: "created", [propertyNames.keys]: "order-1", [propertyNames.msgId]: exampleMsgId };
  const input = {
    topicBytes: bytes(topic),
    queueId: 1,
    flag: 0,
    sysFlag: 0,
    bornTimestampMs,
    bornHost: { ip: ipv4ToNumber("10.0.0.5"), port: 52_000 },
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    body: bytes("hello"),
    propertiesBytes: bytes(encodePropertiesText(properties)),
  };
  const record = new Uint8Array(recordBytes(input));
  writeRecord(record, new DataView(record.buffer), 0, input, { queueOffset: 7, physicalOffset, storeTimestampMs, storeHost: { ip: ipv4ToNumber(exampleStoreHost.host), port: exampleStoreHost.port } });
  return record;
}

const topicConfig = { topic, readQueues: 4, writeQueues: 4, perm: 6, order: false };
const subscriptions = [{ topic, expressionType: "TAG", expression: "created || paid" }];

const resultPackr = new Packr({ useRecords: false });

/** A result moved into the body: one msgpack map (plain maps, as response-body.ts writes it). */
function packResult(result: Record<string, unknown>): Uint8Array {
  return resultPackr.pack(result).slice();
}

let nextOpaque = 1;

/** A request and its success response, numbered with the next opaque. */
function exchange(
  name: RequestCodeName,
  request: { fields: Record<string, unknown>; body?: Uint8Array; bodyKind?: BodyKind },
  response: { fields: Record<string, unknown>; body?: Uint8Array; bodyKind?: BodyKind; schema: z.ZodType },
): FrameExample[] {
  const opaque = nextOpaque++;
  return [
    { name: `${name} request`, request: name, frame: { code: RequestCode[name], opaque, fields: request.fields, body: request.body }, body: request.bodyKind ?? "none" },
    {
      name: `${name} response`,
      request: name,
      frame: { code: 0, opaque, flags: FrameFlag.response, fields: response.fields, body: response.body },
      body: response.bodyKind ?? "none",
      resultSchema: response.schema,
    },
  ];
}

/** A oneway request from the broker: no response. */
function oneway(name: RequestCodeName, fields: Record<string, unknown>): FrameExample {
  return { name: `${name} request`, request: name, frame: { code: RequestCode[name], opaque: nextOpaque++, flags: FrameFlag.oneway, fields }, body: "none" };
}

const empty = { fields: {}, schema: responses.emptyResultSchema };
const groupSummary = { group, consumeType: "push", messageModel: "clustering", clients: 1, subscriptions, totalLag: 2, inFlight: 0 };

export const frameExamples: readonly FrameExample[] = [
  ...exchange(
    "SEND_MESSAGE",
    { fields: { producerGroup: "shop", topic, queueId: 1, msgId: exampleMsgId, bornTimestampMs, tags: "created", keys: ["order-1"], properties: { region: "eu" } }, body: bytes("hello"), bodyKind: "raw" },
    { fields: { msgId: exampleMsgId, offsetMsgId: exampleOffsetMsgId, topic, queueId: 1, queueOffset: 7 }, schema: responses.sendResultSchema },
  ),
  ...exchange(
    "SEND_BATCH",
    {
      fields: { producerGroup: "shop", topic, queueId: 0, messageCount: 2, bornTimestampMs },
      body: encodeBatchBody([
        { msgId: batchMsgIds[0]!, tags: "a", body: bytes("x") },
        { msgId: batchMsgIds[1]!, keys: ["k1", "k2"], body: bytes("yz") },
      ]),
      bodyKind: "batch",
    },
    { fields: { topic, queueId: 0, firstQueueOffset: 8, storeHost: brokerAddr, physicalOffsets: [4205, 4306] }, schema: responses.sendBatchResultSchema },
  ),
  ...exchange(
    "PULL_MESSAGE",
    { fields: { consumerGroup: group, topic, queueId: 1, queueOffset: 7, maxMessages: 32, suspendTimeoutMs: 15_000, filter: { expressionType: "TAG", expression: "created || paid" } } },
    { fields: { status: "found", nextOffset: 8, minOffset: 0, maxOffset: 8 }, body: exampleRecord(), bodyKind: "records", schema: responses.pullResultSchema },
  ),
  ...exchange(
    "POP_MESSAGE",
    { fields: { consumerGroup: group, topic, maxMessages: 16, invisibleTimeMs: 30_000, pollTimeMs: 5_000 } },
    { fields: { count: 1, invisibleUntilMs: storeTimestampMs + 30_000, receiptHandles: [handle], deliveryAttempts: [1] }, body: exampleRecord(), bodyKind: "records", schema: responses.popResultSchema },
  ),
  ...exchange("ACK_MESSAGE", { fields: { consumerGroup: group, topic, receiptHandle: handle } }, empty),
  ...exchange(
    "CHANGE_INVISIBLE_TIME",
    { fields: { consumerGroup: group, topic, receiptHandle: handle, invisibleTimeMs: 10_000 } },
    { fields: { receiptHandle: "k3x9qa.1.7.2", invisibleUntilMs: storeTimestampMs + 10_000 }, schema: responses.changeInvisibleTimeResultSchema },
  ),
  ...exchange("QUERY_CONSUMER_OFFSET", { fields: { consumerGroup: group, topic, queueId: 1 } }, { fields: { queueOffset: -1 }, schema: responses.consumerOffsetSchema }),
  ...exchange("UPDATE_CONSUMER_OFFSET", { fields: { consumerGroup: group, topic, queueId: 1, queueOffset: 8 } }, empty),
  ...exchange("GET_MIN_OFFSET", { fields: { topic, queueId: 1 } }, { fields: { queueOffset: 0 }, schema: responses.queueOffsetSchema }),
  ...exchange("GET_MAX_OFFSET", { fields: { topic, queueId: 1 } }, { fields: { queueOffset: 8 }, schema: responses.queueOffsetSchema }),
  ...exchange("SEARCH_OFFSET_BY_TIMESTAMP", { fields: { topic, queueId: 1, timestampMs: bornTimestampMs } }, { fields: { queueOffset: 7 }, schema: responses.queueOffsetSchema }),
  ...exchange(
    "RESET_OFFSET",
    { fields: { consumerGroup: group, topic, to: "first" } },
    { fields: { queues: [{ topic, queueId: 0, queueOffset: 0 }, { topic, queueId: 1, queueOffset: 0 }] }, schema: responses.resetOffsetResultSchema },
  ),
  ...exchange("VIEW_MESSAGE_BY_ID", { fields: { offsetMsgId: exampleOffsetMsgId } }, { fields: { count: 1 }, body: exampleRecord(), bodyKind: "records", schema: responses.messagesFoundSchema }),
  ...exchange("QUERY_MESSAGE_BY_KEY", { fields: { topic, key: "order-1", maxResults: 16 } }, { fields: { count: 1 }, body: exampleRecord(), bodyKind: "records", schema: responses.messagesFoundSchema }),
  ...exchange(
    "HEARTBEAT",
    { fields: { clientId: exampleClientId, consumers: [{ consumerGroup: group, consumeType: "push", messageModel: "clustering", consumeFromWhere: "last", subscriptions }] } },
    empty,
  ),
  ...exchange("UNREGISTER_CLIENT", { fields: { clientId: exampleClientId, consumerGroup: group } }, empty),
  ...exchange("GET_CONSUMER_LIST", { fields: { consumerGroup: group } }, { fields: { clientIds: [exampleClientId, "10.0.0.6@811@00c0ffee"] }, schema: responses.consumerListSchema }),
  ...exchange(
    "LOCK_BATCH_MQ",
    { fields: { consumerGroup: group, clientId: exampleClientId, queues: [{ topic, queueId: 0 }, { topic, queueId: 1 }] } },
    { fields: { locked: [{ topic, queueId: 0 }] }, schema: responses.lockBatchResultSchema },
  ),
  ...exchange("UNLOCK_BATCH_MQ", { fields: { consumerGroup: group, clientId: exampleClientId, queues: [{ topic, queueId: 0 }] } }, empty),
  ...exchange("CREATE_TOPIC", { fields: { ...topicConfig } }, { fields: { ...topicConfig }, schema: responses.topicConfigResultSchema }),
  ...exchange("UPDATE_TOPIC", { fields: { topic, readQueues: 8, writeQueues: 8 } }, { fields: { ...topicConfig, readQueues: 8, writeQueues: 8 }, schema: responses.topicConfigResultSchema }),
  ...exchange("DELETE_TOPIC", { fields: { topic } }, empty),
  ...exchange(
    "GET_TOPIC",
    { fields: { topic } },
    { fields: { ...topicConfig, readQueues: 2, writeQueues: 2, queues: [{ queueId: 0, minOffset: 0, maxOffset: 5 }, { queueId: 1, minOffset: 0, maxOffset: 8 }] }, schema: responses.topicDetailSchema },
  ),
  ...exchange("LIST_TOPICS", { fields: {} }, { fields: { topics: [topicConfig] }, schema: responses.topicListSchema }),
  ...exchange("LIST_GROUPS", { fields: {} }, { fields: { groups: [groupSummary] }, schema: responses.groupListSchema }),
  ...exchange(
    "GET_GROUP",
    { fields: { consumerGroup: group } },
    {
      fields: { ...groupSummary, clientIds: [exampleClientId], queues: [{ topic, queueId: 0, brokerOffset: 5, consumerOffset: 5, lag: 0 }, { topic, queueId: 1, brokerOffset: 8, consumerOffset: 6, lag: 2, lockedBy: exampleClientId }] },
      schema: responses.groupDetailSchema,
    },
  ),
  ...exchange(
    "CONSUMER_SEND_BACK",
    { fields: { consumerGroup: group, physicalOffset: 4096, originMsgId: exampleMsgId, originTopic: topic, clientId: exampleClientId, errorText: "Error: card declined" } },
    { fields: { outcome: "retry", topic: `%RETRY%${group}`, msgId: exampleMsgId, reconsumeTimes: 1, deliverAtMs: storeTimestampMs + 10_000 }, schema: responses.sendBackResultSchema },
  ),
  ...exchange(
    "CONSUMER_SEND_BACK_BATCH",
    {
      fields: {
        consumerGroup: group,
        clientId: exampleClientId,
        entries: [
          { physicalOffset: 4096, originMsgId: exampleMsgId, originTopic: topic, errorText: "Error: card declined" },
          { physicalOffset: 999_999, originMsgId: exampleMsgId, originTopic: topic, errorText: "Error: card declined" },
        ],
      },
    },
    {
      fields: { results: [{ outcome: "retry", topic: `%RETRY%${group}`, msgId: exampleMsgId, reconsumeTimes: 1, deliverAtMs: storeTimestampMs + 10_000 }, { error: { code: 3003, message: `Cannot find message "${exampleMsgId} at offset 999999"` } }] },
      schema: responses.sendBackBatchResultSchema,
    },
  ),
  ...exchange(
    "UPDATE_GROUP_CONFIG",
    { fields: { group, maxReconsumeTimes: 5, backoff: { kind: "exponential", initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.1 } } },
    { fields: { group, maxReconsumeTimes: 5, backoff: { kind: "exponential", initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.1 }, consumeEnable: true, orderly: false }, schema: responses.groupConfigResultSchema },
  ),
  ...exchange("GET_GROUP_CONFIG", { fields: { group } }, { fields: { group, maxReconsumeTimes: 16, backoff: { kind: "levels" }, consumeEnable: true, orderly: false }, schema: responses.groupConfigResultSchema }),
  ...exchange(
    "LIST_SCHEDULED_MESSAGES",
    { fields: { topic, fromMs: bornTimestampMs, limit: 1 } },
    {
      fields: {
        total: 2,
        bucketMs: 60_000,
        buckets: [{ startMs: bornTimestampMs + 60_000, count: 2 }],
        bucketsTruncated: false,
        messages: [{ msgId: exampleMsgId, topic, queueId: 1, deliverAtMs: bornTimestampMs + 90_000, tags: "paid", bodyBytes: 5 }],
        next: { deliverAtMs: bornTimestampMs + 90_000, msgId: exampleMsgId },
      },
      schema: responses.scheduledListingSchema,
    },
  ),
  ...exchange("CANCEL_SCHEDULED_MESSAGE", { fields: { msgId: exampleMsgId } }, { fields: { msgId: exampleMsgId, outcome: "cancelled" }, schema: responses.cancelScheduledResultSchema }),
  ...exchange(
    "LIST_DEAD_LETTERS",
    { fields: { consumerGroup: group, fromMs: bornTimestampMs, limit: 1 } },
    {
      fields: {
        entries: [
          {
            id: exampleOffsetMsgId,
            msgId: exampleMsgId,
            originTopic: topic,
            originMsgId: exampleMsgId,
            reconsumeTimes: 16,
            firstFailureMs: bornTimestampMs + 1_000,
            lastFailureMs: bornTimestampMs + 9_000,
            clientId: exampleClientId,
            errorText: "Error: bad order",
            storeTimestampMs: bornTimestampMs + 9_001,
            queueId: 0,
            queueOffset: 0,
            tags: "paid",
            keys: ["order-1"],
            bodyBytes: 5,
            redriven: false,
          },
        ],
        next: { queueId: 0, queueOffset: 1 },
      },
      schema: responses.deadLetterPageSchema,
    },
  ),
  ...exchange(
    "REDRIVE_DEAD_LETTERS",
    { fields: { consumerGroup: group, ids: [exampleMsgId], ratePerSecond: 100 } },
    { fields: { results: [{ id: exampleOffsetMsgId, originMsgId: exampleMsgId, status: "resent", topic, msgId: exampleMsgId }], missing: [] }, schema: responses.redriveAnswerSchema },
  ),
  ...exchange(
    "END_TRANSACTION",
    { fields: { transactionId: exampleOffsetMsgId, resolution: "commit", producerGroup: "shop", msgId: exampleMsgId } },
    { fields: { transactionId: exampleOffsetMsgId, msgId: exampleMsgId, state: "committed", already: false, committed: { queueId: 1, queueOffset: 8, offsetMsgId: encodeOffsetMsgId({ ...exampleStoreHost, physicalOffset: toPhysicalOffset(8192) }) } }, schema: responses.endTransactionResultSchema },
  ),
  ...exchange(
    "CHECK_TRANSACTION_STATE",
    { fields: { producerGroup: "shop", topic, msgId: exampleMsgId, transactionId: exampleOffsetMsgId, checkTimes: 0, storeTimestampMs, keys: ["order-1"] }, body: bytes("hello"), bodyKind: "raw" },
    { fields: { resolution: "commit" }, schema: responses.checkTransactionAnswerSchema },
  ),
  ...exchange(
    "END_TRANSACTION_BATCH",
    { fields: { transactionIds: [exampleOffsetMsgId, encodeOffsetMsgId({ ...exampleStoreHost, physicalOffset: toPhysicalOffset(4352) })], resolutions: ["commit", "rollback"], producerGroup: "shop" } },
    {
      fields: {
        states: [responses.transactionEndState.committed, responses.transactionEndState.refused],
        msgIds: [exampleMsgId, ""],
        queueIds: [1, 0],
        queueOffsets: [8, 0],
        physicalOffsets: [8192, 0],
        errors: [{ index: 1, code: 3041, message: "Cannot roll back transaction \"0A00000100002A9F0000000000001100\": it was already committed" }],
      },
      schema: responses.endTransactionBatchAnswerSchema,
    },
  ),
  ...exchange(
    "LIST_TRANSACTIONS",
    { fields: { state: "pending", limit: 1 } },
    {
      fields: {
        transactions: [{ transactionId: exampleOffsetMsgId, msgId: exampleMsgId, producerGroup: "shop", topic, state: "pending", storedMs: storeTimestampMs, ageMs: 36_000, checks: 2, nextCheckMs: storeTimestampMs + 96_000 }],
        total: 3,
        next: exampleOffsetMsgId,
      },
      schema: responses.transactionListingSchema,
    },
  ),
  ...exchange(
    "QUERY_MESSAGE_TRACE",
    { fields: { id: exampleMsgId } },
    {
      fields: { count: 1 },
      body: bytes(JSON.stringify([{ hop: "stored", msgId: exampleMsgId, topic, host: brokerAddr, timeMs: storeTimestampMs, status: "ok", queueId: 0, queueOffset: 0, storeTimeMs: storeTimestampMs, offsetMsgId: exampleOffsetMsgId }])),
      bodyKind: "raw",
      schema: responses.traceFoundSchema,
    },
  ),
  oneway("NOTIFY_CONSUMER_IDS_CHANGED", { consumerGroup: group }),
  oneway("RESET_CONSUMER_CLIENT_OFFSET", { consumerGroup: group, topic, queues: [{ queueId: 0, queueOffset: 0 }, { queueId: 1, queueOffset: 0 }] }),
  ...exchange(
    "REGISTER_BROKER",
    { fields: { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr, haAddr: "10.0.0.1:10912", version: "0.1.0", dataVersion: 3 }, body: encodeRegisterBrokerBody([topicConfig]), bodyKind: "register-broker" },
    empty,
  ),
  ...exchange("UNREGISTER_BROKER", { fields: { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, brokerAddr } }, empty),
  ...exchange(
    "GET_ROUTE",
    { fields: { topic } },
    {
      fields: { topic, queueDatas: [{ brokerName: "broker-a", readQueues: 4, writeQueues: 4, perm: 6, order: false }], brokerDatas: [{ clusterName: "DefaultCluster", brokerName: "broker-a", brokerAddrs: { "0": brokerAddr, "1": slaveAddr }, brokerRoles: { "0": "master", "1": "slave" } }] },
      schema: responses.topicRouteSchema,
    },
  ),
  ...exchange(
    "GET_CLUSTER_INFO",
    { fields: {} },
    {
      fields: {
        brokers: [
          { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 0, role: "master", brokerAddr, haAddr: "10.0.0.1:10912", version: "0.1.0", lastHeartbeatAgeMs: 1_200, topics: 3 },
          { clusterName: "DefaultCluster", brokerName: "broker-a", brokerId: 1, role: "slave", brokerAddr: slaveAddr, version: "0.1.0", lastHeartbeatAgeMs: 8_400, topics: 3 },
        ],
      },
      schema: responses.clusterInfoSchema,
    },
  ),
];

/** Error frames and a result moved into the body. */
export const otherExamples: readonly FrameExample[] = [
  {
    name: "error response",
    request: "GET_MAX_OFFSET",
    frame: { code: 2001, opaque: 90, flags: FrameFlag.response, remark: 'Cannot find topic "Nope"', errorName: "TOPIC_NOT_FOUND" },
    body: "none",
  },
  {
    name: "frame error at opaque 0",
    request: "GET_MAX_OFFSET",
    frame: { code: 1001, opaque: 0, flags: FrameFlag.response, remark: "Cannot decode frame: header is not a map", errorName: "MALFORMED_FRAME" },
    body: "none",
  },
  {
    name: "result in body",
    request: "LIST_TOPICS",
    frame: { code: 0, opaque: 91, flags: FrameFlag.response, fields: { resultInBody: true }, body: packResult({ topics: [topicConfig] }) },
    body: "result",
    resultSchema: responses.topicListSchema,
  },
];

/**
 * The hot codes' requests and answers again with their compact header (README §3.1): the same
 * fields, by position. The PULL_MESSAGE answer is an empty one, so the record is not shown twice.
 */
export const compactExamples: readonly FrameExample[] = (["SEND_MESSAGE", "SEND_BATCH", "PULL_MESSAGE"] as const).flatMap((name) => {
  const [request, response] = frameExamples.filter((example) => example.request === name && !example.name.includes("("));
  const opaque = nextOpaque++;
  const answer: FrameExample =
    name === "PULL_MESSAGE"
      ? { ...response!, frame: { ...response!.frame, fields: { status: "no_new_message", nextOffset: 8, minOffset: 0, maxOffset: 8 }, body: undefined }, body: "none" }
      : response!;
  return [
    { ...request!, name: `${name} request (compact)`, frame: { ...request!.frame, opaque, compact: true } },
    { ...answer, name: `${name} response (compact)`, frame: { ...answer.frame, opaque, compact: true, requestCode: RequestCode[name] } },
  ];
});

export const allExamples: readonly FrameExample[] = [...frameExamples, ...otherExamples, ...compactExamples];
