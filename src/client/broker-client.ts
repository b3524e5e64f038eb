/**
 * Typed requests to one broker: each method sends one request code with its fields and checks
 * the success response against its schema in protocol/responses.ts, so a broker of another
 * version (or a buggy one) gives a clear INVALID_FIELD instead of undefined behaviour later.
 * Error responses arrive as MqError carrying the catalogue code (the Channel builds them).
 * Results too large for a header arrive in the body (`resultInBody`); `call` reads either.
 */

import type { z } from "zod";
import { MqError } from "../common/errors.ts";
import { offsetHex, offsetMsgIdPattern, offsetMsgIdPrefix } from "../common/ids.ts";
import { splitHostPort } from "../common/ip-address.ts";
import { type PhysicalOffset, queueOffset as toQueueOffset, queueOffsetPlus, type QueueOffset } from "../common/offsets.ts";
import { type StoredMessage } from "../common/message-record.ts";
import type { Frame } from "../protocol/frame.ts";
import { splitRecords } from "../protocol/record-stream.ts";
import { readResult } from "../protocol/response-body.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import * as responses from "../protocol/responses.ts";
import type { GroupConfig } from "../protocol/group-config.ts";
import { type RequestFieldsInput, validateFields } from "../protocol/schemas.ts";
import type { ConnectionPool } from "./connection-pool.ts";
import { mqVersion } from "../version.ts";
import { type TraceHop, traceHopsSchema } from "../protocol/trace-record.ts";

export interface CallOptions {
  readonly body?: Uint8Array;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export type Fields<C extends number> = RequestFieldsInput<C>;

export interface PullResponse extends responses.PullResult {
  readonly messages: StoredMessage[];
}

export interface PopResponse {
  readonly invisibleUntilMs: number;
  /** Each popped record with its receipt handle and delivery attempt (1 = first delivery). */
  readonly messages: Array<{ readonly message: StoredMessage; readonly receiptHandle: string; readonly deliveryAttempt: number }>;
}

export class BrokerClient {
  constructor(readonly pool: ConnectionPool) {}

  /** Sends a request and checks the success response's header against `schema`. */
  async call<C extends number, S extends z.ZodType>(address: string, code: C, fields: Fields<C>, schema: S, options: CallOptions = {}): Promise<{ fields: z.output<S>; frame: Frame }> {
    const frame = await this.pool.request(address, { code, fields, body: options.body, timeoutMs: options.timeoutMs, signal: options.signal });
    // A result too large for the header travels in the body (response-body.ts).
    const checked = validateFields(schema, readResult(frame));
    if (!checked.ok) {
      throw new MqError("INVALID_FIELD", { field: `response.${checked.error.params.field}`, reason: String(checked.error.params.reason) });
    }
    return { fields: checked.fields as z.output<S>, frame };
  }

  async sendMessage(address: string, fields: Fields<typeof RequestCode.SEND_MESSAGE>, body: Uint8Array, options: CallOptions = {}): Promise<responses.SendResult> {
    // The per-message path checks by hand (STYLE §10: zod at the edges, not per message).
    const frame = await this.pool.request(address, { code: RequestCode.SEND_MESSAGE, fields, body, timeoutMs: options.timeoutMs, signal: options.signal });
    return checkSendResult(readResult(frame), "response");
  }

