/**
 * Round-robin allocation (RocketMQ's AllocateMessageQueueAveragelyByCircle): queue i of the
 * sorted queues goes to member i mod n of the sorted members. 8 queues over 3 members:
 * [0,3,6] [1,4,7] [2,5]. Neighbouring queues land on different members.
 */

import { sortedMembers } from "./sorted-members.ts";
import { type MessageQueue, sortQueues } from "./message-queue.ts";

export function allocateRoundRobin(queues: readonly MessageQueue[], clientIds: readonly string[], clientId: string): MessageQueue[] {
  const members = sortedMembers(clientIds);
  const index = members.indexOf(clientId);
  if (index < 0) return [];
  return sortQueues(queues).filter((_, queueIndex) => queueIndex % members.length === index);
}
