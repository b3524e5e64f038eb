/**
 * SEND_MESSAGE and SEND_BATCH: check the topic once (exists or auto-created, writable, queue
 * in range), append through the store, answer with the ids and offsets. A oneway send runs the
 * same path; the channel drops its answer.
 *
 * Under async flush the append is answered in the same turn (no promise); under sync flush the
 * answer waits for the group commit that makes it durable.
 *
 * A batch is validated once as a whole (topic, permission, size) and each entry's header by a
 * small hand-written check — zod per message would cost more than the append itself.
 */

import { assert } from "../../common/assert.ts";
import { MqError } from "../../common/errors.ts";
import { encodeOffsetMsgId } from "../../common/ids.ts";
import { messagePropertiesBytesMax, tagLengthMax } from "../../common/limits.ts";
import { encodePropertiesText, findInvalidProperty, propertyNames } from "../../common/message-properties.ts";
import { ipv4ToNumber } from "../../common/message-record.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import { decodeBatchBody } from "../../protocol/batch-body.ts";
import { messageKeyLengthMax, messageKeysMax } from "../../protocol/limits.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { RequestFields } from "../../protocol/schemas.ts";
import { type PutMessageInput, type PutResult, putStatusError } from "../../store/put-message.ts";
import type { BrokerContext } from "../broker-context.ts";

type SendFields = RequestFields<typeof RequestCode.SEND_MESSAGE>;

export function sendMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.SEND_MESSAGE>): Reply | Promise<Reply> {
  context.assertWritable();
  const fields = request.fields;
  refuseUnsupported(fields);
  checkWritable(context, fields.topic, fields.queueId);
  const input: PutMessageInput = {
    topic: fields.topic,
    queueId: fields.queueId,
    body: request.body,
    tags: fields.tags === "" ? undefined : fields.tags,
    keys: fields.keys,
    msgId: fields.msgId,
    properties: fields.properties,
    flag: fields.flag,
    bornTimestampMs: fields.bornTimestampMs,
    bornHost: parseHost(fields.bornHost ?? request.channel.address),
    reconsumeTimes: fields.reconsumeTimes,
  };
  const startMs = performance.now();
  if (context.store.options.flush === "sync") {
    return context.store.put(input).then((result) => answered(context, startMs, sendReply(context, input, result)));
  }
  return answered(context, startMs, sendReply(context, input, context.store.append(input)));
}

function answered(context: BrokerContext, startMs: number, reply: Reply): Reply {
  context.stats.sendAnswered(startMs);
  return reply;
}

function sendReply(context: BrokerContext, input: PutMessageInput, result: PutResult): Reply {
  if (result.status !== "ok") throw putStatusError(result);
  return {
    fields: {
      msgId: input.msgId,
      offsetMsgId: encodeOffsetMsgId({ host: context.advertisedHost, port: context.port, physicalOffset: result.physicalOffset }),
      topic: input.topic,
      queueId: input.queueId,
      queueOffset: result.queueOffset,
    },
  };
}

export function sendBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.SEND_BATCH>): Reply | Promise<Reply> {
  context.assertWritable();
  const fields = request.fields;
  checkWritable(context, fields.topic, fields.queueId);
  const bornHost = parseHost(fields.bornHost ?? request.channel.address);
  const inputs = decodeBatchBody(request.body, fields.messageCount).map((entry, index): PutMessageInput => {
    const header = checkEntryHeader(entry.header, index);
    const propertiesBytes = encodeEntryProperties(header, index);
    return { ...header, propertiesBytes, topic: fields.topic, queueId: fields.queueId, body: entry.body, bornTimestampMs: fields.bornTimestampMs, bornHost };
  });
  const startMs = performance.now();
  if (context.store.options.flush === "sync") return context.store.putBatch(inputs).then((results) => answered(context, startMs, batchReply(context, inputs, results)));
  return answered(context, startMs, batchReply(context, inputs, inputs.map((input) => context.store.append(input))));
}

/**
 * One result per message. Entries are checked before any is appended, so what can still fail
 * here is the store itself (disk full, closed, I/O): the first such failure is the answer.
 */
function batchReply(context: BrokerContext, inputs: readonly PutMessageInput[], results: readonly PutResult[]): Reply {
  const physicalOffsets: number[] = [];
  let firstQueueOffset = 0;
  results.forEach((result, index) => {
    if (result.status !== "ok") throw putStatusError(result);
    if (index === 0) firstQueueOffset = result.queueOffset;
    // One synchronous run of appends to one queue: offsets are consecutive by construction.
    assert(result.queueOffset === firstQueueOffset + index, `batch entry ${index} got queue offset ${result.queueOffset}, expected ${firstQueueOffset + index}`);
    physicalOffsets.push(result.physicalOffset);
  });
  const first = inputs[0]!;
  return resultReply({ topic: first.topic, queueId: first.queueId, firstQueueOffset, storeHost: `${context.advertisedHost}:${context.port}`, physicalOffsets });
}

