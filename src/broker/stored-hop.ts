/**
 * The "stored" hop of a message's trace (issue 13), built when a trace is asked for from the
 * message's own record — never written on append. The record already holds everything the hop
 * says (store time, topic, queue, queue offset, CommitLog offset, msgId, keys, tags), so writing
 * it again to the trace topic, indexed by msgId and keys, would only double each send's cost.
 *
 * A record yields a stored hop when the trace writer would have called it one: a message in a
 * user topic (sent, committed, or routed by REST), not a copy made by the broker (timer record,
 * half message, delivered, retry or dead-letter copy — those hops are still written), not a
 * message whose sender turned tracing off, and only while the broker's `traceEnabled` is on.
 */

import { propertyNames } from "../common/message-properties.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { deadLetterTopicPrefix, isSystemTopic, retryTopicPrefix } from "../common/system-topics.ts";
import { type TraceHop, isTraceOff, traceparentProperty } from "../protocol/trace-record.ts";
import type { BrokerContext } from "./broker-context.ts";

/** How hops recorded by this broker name it: "host:port" (an IPv6 host in brackets). */
export function brokerTraceHost(context: Pick<BrokerContext, "advertisedHost" | "port">): string {
  return `${context.advertisedHost.includes(":") ? `[${context.advertisedHost}]` : context.advertisedHost}:${context.port}`;
}

/** Whether the hop a record's append tells of is the stored hop that trace queries build (and the writer leaves out). */
export function isBuiltStoredHop(record: { readonly topic: string; readonly properties: Readonly<Record<string, string>> | undefined }): boolean {
  const { topic, properties } = record;
  return !isSystemTopic(topic) && !topic.startsWith(retryTopicPrefix) && !topic.startsWith(deadLetterTopicPrefix) && properties?.[propertyNames.timerSourceOffset] === undefined;
}

/** The stored hop of a message read back from this broker's store, or undefined when it has none. */
export function storedHopOf(context: BrokerContext, message: StoredMessage): TraceHop | undefined {
  const { msgId, topic, properties } = message;
  if (!context.config.traceEnabled || msgId === undefined || topic === context.config.traceTopic) return undefined;
  if (isTraceOff(properties) || !isBuiltStoredHop(message)) return undefined;
  const hop: TraceHop = {
    hop: "stored",
    msgId,
    topic,
    host: brokerTraceHost(context),
    timeMs: message.storeTimestampMs,
    status: "ok",
    queueId: message.queueId,
    queueOffset: message.queueOffset,
    storeTimeMs: message.storeTimestampMs,
    offsetMsgId: context.messages.offsetMsgId(message.physicalOffset),
  };
  if (message.keys.length > 0) hop.keys = [...message.keys];
  if (message.tags !== undefined) hop.tags = message.tags;
  if (message.reconsumeTimes !== 0) hop.reconsumeTimes = message.reconsumeTimes;
  const traceparent = properties[traceparentProperty];
  if (traceparent !== undefined) hop.traceparent = traceparent;
  return hop;
}
