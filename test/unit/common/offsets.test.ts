/**
 * Branded offsets: a CommitLog byte position (PhysicalOffset) and a consume-queue index
 * (QueueOffset) are distinct types, so swapping them is a compile error. The type-level half of
 * this file is checked by `npm run check` (tsc covers test/): every `@ts-expect-error` below must
 * meet an error, or tsc reports the directive as unused and the check fails.
 */

import { describe, expect, test } from "bun:test";
import { ConsumerOffsetManager } from "../../../src/broker/consumer-offset-manager.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";
import { decodeOffsetMsgId } from "../../../src/common/ids.ts";
import { laterQueueOffset, physicalOffset, queueOffset, queueOffsetPlus, queueOffsetZero, type PhysicalOffset, type QueueOffset } from "../../../src/common/offsets.ts";
import type { CommitLog } from "../../../src/store/commit-log.ts";
import type { MessageStore } from "../../../src/store/message-store.ts";
import type { StoreEvents } from "../../../src/store/store-options.ts";

/** Never called: it exists for tsc. Each marked line swaps the two offsets on a real signature. */
export function swappedOffsetsDoNotCompile(store: MessageStore, commitLog: CommitLog, offsets: ConsumerOffsetManager, received: ReceivedMessage): void {
  const queue: QueueOffset = queueOffset(3);
  const position: PhysicalOffset = physicalOffset(4096);

  // @ts-expect-error a queue index is not a CommitLog position
  store.getByPhysicalOffset(queue);
  // @ts-expect-error a queue index is not a CommitLog position
  store.recordAt(queue);
  // @ts-expect-error a queue index is not a CommitLog position
  commitLog.locate(received.queueOffset);
  // @ts-expect-error a CommitLog position is not a queue index
  store.getMessages({ topic: "T", queueId: 0, offset: position, maxCount: 1 });
  // @ts-expect-error a CommitLog position is not a queue index
  offsets.commit("group", "T", 0, decodeOffsetMsgId("0A01020300002A9F0000000000001000").physicalOffset);
  // @ts-expect-error a CommitLog position is not a queue index
  const asQueue: QueueOffset = position;
  // @ts-expect-error a queue index is not a CommitLog position
  const asPosition: PhysicalOffset = queue;
  // @ts-expect-error a plain number becomes an offset only where it enters (wire, disk, JSON, user input)
  store.getByPhysicalOffset(4096);
  const consumeQueue = store.consumeQueue("T", 0)!;
  // @ts-expect-error a CommitLog position is not a queue index
  consumeQueue.get(position);
  // @ts-expect-error a CommitLog position is not a queue index
  consumeQueue.scan(position, () => true);
  // @ts-expect-error a plain number is not a queue index
  consumeQueue.locate(3);
  // @ts-expect-error a queue index is not a CommitLog position
  consumeQueue.deleteBefore(queue);
  // @ts-expect-error arithmetic gives a plain number: moving along a queue goes through queueOffsetPlus
  const next: QueueOffset = queue + 1;

  // The store's events carry branded offsets.
  const stored: Pick<StoreEvents["message.stored"], "queueOffset" | "physicalOffset"> = { queueOffset: queue, physicalOffset: position };
  const storedEvent: { queueOffset: QueueOffset; physicalOffset: PhysicalOffset } = stored;

  // Reading either as a number needs nothing.
  const sum: number = queue + position + received.queueOffset;
  void [asQueue, asPosition, next, sum, storedEvent];
}

describe("offsets", () => {
  test("a branded offset is the number it was made from", () => {
    expect(queueOffset(7) + 0).toBe(7);
    expect(physicalOffset(2 ** 53 - 1) + 0).toBe(2 ** 53 - 1);
    expect(JSON.stringify({ queueOffset: queueOffset(7) })).toBe('{"queueOffset":7}');
  });

  test("moving along a queue keeps the brand and the value", () => {
    expect(queueOffsetPlus(queueOffset(7), 3) + 0).toBe(10);
    expect(queueOffsetPlus(queueOffsetZero, 0) + 0).toBe(0);
    expect(laterQueueOffset(queueOffset(4), queueOffset(9)) + 0).toBe(9);
    expect(laterQueueOffset(queueOffset(9), queueOffset(4)) + 0).toBe(9);
  });

  test("an offsetMsgId decodes to its CommitLog position", () => {
    const position: PhysicalOffset = decodeOffsetMsgId("0A01020300002A9F0000000000001000").physicalOffset;
    expect(position + 0).toBe(4096);
  });
});
