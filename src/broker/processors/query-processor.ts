/**
 * Message lookup: VIEW_MESSAGE_BY_ID (by the broker's offsetMsgId — a CommitLog offset, read
 * directly — or by the producer's msgId through the index) and QUERY_MESSAGE_BY_KEY. Answers
 * carry the records exactly as stored, concatenated, like a pull.
 *
 * An offsetMsgId comes from outside and may point anywhere: the record there is verified (CRC,
 * and its own stored offset must equal the one asked for) before anything is served.
 */

import { MqError } from "../../common/errors.ts";
import { decodeOffsetMsgId, encodeOffsetMsgId } from "../../common/ids.ts";
import { checkRecord } from "../../common/message-record.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { MessageStore } from "../../store/message-store.ts";
import type { BrokerContext } from "../broker-context.ts";

export function viewMessageById(context: BrokerContext, request: IncomingRequest<typeof RequestCode.VIEW_MESSAGE_BY_ID>): Reply {
  const { offsetMsgId, msgId } = request.fields;
  let record: Uint8Array | undefined;
  let invalidId: unknown;
  // Only an offsetMsgId naming this broker (its ip and port, the first 16 hex digits) is an offset here.
  const thisBroker = encodeOffsetMsgId({ host: context.advertisedHost, port: context.port, physicalOffset: 0 }).slice(0, 16);
  if (offsetMsgId !== undefined && offsetMsgId.slice(0, 16).toUpperCase() === thisBroker) {
    try {
      record = recordAt(context.store, decodeOffsetMsgId(offsetMsgId).physicalOffset);
    } catch (error) {
      invalidId = error; // not an offsetMsgId of any broker: it may still be a msgId
    }
  }
  // An id given as offsetMsgId that finds nothing may be a producer msgId (callers holding "an id").
  for (const id of [msgId, offsetMsgId]) {
    if (record !== undefined || id === undefined) continue;
    const found = context.store.queryByMsgId(id);
    if (found !== undefined) record = recordAt(context.store, found.physicalOffset);
  }
  if (record === undefined && invalidId !== undefined) throw invalidId;
  if (record === undefined) throw new MqError("MESSAGE_NOT_FOUND", { id: msgId ?? offsetMsgId ?? "" });
  return { fields: { count: 1 }, body: record };
}

export function queryMessageByKey(context: BrokerContext, request: IncomingRequest<typeof RequestCode.QUERY_MESSAGE_BY_KEY>): Reply {
  const { topic, key, maxResults, beginTimestampMs, endTimestampMs } = request.fields;
  context.topics.require(topic);
  const records: Uint8Array[] = [];
  for (const message of context.store.queryByKey(topic, key, maxResults, beginTimestampMs ?? 0, endTimestampMs ?? Number.MAX_SAFE_INTEGER)) {
    const record = recordAt(context.store, message.physicalOffset);
    if (record !== undefined) records.push(record);
  }
  return { fields: { count: records.length }, body: concat(records) };
}

/** A copy of the verified record starting at `physicalOffset`, or undefined. */
function recordAt(store: MessageStore, physicalOffset: number): Uint8Array | undefined {
  if (physicalOffset >= store.commitLog.writePosition) return undefined; // past the log: nothing written there by this run
  const located = store.commitLog.locate(physicalOffset);
  if (located === undefined) return undefined;
  const { file, position } = located;
  const check = checkRecord(file.bytes, file.view, position, store.commitLog.fileBytes, physicalOffset);
  if (check.kind !== "record") return undefined;
  return file.bytes.slice(position, position + check.totalSize);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}