  /** One result per message id given, in order (the broker answers compactly: responses.ts). */
  async sendBatch(address: string, fields: Fields<typeof RequestCode.SEND_BATCH>, body: Uint8Array, msgIds: readonly string[], options: CallOptions = {}): Promise<responses.SendResult[]> {
    const frame = await this.pool.request(address, { code: RequestCode.SEND_BATCH, fields, body, timeoutMs: options.timeoutMs, signal: options.signal });
    const result = readResult(frame);
    // The offsets, one per message, are checked by hand: zod per element costs more than the send.
    const physicalOffsets = checkOffsets(result.physicalOffsets, msgIds.length);
    const checked = validateFields(sendBatchSummarySchema, result); // the rest, once per batch
    if (!checked.ok) throw new MqError("INVALID_FIELD", { field: `response.${checked.error.params.field}`, reason: String(checked.error.params.reason) });
    const { topic, queueId, firstQueueOffset, storeHost, deliverAtMs, scheduled, duplicates } = checked.fields;
    const { host, port } = splitHostPort(storeHost)!; // the schema checked its shape
    const prefix = offsetMsgIdPrefix(host, port); // once per batch: parsing the host is the dear part
    const duplicateAt = duplicates === undefined ? undefined : new Map(duplicates.map((duplicate) => [duplicate.index, duplicate]));
    // Stored entries take consecutive queue offsets. A batch holding a scheduled message is stored
    // whole as timer records, each taking its queue offset when delivered; one whose delivery
    // times had all passed is stored in its real topic like a plain batch (all scheduled: false).
    const timers = deliverAtMs !== undefined && (scheduled === undefined || scheduled.includes(true));
    const results = new Array<responses.SendResult>(msgIds.length);
    let storedIndex = 0;
    for (let index = 0; index < msgIds.length; index++) {
      const offsetMsgId = prefix + offsetHex(physicalOffsets[index]!);
      const duplicate = duplicateAt?.get(index);
      if (duplicate !== undefined) {
        results[index] = { msgId: duplicate.msgId, offsetMsgId, topic, queueId: duplicate.queueId, queueOffset: duplicate.queueOffset, duplicate: true };
        continue;
      }
      const queueOffset = timers ? toQueueOffset(0) : queueOffsetPlus(firstQueueOffset, storedIndex);
      storedIndex += 1;
      const sent: responses.SendResult = { msgId: msgIds[index]!, offsetMsgId, topic, queueId, queueOffset };
      results[index] = deliverAtMs?.[index] === undefined ? sent : { ...sent, deliverAtMs: deliverAtMs[index], scheduled: scheduled?.[index] ?? true };
    }
    return results;
  }

  async pull(address: string, fields: Fields<typeof RequestCode.PULL_MESSAGE>, options: CallOptions = {}): Promise<PullResponse> {
    const frame = await this.pool.request(address, { code: RequestCode.PULL_MESSAGE, fields, timeoutMs: options.timeoutMs, signal: options.signal });
    const header = frame.header;
    const status = header.status;
    if (status !== "found" && status !== "no_new_message" && status !== "no_matched_message" && status !== "offset_moved") throw badResponse("response.status", status);
    return {
      status,
      nextOffset: checkQueueOffset(header.nextOffset, "response.nextOffset"),
      minOffset: checkQueueOffset(header.minOffset, "response.minOffset"),
      maxOffset: checkQueueOffset(header.maxOffset, "response.maxOffset"),
      messages: frame.body.byteLength > 0 ? splitRecords(frame.body) : [],
    };
  }

  /** Checked with zod once per answer (not per message), like SEND_BATCH. */
  async pop(address: string, fields: Fields<typeof RequestCode.POP_MESSAGE>, options: CallOptions = {}): Promise<PopResponse> {
    const { fields: result, frame } = await this.call(address, RequestCode.POP_MESSAGE, fields, responses.popResultSchema, options);
    const records = frame.body.byteLength > 0 ? splitRecords(frame.body) : [];
    if (records.length !== result.count) throw badResponse("response.count", `${result.count} for ${records.length} records in the body`);
    return {
      invisibleUntilMs: result.invisibleUntilMs,
      messages: records.map((message, index) => ({ message, receiptHandle: result.receiptHandles[index]!, deliveryAttempt: result.deliveryAttempts[index]! })),
    };
  }

  async ackMessage(address: string, fields: Fields<typeof RequestCode.ACK_MESSAGE>, options: CallOptions = {}): Promise<void> {
    await this.call(address, RequestCode.ACK_MESSAGE, fields, responses.emptyResultSchema, options);
  }

