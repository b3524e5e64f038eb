/**
 * The scheduled-delivery transform (issue 10, DESIGN §14): a message sent with a delay level, a
 * delay (delayMs) or a delivery time (deliverAtMs) becomes a timer record in
 * rmq_sys_wheel_timer, queue 0, carrying REAL_TOPIC, REAL_QID and TIMER_DELIVER_MS (RocketMQ's
 * names); the store's schedule dispatcher makes it a scheduler job, and timer-delivery.ts
 * appends it into its real topic when due.
 *
 *   deliverAtMs  wins over delayMs, which wins over delayLevel;
 *   delayLevel   1..N of the `messageDelayLevel` table; above N it is clamped to N (RocketMQ);
 *   delayMs      turned into a time here, on the broker's clock, so a sender's skew does not matter.
 *
 * The delay must be 1 ms..`timerMaxDelayMs`, else TIMER_DELAY_OUT_OF_RANGE (carrying the limit).
 * A delivery time already past is delivered at once: the message is stored in its real topic
 * and the send result says `scheduled: false`.
 */

import type { Clock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { propertyNames } from "../common/message-properties.ts";
import { systemTopics } from "../common/system-topics.ts";
import type { MessageTransform, OutgoingRecord } from "./message-transform.ts";

export interface ScheduledDeliveryOptions {
  /** The delay-level table in ms: level n waits levelsMs[n - 1]. */
  readonly levelsMs: readonly number[];
  readonly maxDelayMs: number;
  readonly clock: Clock;
}

/** The delivery time a message asks for, on `nowMs`; undefined when it asks for none. Throws TIMER_DELAY_OUT_OF_RANGE. */
export function requestedDeliveryMs(message: OutgoingRecord, options: ScheduledDeliveryOptions, nowMs: number): number | undefined {
  const { deliverAtMs, delayMs } = message;
  const level = message.delayLevel ?? 0;
  let dueMs: number;
  if (deliverAtMs !== undefined) dueMs = deliverAtMs;
  else if (delayMs !== undefined) {
    if (!(delayMs >= 1)) throw new MqError("TIMER_DELAY_OUT_OF_RANGE", { delayMs, limitMs: options.maxDelayMs });
    dueMs = nowMs + delayMs;
  } else if (level > 0) dueMs = nowMs + options.levelsMs[Math.min(level, options.levelsMs.length) - 1]!;
  else return undefined;
  if (dueMs - nowMs > options.maxDelayMs) throw new MqError("TIMER_DELAY_OUT_OF_RANGE", { delayMs: dueMs - nowMs, limitMs: options.maxDelayMs });
  return dueMs;
}

export function scheduledDeliveryTransform(options: ScheduledDeliveryOptions): MessageTransform {
  return (message) => {
    if (message.deliverAtMs === undefined && message.delayMs === undefined && (message.delayLevel ?? 0) <= 0) return message;
    const nowMs = options.clock.nowMs();
    const dueMs = requestedDeliveryMs(message, options, nowMs)!;
    if (dueMs <= nowMs) return { ...withoutDelivery(message), delivery: { deliverAtMs: dueMs, scheduled: false } };
    return timerRecord(message, dueMs);
  };
}

/** The timer record of `message`, due at `dueMs` (also used for a batch's messages due now). */
export function timerRecord(message: OutgoingRecord, dueMs: number): OutgoingRecord {
  if (message.msgId === undefined) throw new MqError("INVALID_FIELD", { field: "msgId", reason: "is required for a scheduled message" });
  // Copied by a loop, and the record below in one spread: every send of a scheduled batch comes
  // through here, and each copy more was garbage the heap valve collects (issue 10's send ratio).
  const properties: Record<string, string> = {};
  const user = message.properties;
  if (user !== undefined) for (const name in user) properties[name] = user[name]!;
  properties[propertyNames.realTopic] = message.topic;
  properties[propertyNames.realQueueId] = String(message.queueId);
  properties[propertyNames.timerDeliverMs] = String(dueMs);
  if ((message.delayLevel ?? 0) > 0) properties[propertyNames.delayLevel] = String(message.delayLevel);
  // The encoded properties no longer match: the store encodes them again.
  return { ...message, delayLevel: undefined, deliverAtMs: undefined, delayMs: undefined, propertiesBytes: undefined, topic: systemTopics.wheelTimer, queueId: 0, properties, delivery: { deliverAtMs: dueMs, scheduled: true } };
}

/** The message without what it asked of delivery (cleared, not removed: one copy, of a fixed shape). */
function withoutDelivery(message: OutgoingRecord): OutgoingRecord {
  return { ...message, delayLevel: undefined, deliverAtMs: undefined, delayMs: undefined };
}
