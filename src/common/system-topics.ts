/**
 * The system topics of the message model (DESIGN §14), with RocketMQ's names. Users cannot send
 * to them directly; the store routes their records by name (a scheduled message is not visible).
 */

export const systemTopics = {
  /** Every scheduled message (delay levels included) until it is due. */
  wheelTimer: "rmq_sys_wheel_timer",
  transactionHalf: "RMQ_SYS_TRANS_HALF_TOPIC",
  transactionOperations: "RMQ_SYS_TRANS_OP_HALF_TOPIC",
  trace: "RMQ_SYS_TRACE_TOPIC",
} as const;

export const retryTopicPrefix = "%RETRY%";

/**
 * The producer group of half messages sent over REST. REST producers cannot be checked back:
 * such a half moves to the exhausted list when its first check-back falls due, unless ended.
 */
export const restProducerGroup = "MQ_REST_PRODUCER";
export const deadLetterTopicPrefix = "%DLQ%";

const systemTopicNames: ReadonlySet<string> = new Set(Object.values(systemTopics));

/** One of the broker's own topics (the names above), which no user sends to or adopts. */
export function isSystemTopic(topic: string): boolean {
  return systemTopicNames.has(topic);
}