  async changeInvisibleTime(address: string, fields: Fields<typeof RequestCode.CHANGE_INVISIBLE_TIME>, options: CallOptions = {}): Promise<responses.ChangeInvisibleTimeResult> {
    return (await this.call(address, RequestCode.CHANGE_INVISIBLE_TIME, fields, responses.changeInvisibleTimeResultSchema, options)).fields;
  }

  /** Hands a failed message back: the broker stores it in `%RETRY%<group>` after the group's back-off, or in `%DLQ%<group>`. */
  async consumerSendBack(address: string, fields: Fields<typeof RequestCode.CONSUMER_SEND_BACK>, options: CallOptions = {}): Promise<responses.SendBackResult> {
    return (await this.call(address, RequestCode.CONSUMER_SEND_BACK, fields, responses.sendBackResultSchema, options)).fields;
  }

  /** CONSUMER_SEND_BACK for several failed messages of one group: one result (or refusal) per entry, in order. */
  async consumerSendBackBatch(address: string, fields: Fields<typeof RequestCode.CONSUMER_SEND_BACK_BATCH>, options: CallOptions = {}): Promise<responses.SendBackBatchResult> {
    const answer = (await this.call(address, RequestCode.CONSUMER_SEND_BACK_BATCH, fields, responses.sendBackBatchResultSchema, options)).fields;
    if (answer.results.length !== fields.entries.length) throw badResponse("response.results", `${answer.results.length} results for ${fields.entries.length} entries`);
    return answer;
  }

  /** -1 when the group has never committed an offset for the queue. */
  async queryConsumerOffset(address: string, fields: Fields<typeof RequestCode.QUERY_CONSUMER_OFFSET>): Promise<QueueOffset | -1> {
    return (await this.call(address, RequestCode.QUERY_CONSUMER_OFFSET, fields, responses.consumerOffsetSchema)).fields.queueOffset;
  }

  async updateConsumerOffset(address: string, fields: Fields<typeof RequestCode.UPDATE_CONSUMER_OFFSET>): Promise<void> {
    await this.call(address, RequestCode.UPDATE_CONSUMER_OFFSET, fields, responses.emptyResultSchema);
  }

  async minOffset(address: string, topic: string, queueId: number): Promise<QueueOffset> {
    return (await this.call(address, RequestCode.GET_MIN_OFFSET, { topic, queueId }, responses.queueOffsetSchema)).fields.queueOffset;
  }

  async maxOffset(address: string, topic: string, queueId: number): Promise<QueueOffset> {
    return (await this.call(address, RequestCode.GET_MAX_OFFSET, { topic, queueId }, responses.queueOffsetSchema)).fields.queueOffset;
  }

  async searchOffset(address: string, fields: Fields<typeof RequestCode.SEARCH_OFFSET_BY_TIMESTAMP>): Promise<QueueOffset> {
    return (await this.call(address, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, fields, responses.queueOffsetSchema)).fields.queueOffset;
  }

  async resetOffset(address: string, fields: Fields<typeof RequestCode.RESET_OFFSET>) {
    return (await this.call(address, RequestCode.RESET_OFFSET, fields, responses.resetOffsetResultSchema)).fields.queues;
  }

  /** Every heartbeat names this SDK's version, which the broker shows with the group's members. */
  async heartbeat(address: string, fields: Fields<typeof RequestCode.HEARTBEAT>): Promise<void> {
    await this.call(address, RequestCode.HEARTBEAT, { version: mqVersion, ...fields }, responses.emptyResultSchema);
  }

  async unregisterClient(address: string, fields: Fields<typeof RequestCode.UNREGISTER_CLIENT>): Promise<void> {
    await this.call(address, RequestCode.UNREGISTER_CLIENT, fields, responses.emptyResultSchema);
  }

  async consumerList(address: string, consumerGroup: string): Promise<string[]> {
    return (await this.call(address, RequestCode.GET_CONSUMER_LIST, { consumerGroup }, responses.consumerListSchema)).fields.clientIds;
  }

