/**
 * The "scheduled" hop of a delayed message's trace (issue 10), built when a trace is asked for
 * from the message's timer record — never written on a send. The timer record already holds
 * everything the hop says (msgId, real topic, delivery time, store time, keys, tags,
 * traceparent). A timer record is not in the msgId index (it is not visible), so a trace query
 * reaches it from what is: the delivered copy names it (TIMER_SOURCE_OFFSET), and before
 * delivery the message's open scheduler job holds its offset. Writing the hop to the trace topic
 * cost each scheduled send a second record.
 *
 * So a message cancelled before delivery (no copy, no open job) shows no scheduled hop, and a
 * key finds a delayed message's scheduled hop once it is delivered (its timer record is not in
 * the key index either).
 *
 * A timer record bound for a %RETRY% topic is a retry, not a schedule: its "retried" hop is
 * still written (it carries the consumer's error text, which the record does not).
 */

import { propertyNames } from "../common/message-properties.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { physicalOffset } from "../common/offsets.ts";
import { retryTopicPrefix, systemTopics } from "../common/system-topics.ts";
import { type TraceHop, isTraceOff, traceparentProperty } from "../protocol/trace-record.ts";
import type { BrokerContext } from "./broker-context.ts";
import { scheduledMessageJobKind } from "./scheduled-message-job.ts";
import { brokerTraceHost } from "./stored-hop.ts";

/** Whether a record is the timer record of a scheduled send, whose hop trace queries build (and the writer leaves out). */
export function isBuiltScheduledHop(record: { readonly topic: string; readonly properties: Readonly<Record<string, string>> | undefined }): boolean {
  if (record.topic !== systemTopics.wheelTimer) return false;
  const realTopic = record.properties?.[propertyNames.realTopic];
  return realTopic === undefined || !realTopic.startsWith(retryTopicPrefix);
}

/**
 * The timer record of the message `msgId` whose copies `copies` are (found by msgId): the one a
 * delivered copy names, else the one its open job points at; undefined when neither is found.
 */
export function timerRecordOf(context: BrokerContext, msgId: string, copies: readonly StoredMessage[]): StoredMessage | undefined {
  for (const copy of copies) {
    const source = integerOf(copy.properties[propertyNames.timerSourceOffset]);
    if (source === undefined) continue;
    const record = context.store.getByPhysicalOffset(physicalOffset(source));
    // A retry's delivered copy names its retry timer record (and shares the msgId): not the schedule.
    if (record !== undefined && record.msgId?.toUpperCase() === msgId && isBuiltScheduledHop(record)) return record;
  }
  const job = context.scheduler.findOpen(scheduledMessageJobKind, msgId);
  if (job === undefined) return undefined;
  const record = context.store.getByPhysicalOffset(job.payload.physicalOffset);
  return record?.msgId?.toUpperCase() === msgId ? record : undefined;
}

/** The scheduled hop of a timer record read back from this broker's store, or undefined when it has none. */
export function scheduledHopOf(context: BrokerContext, message: StoredMessage): TraceHop | undefined {
  const { msgId, properties } = message;
  if (!context.config.traceEnabled || msgId === undefined || isTraceOff(properties) || !isBuiltScheduledHop(message)) return undefined;
  const hop: TraceHop = {
    hop: "scheduled",
    msgId,
    topic: properties[propertyNames.realTopic] ?? message.topic,
    host: brokerTraceHost(context),
    timeMs: message.storeTimestampMs,
    status: "ok",
  };
  if (message.keys.length > 0) hop.keys = [...message.keys];
  if (message.tags !== undefined) hop.tags = message.tags;
  const traceparent = properties[traceparentProperty];
  if (traceparent !== undefined) hop.traceparent = traceparent;
  const deliverAtMs = integerOf(properties[propertyNames.timerDeliverMs]);
  if (deliverAtMs !== undefined) hop.deliverAtMs = deliverAtMs;
  return hop;
}

/** A non-negative integer property (a time or an offset), or undefined. */
function integerOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
