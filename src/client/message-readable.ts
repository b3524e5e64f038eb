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

interface Handoff {
  readonly message: StreamMessage;
  settled: boolean;
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
  private readonly settlers = new WeakMap<Handoff, { ack: () => void; fail: (error: Error) => void }>();

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
    await this.slots.acquire(this.closing.signal);
    try {
      await new Promise<void>((resolve, reject) => {
        const handoff: Handoff = { message: undefined as unknown as StreamMessage, settled: false };
        const settle = (outcome: () => void) => {
          if (handoff.settled) return;
          handoff.settled = true;
          this.open.delete(handoff);
          outcome();
        };
        const ack = () => settle(resolve);
        const fail = (error: Error) => settle(() => reject(error));
        (handoff as { message: StreamMessage }).message = Object.create(message, {
          ack: { value: ack },
          nack: { value: (error?: Error) => fail(error ?? new Error("message nacked")) },
        }) as StreamMessage;
        this.settlers.set(handoff, { ack, fail });
        if (this.closing.signal.aborted) {
          fail(abandoned());
        } else if (this.reader !== undefined) {
          const reader = this.reader;
          this.reader = undefined;
          reader(handoff);
        } else {
          this.waiting.push(handoff);
        }
      });
    } finally {
      this.slots.release();
    }
  };

  /** Abandons every message not yet read, and the read ones unless they already failed; the consumer is shutting down. */
  close(): void {
if (this.closing.signal.aborted) return;
    this.closing.abort(abandoned());
    for (const handoff of [...this.waiting.splice(0), ...this.open]) this.settlers.get(handoff)?.fail(abandoned());
    // The consumer shut down on its own (shutdown(), its signal): readers see the stream end.
    if (!this.cancelled) this.controller?.close();
  }

  private async pull(controller: ReadableStreamDefaultController<StreamMessage>): Promise<void> {
    // Asking for the next message acknowledges the one before (automatic mode).
    if (!this.manualAck) for (const handoff of [...this.open]) this.settlers.get(handoff)?.ack();
    const handoff = this.waiting.shift() ?? (await new Promise<Handoff>((resolve) => (this.reader = resolve)));
    if (handoff.settled) return; // abandoned while waiting; the stream is being cancelled
    this.open.add(handoff);
    controller.enqueue(handoff.message);
  }

  private async cancel(reason: unknown): Promise<void> {
    this.cancelled = true;
    if (reason instanceof Error) for (const handoff of [...this.open]) this.settlers.get(handoff)?.fail(reason);
    this.close();
    await this.shutdown();
  }
}

function abandoned(): MqError {
  return new MqError("ABORTED", { reason: "the consumer's stream is cancelled" });
}
