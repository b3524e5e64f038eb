/**
 * The consumer's state for one queue it owns: messages pulled and not yet finished, the next
 * offset to pull, and whether it is being released.
 *
 * Invariants:
 * - `unfinished` holds pulled messages in queue-offset order (a Map keeps insertion order, and
 *   pulls arrive in order), each until its handler succeeds or its failure is handed back to the broker (send-back.ts); so the offset to commit
 *   — the oldest unfinished message, or the next pull offset when none is left — is its first key.
 * - At most `capacity` messages are unfinished: the pull loop waits in `waitForRoom` beyond that,
 *   which bounds the consumer's memory whatever the handler's speed.
 * - Once `released` is set nothing new starts on this queue; `whenIdle` resolves when the
 *   handlers already running have finished, after which the commit offset is final.
 */

import type { QueueOffset } from "../common/offsets.ts";
import type { ReceivedMessage } from "./message.ts";
import { type MessageQueue, queueKey } from "./message-queue.ts";

export class ProcessQueue {
  readonly key: string;
  /** Aborts the pending long-poll pull when the queue is released. */
  readonly abort = new AbortController();
  readonly unfinished = new Map<QueueOffset, ReceivedMessage>();
  /** Handlers running now for messages of this queue. */
  running = 0;
  released = false;
  /** Orderly mode: a worker is taking this queue's messages one at a time. */
  working = false;
  /** The last offset committed (or read at start): commits are skipped when nothing moved. */
  committedOffset: QueueOffset;
  private roomWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly queue: MessageQueue,
    /** The queue offset the next pull asks for. */
    public nextOffset: QueueOffset,
    readonly capacity: number,
  ) {
    this.key = queueKey(queue);
    this.committedOffset = nextOffset;
  }

  /** The offset to commit: the oldest unfinished message, else the next pull offset. */
  commitOffset(): QueueOffset {
    for (const offset of this.unfinished.keys()) return offset;
    return this.nextOffset;
  }

  add(messages: readonly ReceivedMessage[]): void {
    for (const message of messages) this.unfinished.set(message.queueOffset, message);
  }

  /** The handler of this message is done (succeeded, or failed and the broker took it back). */
  finish(offset: QueueOffset): void {
    this.unfinished.delete(offset);
    if (this.unfinished.size < this.capacity / 2 || this.unfinished.size === 0) this.wakeRoomWaiters();
  }

  /** The oldest unfinished message (orderly mode takes them one at a time from here). */
  head(): ReceivedMessage | undefined {
    for (const message of this.unfinished.values()) return message;
    return undefined;
  }

  startedHandler(): void {
    this.running++;
  }

  endedHandler(): void {
    this.running--;
    if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when fewer than `capacity` messages are unfinished, or the queue is released. */
  waitForRoom(): Promise<void> {
    if (this.released || this.unfinished.size < this.capacity) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Stops new work on the queue: the pull is aborted and nothing new is handed out. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.abort.abort(new Error(`queue ${this.key} released`));
    this.wakeRoomWaiters();
  }

  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
