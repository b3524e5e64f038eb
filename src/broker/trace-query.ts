/**
 * A message's trace on this broker (issue 13): the hops in its trace topics about the message an
 * id names — a producer msgId, this broker's offsetMsgId, or a message key. Trace messages are
 * indexed by the traced msgIds and keys (trace-record.ts), so each id costs one index lookup per
 * trace topic, never a scan. An offsetMsgId of this broker is first read back to its msgId.
 *
 * Searched: the broker's `traceTopic`, RMQ_SYS_TRACE_TOPIC, and a topic the asker names (where
 * its SDK clients were told to write).
 */

import { isMqError } from "../common/errors.ts";
import { isMessageIdShape } from "../common/ids.ts";
import { decodeRecord } from "../common/message-record.ts";
import { traceKeyMessagesMax, traceQueryHopsMax, traceQueryMessagesMax } from "../common/limits.ts";
import { systemTopics } from "../common/system-topics.ts";
import { type TraceHop, hopMatches, sortTimeline, uniqueHops, unpackTraceHops } from "../protocol/trace-record.ts";
import type { BrokerContext } from "./broker-context.ts";

export function findTrace(context: BrokerContext, query: { readonly id: string; readonly topic?: string }): TraceHop[] {
  const { store } = context;
  const stored = new Set(store.topics().map((info) => info.topic));
  const topics = [...new Set([context.config.traceTopic, systemTopics.trace, ...(query.topic === undefined ? [] : [query.topic])])].filter((topic) => stored.has(topic));
  const ids = new Set([query.id]);
  if (isMessageIdShape(query.id)) {
    ids.add(query.id.toUpperCase());
    const msgId = msgIdOfOffsetMsgId(context, query.id.toUpperCase());
    if (msgId !== undefined) ids.add(msgId);
  }
  const hops: TraceHop[] = [];
  const search = (id: string, matches: (hop: TraceHop) => boolean): void => {
    for (const topic of topics) {
      for (const message of store.queryByKey(topic, id, traceQueryMessagesMax)) {
        for (const hop of unpackTraceHops(message.body)) if (matches(hop)) hops.push(hop);
      }
    }
  };
  for (const id of ids) search(id, (hop) => hopMatches(hop, id));
  // A key finds the hops that name it; the messages carrying it have hops that do not (an ack names no keys).
  const msgIds = new Set(hops.map((hop) => hop.msgId.toUpperCase()));
  for (const id of ids) msgIds.delete(id.toUpperCase());
  for (const msgId of [...msgIds].slice(0, traceKeyMessagesMax)) search(msgId, (hop) => hop.msgId.toUpperCase() === msgId);
  return sortTimeline(uniqueHops(hops)).slice(0, traceQueryHopsMax);
}

/** The msgId of the message an id names on this broker (its offsetMsgId, or the msgId itself), if stored here. */
function msgIdOfOffsetMsgId(context: BrokerContext, id: string): string | undefined {
  try {
    return decodeRecord(context.messages.findRecord({ offsetMsgId: id })).msgId;
  } catch (error) {
    if (isMqError(error)) return undefined; // not found here, or not an id of this broker
    throw error;
  }
}