  async lockBatch(address: string, fields: Fields<typeof RequestCode.LOCK_BATCH_MQ>) {
    return (await this.call(address, RequestCode.LOCK_BATCH_MQ, fields, responses.lockBatchResultSchema)).fields.locked;
  }

  async unlockBatch(address: string, fields: Fields<typeof RequestCode.UNLOCK_BATCH_MQ>): Promise<void> {
    await this.call(address, RequestCode.UNLOCK_BATCH_MQ, fields, responses.emptyResultSchema);
  }

  async viewMessage(address: string, offsetMsgId: string): Promise<StoredMessage[]> {
    const { frame } = await this.call(address, RequestCode.VIEW_MESSAGE_BY_ID, { offsetMsgId }, responses.messagesFoundSchema);
    return splitRecords(frame.body);
  }

  async queryByKey(address: string, fields: Fields<typeof RequestCode.QUERY_MESSAGE_BY_KEY>): Promise<StoredMessage[]> {
    const { frame } = await this.call(address, RequestCode.QUERY_MESSAGE_BY_KEY, fields, responses.messagesFoundSchema);
    return splitRecords(frame.body);
  }

  /** The trace hops one broker holds about a message (QUERY_MESSAGE_TRACE), oldest first. */
  async queryTrace(address: string, fields: Fields<typeof RequestCode.QUERY_MESSAGE_TRACE>): Promise<TraceHop[]> {
    const { frame } = await this.call(address, RequestCode.QUERY_MESSAGE_TRACE, fields, responses.traceFoundSchema);
    let hops: unknown;
    try {
      hops = JSON.parse(new TextDecoder().decode(frame.body));
    } catch {
      throw new MqError("INVALID_FIELD", { field: "response.body", reason: "the trace is not JSON" });
    }
    const checked = validateFields(traceHopsSchema, hops);
    if (!checked.ok) throw new MqError("INVALID_FIELD", { field: `response.body.${checked.error.params.field}`, reason: String(checked.error.params.reason) });
    return checked.fields;
  }

  async listScheduled(address: string, fields: Fields<typeof RequestCode.LIST_SCHEDULED_MESSAGES>): Promise<responses.ScheduledListing> {
    return (await this.call(address, RequestCode.LIST_SCHEDULED_MESSAGES, fields, responses.scheduledListingSchema)).fields;
  }

  async cancelScheduled(address: string, msgId: string): Promise<responses.CancelOutcome> {
    return (await this.call(address, RequestCode.CANCEL_SCHEDULED_MESSAGE, { msgId }, responses.cancelScheduledResultSchema)).fields.outcome;
  }

  async endTransaction(address: string, fields: Fields<typeof RequestCode.END_TRANSACTION>, options: CallOptions = {}): Promise<responses.EndTransactionResult> {
    return (await this.call(address, RequestCode.END_TRANSACTION, fields, responses.endTransactionResultSchema, options)).fields;
  }

  /** One result per transaction id given, in order (the broker answers in columns: responses.ts). */
  async endTransactionBatch(address: string, fields: Fields<typeof RequestCode.END_TRANSACTION_BATCH>, options: CallOptions = {}): Promise<responses.EndTransactionBatchResult> {
    const frame = await this.pool.request(address, { code: RequestCode.END_TRANSACTION_BATCH, fields, timeoutMs: options.timeoutMs, signal: options.signal });
    return { results: readEndTransactionBatch(readResult(frame), fields.transactionIds) };
  }

  async listTransactions(address: string, fields: Fields<typeof RequestCode.LIST_TRANSACTIONS>): Promise<responses.TransactionListing> {
    return (await this.call(address, RequestCode.LIST_TRANSACTIONS, fields, responses.transactionListingSchema)).fields;
  }

  async listDeadLetters(address: string, fields: Fields<typeof RequestCode.LIST_DEAD_LETTERS>): Promise<responses.DeadLetterPage> {
    return (await this.call(address, RequestCode.LIST_DEAD_LETTERS, fields, responses.deadLetterPageSchema)).fields;
  }

