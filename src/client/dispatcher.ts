/**
 * Hands pulled messages to the handler, in one of two modes:
 * - concurrent: any message of any owned queue may run, at most `concurrency` at once, in pull
 *   order (one FIFO over all queues);
 * - orderly: each queue runs strictly one message at a time, in queue-offset order; different
 *   queues run side by side, at most `concurrency` at once.
 * A message whose handler finishes (`run` resolves true) leaves its ProcessQueue; one abandoned
 * at shutdown (`run` resolves false) stays unfinished, so its offset is not committed past it.
 * Nothing starts on a released queue. The FIFO is bounded by the queues' capacities.
 *
 * Concurrent mode counts handlers, not failures in transit: a run whose handler failed gives its
 * slot back (`slots.release()`) while it waits for the broker to take the message back, so the
 * next messages run meanwhile; the message stays unfinished (and its queue busy, so shutdown
 * waits for it) until the run settles. Before settling the run takes its slot back at once
 * (`reclaim`, which the settle gives back); to run the handler again it waits for one
 * (`acquire`), ahead of the FIFO.
 */

import type { ReceivedMessage } from "./message.ts";
import type { ProcessQueue } from "./process-queue.ts";
import { Semaphore } from "./semaphore.ts";

/**
 * Runs the handler (and its failure path); false when abandoned because the consumer stops. A
 * plain boolean says the run ended in the caller's turn (a handler that returned at once).
 */
export type MessageRunner = (message: ReceivedMessage, slots?: HandlerSlots) => boolean | Promise<boolean>;

/** A concurrent dispatcher's slots, as a run whose handler failed uses them (see the file header). */
export interface HandlerSlots {
  /** The calling run's handler is done for now: its slot may run another message. */
  release(): void;
  /** Takes a slot back to run the handler again, waiting for one ahead of the FIFO. */
  acquire(): Promise<void>;
  /** Takes a slot back at once (past the limit for the moment): the run settles next, which gives it back. */
  reclaim(): void;
}

export interface Dispatcher {
  /** Messages just added to `queue` (already in its `unfinished`). */
  submit(queue: ProcessQueue, messages: readonly ReceivedMessage[]): void;
  /** Handlers running across all queues. */
  readonly running: number;
}

interface Item {
  readonly queue: ProcessQueue;
  readonly message: ReceivedMessage;
}

export class ConcurrentDispatcher implements Dispatcher, HandlerSlots {
  private fifo: Item[] = [];
  private head = 0;
  private pumping = false;
  /** Runs waiting to take a slot again (served before the FIFO). */
  private readonly reacquiring: Array<() => void> = [];
  running = 0;

  constructor(
    private readonly concurrency: number,
    private readonly run: MessageRunner,
  ) {}

  submit(queue: ProcessQueue, messages: readonly ReceivedMessage[]): void {
    for (const message of messages) this.fifo.push({ queue, message });
    this.pump();
  }

  private pump(): void {
    // A run that ends at once settles inside this loop, which then carries on: no recursion.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.running < this.concurrency && this.reacquiring.length > 0) {
        this.running++;
        this.reacquiring.shift()!();
      }
      while (this.running < this.concurrency && this.head < this.fifo.length) {
        const item = this.fifo[this.head++]!;
        if (item.queue.released) continue;
        this.start(item);
      }
    } finally {
      this.pumping = false;
    }
    // Compact once the consumed prefix dominates, so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.head);
      this.head = 0;
    }
  }

  private start({ queue, message }: Item): void {
    this.running++;
    queue.startedHandler();
    const outcome = this.run(message, this);
    if (typeof outcome === "boolean") this.settle(queue, message, outcome);
    else void outcome.then((finished) => this.settle(queue, message, finished));
  }

  release(): void {
    this.running--;
    this.pump();
  }

  acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.reacquiring.push(resolve));
  }

  reclaim(): void {
    this.running++;
  }

  private settle(queue: ProcessQueue, message: ReceivedMessage, finished: boolean): void {
    if (finished) queue.finish(message.queueOffset);
    this.running--;
    queue.endedHandler();
    this.pump();
  }
}

export class OrderlyDispatcher implements Dispatcher {
  private readonly slots: Semaphore;
  running = 0;

  constructor(
    concurrency: number,
    private readonly run: MessageRunner,
  ) {
    this.slots = new Semaphore(concurrency);
  }

  submit(queue: ProcessQueue, _messages: readonly ReceivedMessage[]): void {
    if (queue.working) return; // its worker will reach the new messages
    queue.working = true;
    void this.work(queue);
  }

  /** Takes the queue's oldest unfinished message, runs it, and only then the next one. */
  private async work(queue: ProcessQueue): Promise<void> {
    for (;;) {
      await this.slots.acquire();
      try {
        const message = queue.head();
        // Cleared in the same synchronous step as the check, so a submit right after restarts us.
        if (message === undefined || queue.released) {
          queue.working = false;
          return;
        }
        this.running++;
        queue.startedHandler();
        let finished = false;
        try {
          finished = await this.run(message);
        } finally {
          this.running--;
          queue.endedHandler();
        }
        // Abandoned (the consumer stops): keep it unfinished and stop this queue here.
        if (!finished) {
          queue.working = false;
          return;
        }
        queue.finish(message.queueOffset);
      } finally {
        this.slots.release();
      }
    }
  }
}
