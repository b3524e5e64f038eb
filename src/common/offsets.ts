/**
 * The two offsets RocketMQ keeps as plain `long`, made distinct so they cannot be swapped:
 * a byte position in the CommitLog, and an entry index in one consume queue. Both stay below
 * 2^53 (8 PiB of log, 9e15 messages a queue), so a JavaScript number holds them exactly.
 */

export type PhysicalOffset = number & { readonly __brand: "PhysicalOffset" };
export type QueueOffset = number & { readonly __brand: "QueueOffset" };

export const physicalOffset = (value: number): PhysicalOffset => value as PhysicalOffset;
export const queueOffset = (value: number): QueueOffset => value as QueueOffset;
