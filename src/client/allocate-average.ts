/**
 * Average allocation (RocketMQ's AllocateMessageQueueAveragely): the sorted queues are cut into
 * contiguous ranges, one per sorted member; the first `queues % members` members get one extra.
 * 8 queues over 3 members: [0,1,2] [3,4,5] [6,7]. Members beyond the queue count get nothing.
 */

import { sortedMembers } from "./sorted-members.ts";
import { type MessageQueue, sortQueues } from "./message-queue.ts";

export function allocateAverage(queues: readonly MessageQueue[], clientIds: readonly string[], clientId: string): MessageQueue[] {
  const members = sortedMembers(clientIds);
  const index = members.indexOf(clientId);
  if (index < 0 || queues.length === 0) return [];
  const all = sortQueues(queues);
  const base = Math.floor(all.length / members.length);
  const extra = all.length % members.length;
  const size = base + (index < extra ? 1 : 0);
  const start = index * base + Math.min(index, extra);
  return all.slice(start, start + size);
}
