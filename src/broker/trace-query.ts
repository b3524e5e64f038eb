/**
 * A message's trace on this broker (issue 13): the hops in its trace topics about the message an
 * id names — a producer msgId, this broker's offsetMsgId, or a message key — and its stored and
 * scheduled hops, built from the message's own record and its timer record (stored-hop.ts,
 * scheduled-hop.ts: they are not written). Trace messages are
 * indexed by the traced msgIds' index keys and by keys (trace-record.ts), the stored messages by msgId and by
 * topic and key, so each id costs index lookups, never a scan. An offsetMsgId of this broker is
 * first read back to its msgId; a key is looked up in each user topic.
 *
 * Searched: the broker's `traceTopic`, RMQ_SYS_TRACE_TOPIC, and a topic the asker names (where
 * its SDK clients were told to write).
 */

import { isMqError } from "../common/errors.ts";
import { isMessageIdShape } from "../common/ids.ts";
import { decodeRecord } from "../common/message-record.ts";
import { traceKeyMessagesMax, traceQueryHopsMax, traceQueryMessagesMax } from "../common/limits.ts";
import { systemTopics } from "../common/system-topics.ts";
import { type StoredCopy, type TraceHop, completePublishHops, hopMatches, sortTimeline, traceIndexKey, uniqueHops, unpackTraceHops } from "../protocol/trace-record.ts";
import type { BrokerContext } from "./broker-context.ts";
import { scheduledHopOf, timerRecordOf } from "./scheduled-hop.ts";
import { isBuiltStoredHop, storedHopOf } from "./stored-hop.ts";

export function findTrace(context: BrokerContext, query: { readonly id: string; readonly topic?: string }): TraceHop[] {
  const { store } = context;
  const topicNames = store.topics().map((info) => info.topic);
  const stored = new Set(topicNames);
  const topics = [...new Set([context.config.traceTopic, systemTopics.trace, ...(query.topic === undefined ? [] : [query.topic])])].filter((topic) => stored.has(topic));
  const ids = new Set([query.id]);
  if (isMessageIdShape(query.id)) {
    ids.add(query.id.toUpperCase());
    const msgId = msgIdOfOffsetMsgId(context, query.id.toUpperCase());
    if (msgId !== undefined) ids.add(msgId);
  }
  const hops: TraceHop[] = [];
  // A trace message is indexed by its msgIds' index keys (one per client and millisecond) and by
  // user keys; older ones by each msgId: look up both, keep the hops that name the id.
  const search = (id: string, matches: (hop: TraceHop) => boolean): void => {
    const indexKey = traceIndexKey(id);
    for (const topic of topics) {
      const seen = new Set<number>();
      for (const key of indexKey === id ? [id] : [id, indexKey]) {
        for (const message of store.queryByKey(topic, key, traceQueryMessagesMax)) {
          if (seen.has(message.physicalOffset)) continue;
          seen.add(message.physicalOffset);
          for (const hop of unpackTraceHops(message.body)) if (matches(hop)) hops.push(hop);
        }
      }
    }
  };
  for (const id of ids) search(id, (hop) => hopMatches(hop, id));
  // A key finds the hops that name it and the stored messages carrying it; their other hops do not name it (an ack names no keys).
  const msgIds = new Set(hops.map((hop) => hop.msgId.toUpperCase()));
  for (const msgId of msgIdsOfKey(context, topicNames, query.id)) msgIds.add(msgId.toUpperCase());
  for (const id of ids) msgIds.delete(id.toUpperCase());
  const followed = [...msgIds].slice(0, traceKeyMessagesMax);
  for (const msgId of followed) search(msgId, (hop) => hop.msgId.toUpperCase() === msgId);
  const copies: StoredCopy[] = [];
  hops.push(...storedHops(context, [...ids, ...followed], copies));
  completePublishHops(hops, copies);
  return sortTimeline(uniqueHops(hops)).slice(0, traceQueryHopsMax);
}

/**
 * The stored and scheduled hops of the messages these ids name, built from their records
 * (stored-hop.ts, scheduled-hop.ts); each record once. Every copy found goes to `found`, whether
 * or not it makes a hop: what names the publish hops' offsetMsgIds.
 */
function storedHops(context: BrokerContext, ids: readonly string[], found: StoredCopy[]): TraceHop[] {
  const seen = new Set<number>();
  const hops: TraceHop[] = [];
  for (const id of new Set(ids.map((each) => each.toUpperCase()))) {
    const copies = context.store.queryAllByMsgId(id, traceQueryMessagesMax);
    const timerRecord = context.config.traceEnabled && isMessageIdShape(id) ? timerRecordOf(context, id, copies) : undefined;
    for (const message of timerRecord === undefined ? copies : [...copies, timerRecord]) {
      if (seen.has(message.physicalOffset)) continue;
      seen.add(message.physicalOffset);
      if (message.msgId !== undefined) found.push({ msgId: message.msgId, offsetMsgId: context.messages.offsetMsgId(message.physicalOffset), order: message.physicalOffset });
      const hop = storedHopOf(context, message) ?? scheduledHopOf(context, message);
      if (hop !== undefined) hops.push(hop);
    }
  }
  return hops;
}

/** The msgIds of messages in the users' topics that carry `key`, at most `traceKeyMessagesMax`: one index lookup per topic. */
function msgIdsOfKey(context: BrokerContext, topicNames: readonly string[], key: string): string[] {
  const msgIds: string[] = [];
  for (const topic of topicNames) {
    if (msgIds.length >= traceKeyMessagesMax) break;
    if (!isBuiltStoredHop({ topic, properties: undefined })) continue;
    for (const message of context.store.queryByKey(topic, key, traceKeyMessagesMax - msgIds.length)) {
      if (message.msgId !== undefined) msgIds.push(message.msgId);
    }
  }
  return msgIds;
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
