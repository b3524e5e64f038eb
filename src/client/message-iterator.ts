/**
 * `for await (const message of consumer)`: the consumer's handler hands each message to the
 * loop and resolves — acknowledging it — only when the loop asks for the next one. So a message
 * counts as consumed once its loop body has completed. Leaving the loop (`break`, `return`, a
 * throw) also counts the current message as consumed — JavaScript does not tell the iterator
 * which of them happened, and "print N messages then break" must commit all N; a handler passed
 * to `start()` is the API for "a throw means redeliver". Messages handed over but not yet reached
 * by the loop, and the current one at shutdown, are not acknowledged and will be delivered again.
 * Leaving the loop shuts the consumer down gracefully.
 *
 * At most `concurrency` messages wait here (each holds a handler slot), so the iterator adds no
 * unbounded buffer.
 */

import { MqError } from "../common/errors.ts";
import type { ReceivedMessage } from "./message.ts";

interface Handoff {
  readonly message: ReceivedMessage;
  readonly ack: () => void;
  readonly abandon: (error: Error) => void;
}

export class MessageIterator implements AsyncIterableIterator<ReceivedMessage> {
  private readonly waiting: Handoff[] = [];
  private readers: Array<(result: IteratorResult<ReceivedMessage>) => void> = [];
  private current: Handoff | undefined;
  private closed = false;

  constructor(
    /** Resolves once the consumer runs; its failure surfaces from the first `next()`. */
    private readonly started: Promise<void>,
    /** Called when the loop ends early: shuts the consumer down. */
    private readonly onReturn: () => Promise<void>,
  ) {}

  /** The consumer's handler: resolves when the loop moves past the message. */
  readonly handler = (message: ReceivedMessage): Promise<void> =>
    new Promise<void>((ack, abandon) => {
      if (this.closed) {
        abandon(new MqError("ABORTED", { reason: "the consumer's iterator is closed" }));
        return;
      }
      const handoff: Handoff = { message, ack, abandon };
      const reader = this.readers.shift();
      if (reader !== undefined) {
        this.current = handoff;
        reader({ value: message, done: false });
      } else {
        this.waiting.push(handoff);
      }
    });

  async next(): Promise<IteratorResult<ReceivedMessage>> {
    await this.started;
    this.current?.ack();
    this.current = undefined;
    if (this.closed) return { value: undefined, done: true };
    const handoff = this.waiting.shift();
    if (handoff !== undefined) {
      this.current = handoff;
      return { value: handoff.message, done: false };
    }
    return new Promise((resolve) => this.readers.push(resolve));
  }

  async return(): Promise<IteratorResult<ReceivedMessage>> {
    this.current?.ack();
    this.current = undefined;
    await this.onReturn();
    return { value: undefined, done: true };
  }

  /** Ends the loop: every message not acknowledged is abandoned (delivered again later). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new MqError("ABORTED", { reason: "the consumer is shutting down" });
    this.current?.abandon(error);
    this.current = undefined;
    for (const handoff of this.waiting.splice(0)) handoff.abandon(error);
    for (const reader of this.readers.splice(0)) reader({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
