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
export const deadLetterTopicPrefix = "%DLQ%";

const systemTopicNames: ReadonlySet<string> = new Set(Object.values(systemTopics));

/** One of the broker's own topics (the names above), which no user sends to or adopts. */
export function isSystemTopic(topic: string): boolean {
  return systemTopicNames.has(topic);
}