function checkWritable(context: BrokerContext, topic: string, queueId: number): void {
  const config = context.topics.forWrite(topic);
  if (queueId >= config.writeQueues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues: config.writeQueues });
}

/** Delay and transactions arrive with their own issue; refusing beats storing them as plain messages. */
function refuseUnsupported(fields: SendFields): void {
  if ((fields.delayLevel ?? 0) > 0 || fields.deliverAtMs !== undefined) throw new MqError("BAD_REQUEST", { reason: "delayed messages are not supported yet" });
  if (fields.transactionPrepared === true) throw new MqError("BAD_REQUEST", { reason: "transactional messages are not supported yet" });
}

const hostPattern = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const hostCache = new Map<string, { ip: number; port: number }>();

/** "ip:port" → the record's born-host field; a non-IPv4 peer is recorded as 127.0.0.1:0 plus its port. */
export function parseHost(address: string): { ip: number; port: number } {
  let host = hostCache.get(address);
  if (host !== undefined) return host;
  const match = hostPattern.exec(address);
  const portText = match?.[2] ?? address.slice(address.lastIndexOf(":") + 1);
  host = { ip: match === null ? 0x7f000001 : ipv4ToNumber(match[1]!), port: /^\d{1,5}$/.test(portText) ? Number(portText) & 0xffff : 0 };
  if (hostCache.size >= 4_096) hostCache.clear();
  hostCache.set(address, host);
  return host;
}

const idPattern = /^[0-9A-Fa-f]{32}$/;

type EntryHeader = Pick<PutMessageInput, "msgId" | "tags" | "keys" | "properties" | "flag">;

function checkEntryHeader(header: unknown, index: number): EntryHeader {
  const field = (name: string) => `body[${index}].${name}`;
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw invalid(`body[${index}]`, "must be a map");
  const { msgId, tags, keys, properties, flag } = header as Record<string, unknown>;
  if (typeof msgId !== "string" || !idPattern.test(msgId)) throw invalid(field("msgId"), `must be 32 hex characters, got ${show(msgId)}`);
  if (tags !== undefined && (typeof tags !== "string" || tags.length > tagLengthMax)) throw invalid(field("tags"), `must be a string of at most ${tagLengthMax} characters`);
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length > messageKeysMax) throw invalid(field("keys"), `must be an array of at most ${messageKeysMax} keys`);
    for (const key of keys) {
      if (typeof key !== "string" || key.length === 0 || key.length > messageKeyLengthMax) throw invalid(field("keys"), `must hold strings of 1..${messageKeyLengthMax} characters, got ${show(key)}`);
    }
  }
  if (properties !== undefined) {
    if (typeof properties !== "object" || properties === null || Array.isArray(properties)) throw invalid(field("properties"), "must be a map of strings");
    for (const [name, value] of Object.entries(properties)) {
      if (name.length === 0 || name.length > 255 || typeof value !== "string") throw invalid(field("properties"), `must map names of 1..255 characters to strings, got ${show(name)}`);
    }
  }
  if (flag !== undefined && (typeof flag !== "number" || !Number.isInteger(flag) || flag < -(2 ** 31) || flag >= 2 ** 31)) throw invalid(field("flag"), `must be an int32, got ${show(flag)}`);
  return {
    msgId,
    tags: tags === "" ? undefined : (tags as string | undefined),
    keys: keys as string[] | undefined,
    properties: properties as Record<string, string> | undefined,
    flag: flag as number | undefined,
  };
}

const textEncoder = new TextEncoder();

/**
 * Encodes an entry's properties as the store would (user properties plus TAGS, KEYS, UNIQ_KEY),
 * checking what the store would refuse — so a bad entry fails the batch before any is stored.
 */
function encodeEntryProperties(header: EntryHeader, index: number): Uint8Array {
  const properties: Record<string, string> = { ...header.properties };
  if (header.tags !== undefined) properties[propertyNames.tags] = header.tags;
  if (header.keys !== undefined && header.keys.length > 0) properties[propertyNames.keys] = header.keys.join(" ");
  if (header.msgId !== undefined) properties[propertyNames.msgId] = header.msgId;
  const bad = findInvalidProperty(properties);
  if (bad !== undefined) throw invalid(`body[${index}].properties`, `"${bad}" must not be empty or contain \\u0001 or \\u0002`);
  const bytes = textEncoder.encode(encodePropertiesText(properties));
  if (bytes.length > messagePropertiesBytesMax) throw new MqError("PROPERTIES_TOO_LARGE", { bytes: bytes.length, limit: messagePropertiesBytesMax });
  return bytes;
}

function invalid(field: string, reason: string): MqError {
  return new MqError("INVALID_FIELD", { field, reason });
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : value === undefined ? "nothing" : typeof value;
}
