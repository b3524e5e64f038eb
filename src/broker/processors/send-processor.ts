/**
 * SEND_MESSAGE and SEND_BATCH: turn the request into the message service's input and its result
 * into the answer (ids and offsets). Validation, the topic (existing or auto-created, writable,
 * queue in range), transforms, the append and the wait for durability are the service's
 * (message-service.ts), shared with REST. A oneway send runs the same path; the channel drops
 * its answer.
 *
 * Under async flush the answer is built in the same turn (no promise); under sync flush it waits
 * for the group commit that makes the message durable.
 *
 * A batch entry's header is checked for its shape by a small hand-written check — zod per
 * message would cost more than the append itself; what the message may hold is the service's.
 */

import { formatHostPort } from "../../common/ip-address.ts";
import { assert } from "../../common/assert.ts";
import { MqError } from "../../common/errors.ts";
import { dedupKeyLengthMax, tagLengthMax } from "../../common/limits.ts";
import { ipv4ToNumber } from "../../common/message-record.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import { decodeBatchBody } from "../../protocol/batch-body.ts";
import { messageKeyLengthMax, messageKeysMax, propertyNameLengthMax } from "../../protocol/limits.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { BrokerContext } from "../broker-context.ts";
import type { OutgoingRecord, SendOk } from "../message-service.ts";

export function sendMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.SEND_MESSAGE>): Reply | Promise<Reply> {
  const fields = request.fields;
  const message: OutgoingRecord = {
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
    delayLevel: fields.delayLevel,
    deliverAtMs: fields.deliverAtMs,
    delayMs: fields.delayMs,
    transactionPrepared: fields.transactionPrepared,
    dedupKey: fields.dedupKey,
    producerGroup: fields.producerGroup,
  };
  const startMs = performance.now();
  const stored = context.messages.send(message);
  if (stored instanceof Promise) return stored.then((result) => sendReply(context, startMs, message, result));
  return sendReply(context, startMs, message, stored);
}

function sendReply(context: BrokerContext, startMs: number, message: OutgoingRecord, result: SendOk): Reply {
  context.stats.sendAnswered(startMs);
  const fields: Record<string, unknown> = {
    msgId: result.duplicate?.msgId ?? message.msgId,
    offsetMsgId: context.messages.offsetMsgId(result.physicalOffset),
    topic: message.topic,
    queueId: result.duplicate?.queueId ?? message.queueId,
    queueOffset: result.queueOffset,
  };
  if (result.duplicate !== undefined) fields.duplicate = true;
  // A half message is ended by its transaction id: its own offsetMsgId.
  if (message.transactionPrepared === true) fields.transactionId = fields.offsetMsgId;
  // A scheduled message takes its queue offset when it is delivered; until then it has none.
  if (result.delivery !== undefined) {
    fields.deliverAtMs = result.delivery.deliverAtMs;
    fields.scheduled = result.delivery.scheduled;
  }
  return { fields } as Reply;
}

export function sendBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.SEND_BATCH>): Promise<Reply> {
  const fields = request.fields;
  const bornHost = parseHost(fields.bornHost ?? request.channel.address);
  const entries = decodeBatchBody(request.body, fields.messageCount);
  const messages = new Array<OutgoingRecord>(entries.length);
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    const header = checkEntryHeader(entry.header, index);
    // One object literal of a fixed shape per message: no spread, no copy of the header.
    messages[index] = {
      topic: fields.topic,
      queueId: fields.queueId,
      body: entry.body,
      msgId: header.msgId,
      tags: header.tags,
      keys: header.keys,
      properties: header.properties,
      flag: header.flag,
      bornTimestampMs: fields.bornTimestampMs,
      bornHost,
      deliverAtMs: header.deliverAtMs,
      delayMs: header.delayMs,
      delayLevel: header.delayLevel,
      dedupKey: header.dedupKey,
      // A batch of half messages (a transaction's) is prepared as a whole, for its producer group.
      transactionPrepared: fields.transactionPrepared === true ? true : undefined,
      producerGroup: fields.transactionPrepared === true ? fields.producerGroup : undefined,
    };
  }
  const startMs = performance.now();
  return context.messages.sendBatch(messages).then((results) => {
    context.stats.sendAnswered(startMs);
    // Half messages take no queue offsets: each is known by its CommitLog offset (its transaction id).
    if (fields.transactionPrepared === true) return resultReply({ topic: fields.topic, queueId: fields.queueId, firstQueueOffset: 0, storeHost: formatHostPort(context.advertisedHost, context.port), physicalOffsets: results.map((result) => result.physicalOffset) });
    return batchReply(context, fields.topic, fields.queueId, results);
  });
}

/**
 * One physical offset per message; the queue offsets of the stored ones are consecutive, from the
 * first (none for a batch of timers). Entries the dedup window answered are listed apart, with
 * their originals' ids and offsets.
 */
