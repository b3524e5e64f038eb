/**
 * `consumer.readable({ highWaterMark, manualAck })`: a push consumer as a ReadableStream of
 * messages, so a pipeline can start in mq.
 *
 * The consumer's handler hands each message to the stream and resolves — acknowledging it — when
 * the stream is done with it; at most `highWaterMark` messages are handed over and not yet
 * acknowledged (a semaphore: the handler waits for a permit before handing over), so a slow
 * reader holds the consumer back instead of growing a buffer. The stream's own queue is empty
 * (its high-water mark is 0): a message is enqueued only when a reader asks for one.
 * - Automatic mode (the default): a message counts as acknowledged when the reader asks for the
 *   next one — the same rule as `for await` — so the one a `pipeTo` is working on is still open.
 * - Manual mode: `message.ack()` acknowledges it, `message.nack(error)` fails it.
 * `cancel(reason)` shuts the consumer down. Messages never read are abandoned: the consumer does
 * not finish them, their offsets are not committed, and they are delivered again. When the
 * reason is an Error (a `pipeTo` whose destination failed cancels its source with that error),
 * the messages read and not yet acknowledged fail with it instead and take the consumer's retry
 * path (sent back for redelivery after the group's back-off) — one retry layer, no local retries.
 */

import { MqError } from "../common/errors.ts";
import { streamHighWaterMarkMessagesDefault, streamHighWaterMarkMessagesMax } from "../common/limits.ts";
import type { QueueOffset } from "../common/offsets.ts";
import type { ReceivedMessage } from "./message.ts";
import { Semaphore } from "./semaphore.ts";

export interface ReadableOptions {
  /** Messages handed to the stream and not yet acknowledged, at most; default 64. */
  readonly highWaterMark?: number;
  /** Acknowledge with `message.ack()` instead of on the next read. */
  readonly manualAck?: boolean;
}

export interface StreamMessage extends ReceivedMessage {
  /** Acknowledges the message (in automatic mode the next read does it). */
  ack(): void;
  /** Fails the message: it takes the consumer's retry path with this error's text. */
  nack(error?: Error): void;
}

/**
 * A message handed to the stream: the consumer's message seen through getters, with `ack` and
 * `nack` as shared methods. One small object per message — no per-message closures, and no
 * object whose prototype is the message (each of those made the runtime build a new hidden
 * class, the costliest step of a read in a profile of a 1,000,000-message pipe).
 */
class Handoff implements StreamMessage {
  settled = false;

  constructor(
    readonly message: ReceivedMessage,
    private readonly owner: MessageReadable,
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {}

  get topic(): string {
    return this.message.topic;
  }
  get queueId(): number {
    return this.message.queueId;
  }
  get queueOffset(): QueueOffset {
    return this.message.queueOffset;
  }
  get msgId(): string {
    return this.message.msgId;
  }
  get offsetMsgId(): string {
    return this.message.offsetMsgId;
  }
  get body(): Uint8Array {
    return this.message.body;
  }
  get tags(): string | undefined {
    return this.message.tags;
  }
  get keys(): readonly string[] {
    return this.message.keys;
  }
  get properties(): Readonly<Record<string, string>> {
    return this.message.properties;
  }
  get bornTimestampMs(): number {
    return this.message.bornTimestampMs;
  }
  get storeTimestampMs(): number {
    return this.message.storeTimestampMs;
  }
  get reconsumeTimes(): number {
    return this.message.reconsumeTimes;
  }
  get originTopic(): string {
    return this.message.originTopic;
  }
  get originMsgId(): string {
    return this.message.originMsgId;
  }
  get bornHost(): string {
    return this.message.bornHost;
  }
  get storeHost(): string {
    return this.message.storeHost;
  }
  get storeSize(): number {
    return this.message.storeSize;
  }
  get brokerName(): string | undefined {
    return this.message.brokerName;
  }
  text(): string {
    return this.message.text();
  }
  toJSON(): unknown {
    return this.message;
  }

  ack(): void {
    this.owner.settle(this, undefined);
  }

  nack(error?: Error): void {
    this.owner.settle(this, error ?? new Error("message nacked"));
  }
}

export class MessageReadable {
  readonly stream: ReadableStream<StreamMessage>;
  readonly highWaterMark: number;
  private readonly slots: Semaphore;
  private readonly closing = new AbortController();
  private readonly manualAck: boolean;
  private readonly waiting: Handoff[] = [];
  /** Read by the stream's reader and not yet acknowledged. */
  private readonly open = new Set<Handoff>();
  private reader: ((handoff: Handoff) => void) | undefined;
  private controller: ReadableStreamDefaultController<StreamMessage> | undefined;
  private cancelled = false;