  async redriveDeadLetters(address: string, fields: Fields<typeof RequestCode.REDRIVE_DEAD_LETTERS>, timeoutMs: number): Promise<responses.RedriveAnswer> {
    return (await this.call(address, RequestCode.REDRIVE_DEAD_LETTERS, fields, responses.redriveAnswerSchema, { timeoutMs })).fields;
  }

  async createTopic(address: string, fields: Fields<typeof RequestCode.CREATE_TOPIC>): Promise<void> {
    await this.call(address, RequestCode.CREATE_TOPIC, fields, responses.emptyResultSchema);
  }

  async updateTopic(address: string, fields: Fields<typeof RequestCode.UPDATE_TOPIC>): Promise<void> {
    await this.call(address, RequestCode.UPDATE_TOPIC, fields, responses.emptyResultSchema);
  }

  async deleteTopic(address: string, topic: string): Promise<void> {
    await this.call(address, RequestCode.DELETE_TOPIC, { topic }, responses.emptyResultSchema);
  }

  async getTopic(address: string, topic: string): Promise<responses.TopicDetail> {
    return (await this.call(address, RequestCode.GET_TOPIC, { topic }, responses.topicDetailSchema)).fields;
  }

  async listTopics(address: string): Promise<responses.TopicConfig[]> {
    return (await this.call(address, RequestCode.LIST_TOPICS, {}, responses.topicListSchema)).fields.topics;
  }

  async listGroups(address: string) {
    return (await this.call(address, RequestCode.LIST_GROUPS, {}, responses.groupListSchema)).fields.groups;
  }

  async getGroup(address: string, consumerGroup: string): Promise<responses.GroupDetail> {
    return (await this.call(address, RequestCode.GET_GROUP, { consumerGroup }, responses.groupDetailSchema)).fields;
  }

  async updateGroupConfig(address: string, fields: Fields<typeof RequestCode.UPDATE_GROUP_CONFIG>): Promise<GroupConfig> {
    return (await this.call(address, RequestCode.UPDATE_GROUP_CONFIG, fields, responses.groupConfigResultSchema)).fields;
  }

