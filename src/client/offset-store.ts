/**
 * Where a consumer group's progress lives. Clustering groups share offsets on the broker
 * (RemoteOffsetStore: QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET); broadcasting consumers
 * each keep their own in a local file (LocalOffsetStore), because every member reads every
 * message and one shared offset would be wrong for all but one of them.
 *
 * An offset is the queue offset of the next message to consume: RocketMQ style, a consumer
 * commits the offset of its oldest unfinished message, so a crash replays from there.
 */

import type { QueueOffset } from "../common/offsets.ts";
import type { MessageQueue } from "./message-queue.ts";

export interface OffsetCommit {
  readonly queue: MessageQueue;
  readonly offset: QueueOffset;
}

export interface OffsetStore {
  /** The committed offset, or -1 when the group has none for this queue. */
  read(queue: MessageQueue): Promise<QueueOffset | -1>;
  /** Persists offsets; resolves once they are stored (broker answered, file renamed). */
  commit(commits: readonly OffsetCommit[]): Promise<void>;
}