function batchReply(context: BrokerContext, topic: string, queueId: number, results: readonly SendOk[]): Reply {
  const storeHost = formatHostPort(context.advertisedHost, context.port);
  // One pass, no array per message: most batches hold no duplicate.
  const physicalOffsets = new Array<number>(results.length);
  let duplicates: { index: number; msgId: string; queueId: number; queueOffset: number }[] | undefined;
  let firstStored: SendOk | undefined;
  let storedCount = 0;
  for (let index = 0; index < results.length; index++) {
    const result = results[index]!;
    physicalOffsets[index] = result.physicalOffset;
    if (result.duplicate !== undefined) {
      (duplicates ??= []).push({ index, msgId: result.duplicate.msgId, queueId: result.duplicate.queueId, queueOffset: result.queueOffset });
      continue;
    }
    firstStored ??= result;
    if (firstStored.delivery === undefined) {
      // One synchronous run of appends to one queue: offsets are consecutive by construction.
      assert(result.queueOffset === firstStored.queueOffset + storedCount, `batch entry ${index} got queue offset ${result.queueOffset}, expected ${firstStored.queueOffset + storedCount}`);
    }
    storedCount += 1;
  }
  const withDuplicates = duplicates === undefined ? {} : { duplicates };
  const firstQueueOffset = firstStored?.queueOffset ?? 0;
  if (firstStored?.delivery !== undefined) {
    const deliverAtMs = results.map((result) => result.delivery?.deliverAtMs ?? 0);
    const scheduled = results.map((result) => result.delivery?.scheduled ?? false);
    return resultReply({ topic, queueId, firstQueueOffset, storeHost, physicalOffsets, deliverAtMs, scheduled, ...withDuplicates });
  }
  return resultReply({ topic, queueId, firstQueueOffset, storeHost, physicalOffsets, ...withDuplicates });
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

/** 32 hex digits, checked by char code (a regex per message costs more than this loop). */
function isHex32(text: string): boolean {
  if (text.length !== 32) return false;
  for (let index = 0; index < 32; index++) {
    const code = text.charCodeAt(index);
    const digit = code >= 0x30 && code <= 0x39;
    const letter = (code | 0x20) >= 0x61 && (code | 0x20) <= 0x66;
    if (!digit && !letter) return false;
  }
  return true;
}

type EntryHeader = Pick<OutgoingRecord, "msgId" | "tags" | "keys" | "properties" | "flag" | "deliverAtMs" | "delayMs" | "delayLevel" | "dedupKey">;

function checkEntryHeader(header: unknown, index: number): EntryHeader {
  const field = (name: string) => `body[${index}].${name}`;
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw invalid(`body[${index}]`, "must be a map");
  const { msgId, tags, keys, properties, flag, deliverAtMs, delayMs, delayLevel, dedupKey } = header as Record<string, unknown>;
  if (typeof msgId !== "string" || !isHex32(msgId)) throw invalid(field("msgId"), `must be 32 hex characters, got ${show(msgId)}`);
  // A producer's automatic batch sends plain messages with nothing but their msgId.
  if (tags === undefined && keys === undefined && properties === undefined && flag === undefined && deliverAtMs === undefined && delayMs === undefined && delayLevel === undefined && dedupKey === undefined) {
    return header as EntryHeader; // { msgId } only: its absent fields read as undefined, no copy
  }
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
      if (name.length === 0 || name.length > propertyNameLengthMax || typeof value !== "string") throw invalid(field("properties"), `must map names of 1..${propertyNameLengthMax} characters to strings, got ${show(name)}`);
    }
  }
  if (flag !== undefined && (typeof flag !== "number" || !Number.isInteger(flag) || flag < -(2 ** 31) || flag >= 2 ** 31)) throw invalid(field("flag"), `must be an int32, got ${show(flag)}`);
  if (dedupKey !== undefined && (typeof dedupKey !== "string" || dedupKey.length === 0 || dedupKey.length > dedupKeyLengthMax)) throw invalid(field("dedupKey"), `must be a string of 1..${dedupKeyLengthMax} characters`);
  for (const [name, value] of [["deliverAtMs", deliverAtMs], ["delayMs", delayMs], ["delayLevel", delayLevel]] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) throw invalid(field(name), `must be an integer, got ${show(value)}`);
  }
  return {
    msgId,
    tags: tags === "" ? undefined : (tags as string | undefined),
    keys: keys as string[] | undefined,
    properties: properties as Record<string, string> | undefined,
    flag: flag as number | undefined,
    deliverAtMs: deliverAtMs as number | undefined,
    delayMs: delayMs as number | undefined,
    delayLevel: delayLevel as number | undefined,
    dedupKey: dedupKey as string | undefined,
  };
}

function invalid(field: string, reason: string): MqError {
  return new MqError("INVALID_FIELD", { field, reason });
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : value === undefined ? "nothing" : typeof value;
}
