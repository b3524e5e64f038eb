/**
 * The two offsets RocketMQ keeps as plain `long`, made distinct so they cannot be swapped:
 * a byte position in the CommitLog, and an entry index in one consume queue. Both stay below
 * 2^53 (8 PiB of log, 9e15 messages a queue), so a JavaScript number holds them exactly.
 *
 * A branded offset is still a number for reading (compare, print, serialize). Making one from a
 * plain number (`physicalOffset(n)`, `queueOffset(n)`) belongs where a number enters: the wire,
 * disk, JSON or user input. Moving along a queue keeps the brand (`queueOffsetPlus`, `laterQueueOffset`).
 */

export type PhysicalOffset = number & { readonly __brand: "PhysicalOffset" };
export type QueueOffset = number & { readonly __brand: "QueueOffset" };

export const physicalOffset = (value: number): PhysicalOffset => value as PhysicalOffset;
export const queueOffset = (value: number): QueueOffset => value as QueueOffset;

/** Where every queue starts, and what an empty queue's min and max are. */
export const queueOffsetZero = queueOffset(0);

/** The offset `count` entries after `offset` in the same queue. */
export const queueOffsetPlus = (offset: QueueOffset, count: number): QueueOffset => (offset + count) as QueueOffset;

/** The later of two offsets of one queue. */
export const laterQueueOffset = (a: QueueOffset, b: QueueOffset): QueueOffset => (a >= b ? a : b);