  async getGroupConfig(address: string, group: string): Promise<GroupConfig> {
    return (await this.call(address, RequestCode.GET_GROUP_CONFIG, { group }, responses.groupConfigResultSchema)).fields;
  }
}

const messageIdPattern = /^[0-9A-Fa-f]{32}$/;

/** SEND_BATCH's answer without its per-message offsets (checked by checkOffsets). */
const sendBatchSummarySchema = responses.sendBatchResultSchema.omit({ physicalOffsets: true });

function checkOffsets(value: unknown, count: number): PhysicalOffset[] {
  if (!Array.isArray(value)) throw badResponse("response.physicalOffsets", value);
  if (value.length !== count) throw new MqError("INVALID_FIELD", { field: "response.physicalOffsets", reason: `holds ${value.length} offsets for ${count} messages` });
  for (let index = 0; index < value.length; index++) checkNonNegative(value[index], `response.physicalOffsets[${index}]`);
  return value as PhysicalOffset[];
}

const endBatchErrorsSchema = responses.endTransactionBatchAnswerSchema.pick({ errors: true });

/** END_TRANSACTION_BATCH's columns, checked by hand (zod per entry costs more than the end), as one result per transaction id. */
function readEndTransactionBatch(answer: Record<string, unknown>, transactionIds: readonly string[]): responses.EndTransactionBatchResult["results"] {
  const count = transactionIds.length;
  const column = (name: string): unknown[] => {
    const value = answer[name];
    if (!Array.isArray(value)) throw badResponse(`response.${name}`, value);
    if (value.length !== count) throw new MqError("INVALID_FIELD", { field: `response.${name}`, reason: `holds ${value.length} entries for ${count} transactions` });
    return value;
  };
  const [states, msgIds, queueIds, queueOffsets, physicalOffsets] = [column("states"), column("msgIds"), column("queueIds"), column("queueOffsets"), column("physicalOffsets")];
  const checked = validateFields(endBatchErrorsSchema, answer);
  if (!checked.ok) throw new MqError("INVALID_FIELD", { field: `response.${checked.error.params.field}`, reason: String(checked.error.params.reason) });
  const errors = new Map((checked.fields.errors ?? []).map((error) => [error.index, error]));
  const results = new Array<responses.EndTransactionBatchResult["results"][number]>(count);
  for (let index = 0; index < count; index++) {
    const transactionId = transactionIds[index]!;
    const state = states[index];
    if (state === responses.transactionEndState.refused) {
      const error = errors.get(index);
      if (error === undefined) throw badResponse(`response.errors`, `no error for refused entry ${index}`);
      results[index] = { transactionId, error: { code: error.code, message: error.message } };
      continue;
    }
    const msgId = msgIds[index];
    if (typeof msgId !== "string" || !messageIdPattern.test(msgId)) throw badResponse(`response.msgIds[${index}]`, msgId);
    switch (state) {
      case responses.transactionEndState.committed: {
        const queueId = checkNonNegative(queueIds[index], `response.queueIds[${index}]`);
        const queueOffset = checkQueueOffset(queueOffsets[index], `response.queueOffsets[${index}]`);
        const offsetMsgId = transactionId.slice(0, -16) + offsetHex(checkNonNegative(physicalOffsets[index], `response.physicalOffsets[${index}]`) as PhysicalOffset);
        results[index] = { transactionId, msgId, state: "committed", already: false, committed: { queueId, queueOffset, offsetMsgId } };
        break;
      }
      case responses.transactionEndState.committedBefore:
      case responses.transactionEndState.rolledBack:
      case responses.transactionEndState.rolledBackBefore:
        results[index] = { transactionId, msgId, state: state === responses.transactionEndState.committedBefore ? "committed" : "rolled_back", already: state !== responses.transactionEndState.rolledBack };
        break;
      default:
        throw badResponse(`response.states[${index}]`, state);
    }
  }
  return results;
}

function badResponse(field: string, value: unknown): MqError {
  return new MqError("INVALID_FIELD", { field, reason: `is invalid: got ${JSON.stringify(value) ?? String(value)}` });
}

function checkNonNegative(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw badResponse(field, value);
  return value;
}

/** Where a queue offset of a hand-checked answer enters the client: branded once, here. */
function checkQueueOffset(value: unknown, field: string): QueueOffset {
  return toQueueOffset(checkNonNegative(value, field));
}

/** The hand-written twin of responses.sendResultSchema, for the per-message path. */
export function checkSendResult(value: unknown, field: string): responses.SendResult {
  if (typeof value !== "object" || value === null) throw badResponse(field, value);
  const result = value as Record<string, unknown>;
  const { msgId, offsetMsgId, topic } = result;
  if (typeof msgId !== "string" || !messageIdPattern.test(msgId)) throw badResponse(`${field}.msgId`, msgId);
  if (typeof offsetMsgId !== "string" || !offsetMsgIdPattern.test(offsetMsgId)) throw badResponse(`${field}.offsetMsgId`, offsetMsgId);
  if (typeof topic !== "string") throw badResponse(`${field}.topic`, topic);
  const checked: responses.SendResult = { msgId, offsetMsgId, topic, queueId: checkNonNegative(result.queueId, `${field}.queueId`), queueOffset: checkQueueOffset(result.queueOffset, `${field}.queueOffset`) };
  if (result.duplicate === true) checked.duplicate = true;
  if (result.transactionId !== undefined) {
    if (typeof result.transactionId !== "string" || !offsetMsgIdPattern.test(result.transactionId)) throw badResponse(`${field}.transactionId`, result.transactionId);
    return { ...checked, transactionId: result.transactionId };
  }
  if (result.deliverAtMs === undefined) return checked;
  return { ...checked, deliverAtMs: checkNonNegative(result.deliverAtMs, `${field}.deliverAtMs`), scheduled: result.scheduled === true };
}
