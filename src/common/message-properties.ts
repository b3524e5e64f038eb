/**
 * Message properties as RocketMQ stores them: `name \u0001 value \u0002` pairs, UTF-8. System
 * properties (tags, keys, the producer's msgId, delay, transaction markers) share the map with
 * user properties under reserved upper-case names.
 */

export const propertyNames = {
  tags: "TAGS",
  keys: "KEYS",
  msgId: "UNIQ_KEY",
  delayLevel: "DELAY",
  deliverAtMs: "DELIVER_AT",
  shardingKey: "SHARDING_KEY",
  producerGroup: "PGROUP",
  transactionPrepared: "TRAN_MSG",
  /** A transactional message's own first check-back delay, seconds (RocketMQ's name); a user property. */
  checkImmunitySeconds: "CHECK_IMMUNITY_TIME_IN_SECONDS",
  realTopic: "REAL_TOPIC",
  realQueueId: "REAL_QID",
  retryTopic: "RETRY_TOPIC",
  originMsgId: "ORIGIN_MESSAGE_ID",
  reconsumeTimes: "RECONSUME_TIME",
  maxReconsumeTimes: "MAX_RECONSUME_TIMES",
  timerDeliverMs: "TIMER_DELIVER_MS",
  timerDelayMs: "TIMER_DELAY_MS",
  /** "false" turns tracing off for the message: neither its SDK nor the broker records hops about it (trace messages carry it). */
  traceOn: "TRACE_ON",
  /** On a delivered scheduled message: the delivery time it was scheduled for (ms). */
  timerOutMs: "TIMER_OUT_MS",
  /** On a delivered scheduled message: when the broker delivered it (ms). */
  timerDeliveredMs: "TIMER_DELIVERED_MS",
  /** On a delivered scheduled message: the CommitLog offset of its timer record, so a replay can tell it was delivered. */
  timerSourceOffset: "TIMER_SOURCE_OFFSET",
  /** On a DLQ entry: the topic the message was first sent to. */
  dlqOriginTopic: "DLQ_ORIGIN_TOPIC",
  /** On a DLQ entry: the producer's msgId of the message that failed. */
  dlqOriginMsgId: "DLQ_ORIGIN_MESSAGE_ID",
  /** On a retry message and a DLQ entry: when the group first failed to consume it (ms). */
  firstFailureMs: "FIRST_FAILURE_MS",
  /** On a retry message and a DLQ entry: when the group last failed to consume it (ms). */
  lastFailureMs: "LAST_FAILURE_MS",
  /** On a retry message and a DLQ entry: the client id of the consumer that last failed it. */
  lastConsumerClientId: "LAST_CONSUMER_CLIENT_ID",
  /** On a retry message and a DLQ entry: the last failure's error text (at most consumeErrorTextBytesMax). */
  consumeErrorText: "CONSUME_ERROR_TEXT",
  /** The sender's dedup key: the dedup window knows the message by it instead of its msgId (indexed per topic). */
  dedupKey: "DEDUP_KEY",
  /**
   * On a retry message and a DLQ entry: which failure made it — `<CommitLog offset of the failed
   * record>:<its reconsume count>:<group>` — indexed, so a repeated send-back of that failure
   * (its answer lost, or the broker restarted) finds this copy instead of storing a second.
   */
  sendBackKey: "SEND_BACK_KEY",
} as const;

/**
 * What a DLQ entry says about why it is there (issue "explainable DLQ"): the reconsume count is
 * RECONSUME_TIME, the same property a retry message carries.
 */
export const deadLetterPropertyNames = {
  originTopic: propertyNames.dlqOriginTopic,
  originMsgId: propertyNames.dlqOriginMsgId,
  reconsumeTimes: propertyNames.reconsumeTimes,
  firstFailureMs: propertyNames.firstFailureMs,
  lastFailureMs: propertyNames.lastFailureMs,
  lastConsumerClientId: propertyNames.lastConsumerClientId,
  errorText: propertyNames.consumeErrorText,
} as const;

/**
 * Property names only the broker and the SDK may set (DESIGN §14): a message from a user carrying
 * one is refused with PROPERTY_INVALID on every transport, so that no user can make a message
 * look scheduled, transactional, retried or indexed under another id. `SHARDING_KEY` is not here:
 * clients record the sharding key they routed by, and the broker never acts on it. `TRACE_ON` is
 * not here either: a sender may turn tracing off for its own message (`TRACE_ON=false`), as trace
 * messages do. `traceparent` (W3C trace context) is a user property and passes through.
 */
export const reservedPropertyNames: ReadonlySet<string> = new Set([
  propertyNames.tags,
  propertyNames.keys,
  propertyNames.msgId,
  propertyNames.delayLevel,
  propertyNames.deliverAtMs,
  propertyNames.timerDeliverMs,
  propertyNames.timerDelayMs,
  propertyNames.realTopic,
  propertyNames.realQueueId,
  propertyNames.transactionPrepared,
  propertyNames.producerGroup,
  propertyNames.retryTopic,
  propertyNames.originMsgId,
  propertyNames.reconsumeTimes,
  propertyNames.maxReconsumeTimes,
  propertyNames.timerOutMs,
  propertyNames.timerDeliveredMs,
  propertyNames.timerSourceOffset,
  propertyNames.dlqOriginTopic,
  propertyNames.dlqOriginMsgId,
  propertyNames.firstFailureMs,
  propertyNames.lastFailureMs,
  propertyNames.lastConsumerClientId,
  propertyNames.consumeErrorText,
  propertyNames.dedupKey,
  propertyNames.sendBackKey,
]);

/** Keys (the KEYS property) are separated by spaces, as in RocketMQ. */
export const keySeparator = " ";

const nameValueSeparator = "\u0001";
const pairSeparator = "\u0002";

export type Properties = Record<string, string>;

export function encodePropertiesText(properties: Properties): string {
  let text = "";
  for (const name in properties) {
    const value = properties[name];
    if (value === undefined) continue;
    text += name + nameValueSeparator + value + pairSeparator;
  }
  return text;
}

export function decodePropertiesText(text: string): Properties {
  const properties: Properties = {};
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf(pairSeparator, start);
    const pair = text.slice(start, end < 0 ? text.length : end);
    const split = pair.indexOf(nameValueSeparator);
    if (split > 0) properties[pair.slice(0, split)] = pair.slice(split + 1);
    if (end < 0) break;
    start = end + 1;
  }
  return properties;
}

/** A property name or value must not contain the two separator characters. */
export function findInvalidProperty(properties: Properties): string | undefined {
  for (const name in properties) {
    const value = properties[name] ?? "";
    if (name.length === 0 || /[\u0001\u0002]/.test(name) || /[\u0001\u0002]/.test(value)) return name;
  }
  return undefined;
}

export function splitKeys(keys: string | undefined): string[] {
  if (keys === undefined || keys.length === 0) return [];
  return keys.split(keySeparator).filter((key) => key.length > 0);
}

/**
 * The 32-bit hash of a tag stored in each consume-queue entry, so tag filters skip messages
 * without reading the CommitLog. Java's String.hashCode, so it is easy to compute anywhere.
 */
export function tagHash(tag: string): number {
  let hash = 0;
  for (let index = 0; index < tag.length; index++) hash = (Math.imul(hash, 31) + tag.charCodeAt(index)) | 0;
  return hash >>> 0;
}
