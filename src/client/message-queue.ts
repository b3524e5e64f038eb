/**
 * A MessageQueue names one queue of a topic on one broker (RocketMQ's `MessageQueue`): the unit
 * producers pick for a send and consumer-group members divide among themselves. Queues are
 * compared and sorted by (topic, brokerName, queueId) so every member of a group sees the same
 * order and computes the same allocation.
 */

export interface MessageQueue {
  readonly topic: string;
  /** Which broker holds the queue; a RouteResolver maps it to an address. */
  readonly brokerName: string;
  readonly queueId: number;
}

/** A stable string key, for maps and logs: `topic@brokerName#queueId`. */
export function queueKey(queue: MessageQueue): string {
  return `${queue.topic}@${queue.brokerName}#${queue.queueId}`;
}

export function compareQueues(a: MessageQueue, b: MessageQueue): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.queueId - b.queueId;
}

export function sortQueues(queues: readonly MessageQueue[]): MessageQueue[] {
  return [...queues].sort(compareQueues);
}
