/**
 * Queue allocation: how the members of a consumer group divide a topic's queues. Each strategy
 * is a pure function of (all queues, all member ids, this member's id); every member calls it
 * with the same inputs and, because inputs are sorted first, computes the same answer, so each
 * queue is owned by exactly one member without any coordination beyond the member list.
 */

import { allocateAverage } from "./allocate-average.ts";
import { allocateConsistentHash } from "./allocate-consistent-hash.ts";
import { allocateRoundRobin } from "./allocate-round-robin.ts";
import type { MessageQueue } from "./message-queue.ts";

export type AllocationStrategy = (queues: readonly MessageQueue[], clientIds: readonly string[], clientId: string) => MessageQueue[];

export type AllocationName = "average" | "round-robin" | "consistent-hash";

export const allocationStrategies: Readonly<Record<AllocationName, AllocationStrategy>> = {
  average: allocateAverage,
  "round-robin": allocateRoundRobin,
  "consistent-hash": allocateConsistentHash,
};