  constructor(
    options: ReadableOptions,
    /** Starts the consumer with the given handler. */
    start: (handler: (message: ReceivedMessage) => Promise<void>) => Promise<void>,
    /** Shuts the consumer down. */
    private readonly shutdown: () => Promise<void>,
  ) {
    const highWaterMark = options.highWaterMark ?? streamHighWaterMarkMessagesDefault;
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1 || highWaterMark > streamHighWaterMarkMessagesMax) {
      throw new MqError("INVALID_FIELD", { field: "highWaterMark", reason: `must be an integer in 1..${streamHighWaterMarkMessagesMax}, got ${highWaterMark}` });
    }
    this.highWaterMark = highWaterMark;
    this.slots = new Semaphore(highWaterMark);
    this.manualAck = options.manualAck ?? false;
    this.stream = new ReadableStream<StreamMessage>(
      {
        start: (controller) => {
          this.controller = controller;
          return start(this.handler);
        },
        pull: (controller) => this.pull(controller),
        cancel: (reason) => this.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** Messages handed over and not yet acknowledged (read or waiting to be read). */
  get unacknowledged(): number {
    return this.slots.inUse;
  }

  /** The consumer's handler: resolves when the message is acknowledged, rejects when it fails or is abandoned. */
  readonly handler = async (message: ReceivedMessage): Promise<void> => {
    if (!this.slots.tryAcquire()) await this.slots.acquire(this.closing.signal);
    try {
      await new Promise<void>((resolve, reject) => this.handOver(new Handoff(message, this, resolve, reject)));
    } finally {
      this.slots.release();
    }
  };

  /** Acknowledges (`error` undefined) or fails a handed-over message, once. */
  settle(handoff: Handoff, error: Error | undefined): void {
    if (handoff.settled) return;
    handoff.settled = true;
    this.open.delete(handoff);
    if (error === undefined) handoff.resolve();
    else handoff.reject(error);
  }

  /** Abandons every message not yet read, and the read ones unless they already failed; the consumer is shutting down. */
  close(): void {
    if (this.closing.signal.aborted) return;
    this.closing.abort(abandoned());
    for (const handoff of [...this.waiting.splice(0), ...this.open]) this.settle(handoff, abandoned());
    // The consumer shut down on its own (shutdown(), its signal): readers see the stream end.
    if (!this.cancelled) this.controller?.close();
  }

  private handOver(handoff: Handoff): void {
    if (this.closing.signal.aborted) {
      this.settle(handoff, abandoned());
    } else if (this.reader !== undefined) {
      const reader = this.reader;
      this.reader = undefined;
      reader(handoff);
    } else {
      this.waiting.push(handoff);
    }
  }

  private async pull(controller: ReadableStreamDefaultController<StreamMessage>): Promise<void> {
    // Asking for the next message acknowledges the one before (automatic mode).
    if (!this.manualAck) for (const handoff of this.open) this.settle(handoff, undefined);
    const handoff = this.waiting.shift() ?? (await new Promise<Handoff>((resolve) => (this.reader = resolve)));
    if (handoff.settled) return; // abandoned while waiting; the stream is being cancelled
    this.open.add(handoff);
    controller.enqueue(handoff);
  }

  private async cancel(reason: unknown): Promise<void> {
    this.cancelled = true;
    if (reason instanceof Error) for (const handoff of this.open) this.settle(handoff, reason);
    this.close();
    await this.shutdown();
  }
}

function abandoned(): MqError {
  return new MqError("ABORTED", { reason: "the consumer's stream is cancelled" });
}
