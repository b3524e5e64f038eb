/**
 * Message lookup: VIEW_MESSAGE_BY_ID (by the broker's offsetMsgId — a CommitLog offset, read
 * directly — or by the producer's msgId through the index) and QUERY_MESSAGE_BY_KEY. Answers
 * carry the records exactly as stored, concatenated, like a pull. The lookups are the message
 * service's (message-service.ts), shared with REST; every record served is verified first.
 * QUERY_MESSAGE_TRACE answers a message's trace hops held here (trace-query.ts).
 */

import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { BrokerContext } from "../broker-context.ts";
import { findTrace } from "../trace-query.ts";

export function viewMessageById(context: BrokerContext, request: IncomingRequest<typeof RequestCode.VIEW_MESSAGE_BY_ID>): Reply {
  return { fields: { count: 1 }, body: context.messages.findRecord(request.fields) };
}

export function queryMessageByKey(context: BrokerContext, request: IncomingRequest<typeof RequestCode.QUERY_MESSAGE_BY_KEY>): Reply {
  const { topic, key, maxResults, beginTimestampMs, endTimestampMs } = request.fields;
  const records = context.messages.findRecordsByKey({ topic, key, max: maxResults, beginMs: beginTimestampMs, endMs: endTimestampMs });
  return { fields: { count: records.length }, body: concat(records) };
}

/** QUERY_MESSAGE_TRACE: the hops this broker holds about a message, as JSON in the body (they may exceed a header). */
export function queryMessageTrace(context: BrokerContext, request: IncomingRequest<typeof RequestCode.QUERY_MESSAGE_TRACE>): Reply {
  const hops = findTrace(context, request.fields);
  return { fields: { count: hops.length }, body: textEncoder.encode(JSON.stringify(hops)) };
}

const textEncoder = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of parts) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}
