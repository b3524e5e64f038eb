/**
 * Consistent-hash allocation (RocketMQ's AllocateMessageQueueConsistentHash): every member puts
 * `virtualNodesPerMember` points on a 32-bit ring; a queue belongs to the first point at or after
 * its own hash (wrapping). When a member joins or leaves, only the queues next to its points
 * move, so most queues keep their owner — useful when a queue owner holds local state.
 */

import { hash32 } from "../common/hash.ts";
import { sortedMembers } from "./sorted-members.ts";
import { type MessageQueue, queueKey, sortQueues } from "./message-queue.ts";

export const virtualNodesPerMember = 16;

interface RingPoint {
  readonly hash: number;
  readonly member: string;
}

export function allocateConsistentHash(queues: readonly MessageQueue[], clientIds: readonly string[], clientId: string): MessageQueue[] {
  const members = sortedMembers(clientIds);
  if (!members.includes(clientId)) return [];
  const ring: RingPoint[] = members
    .flatMap((member) => Array.from({ length: virtualNodesPerMember }, (_, node) => ({ hash: hash32(`${member}#${node}`), member })))
    // Ties (astronomically rare) break by member id, so every member orders the ring the same.
    .sort((a, b) => a.hash - b.hash || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  return sortQueues(queues).filter((queue) => ownerOf(ring, hash32(queueKey(queue))) === clientId);
}

function ownerOf(ring: readonly RingPoint[], hash: number): string {
  let low = 0;
  let high = ring.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ring[middle]!.hash < hash) low = middle + 1;
    else high = middle;
  }
  return ring[low === ring.length ? 0 : low]!.member;
}
