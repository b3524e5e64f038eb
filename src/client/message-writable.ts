/**
 * `producer.writable({ topic, inFlight })`: a WritableStream of messages, so a pipeline can end
 * in mq (`readable.pipeThrough(transform).pipeTo(producer.writable(...))`).
 *
 * A chunk is a message without its topic (the stream's topic is used), or a string or bytes taken
 * as the body. Each chunk is one `send`; at most `inFlight` are sent and not yet answered.
 *
 * Why two kinds of write promise: a WHATWG sink's `write(chunk)` is called for one chunk at a
 * time, the next only once the previous one's promise settled, and the sink cannot see the chunks
 * queued behind it. A sink whose write settled on the broker's durable answer could therefore
 * never have two sends in flight. So the sink's write settles as soon as a send slot is free (the
 * send under way), which is what `pipeTo` waits on: a pipe keeps `inFlight` sends going and is held
 * back when they are all busy. The writer this stream hands out (`getWriter()`, a
 * `DurableWriter`) settles each `write(chunk)` only on that chunk's durable answer — resolved once
 * the broker stored it, rejected with the send's error otherwise — so a caller that writes without
 * awaiting each write (awaiting `writer.ready`) still has up to `inFlight` sends at once, and knows
 * exactly which chunk is durable.
 *
 * `close()` resolves only after every send has its durable answer. The first failed send errors
 * the stream with STREAM_WRITE_FAILED naming the chunk (its index from 0, the topic and the send's
 * error), so a `pipeTo` rejects, the writes after it are refused, and sends already in flight still
 * complete; `abort()` waits for them too.
 */

import { MqError } from "../common/errors.ts";
import { streamSendsInFlightDefault, streamSendsInFlightMax } from "../common/limits.ts";
import type { BatchMessage, ProducerMessage, SendResult } from "./message.ts";
import { Semaphore } from "./semaphore.ts";

export type WritableChunk = BatchMessage | string | Uint8Array;

export interface WritableOptions {
  readonly topic: string;
  /** Sends in flight at once; default 64. */
  readonly inFlight?: number;
}

export interface MessageSender {
  send(message: ProducerMessage): Promise<SendResult>;
}

interface Durable {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: MqError): void;
}

/**
 * Which write is which: writes reach the sink in the order they were queued, so the n-th chunk
 * the sink sees is the n-th written. `queued` counts the writes a DurableWriter queued; a `pipeTo`
 * writes through the stream's own writer, which the sink counts (`sunk`), and a pipe is over —
 * every chunk it wrote handed to the sink — before another writer can be had.
 */
class DurableTracker {
  queued = 0;
  sunk = 0;
  private readonly waiting = new Map<number, Durable>();

  /** The durable promise of the next chunk a writer queues. */
  expect(): { index: number; durable: Durable } {
    this.queued = Math.max(this.queued, this.sunk);
    const index = this.queued++;
    let resolve!: () => void;
    let reject!: (error: MqError) => void;
    const promise = new Promise<void>((resolveDurable, rejectDurable) => {
      resolve = resolveDurable;
      reject = rejectDurable;
    });
    // A write refused before its send (the stream already failed) is reported by the write itself.
    promise.catch(() => undefined);
    const durable = { promise, resolve, reject };
    this.waiting.set(index, durable);
    return { index, durable };
  }

  forget(index: number): void {
    this.waiting.delete(index);
  }

  /** The sink takes its next chunk: its index, and the writer's durable promise if a DurableWriter wrote it. */
  take(): { index: number; durable: Durable | undefined } {
    const index = this.sunk++;
    const durable = this.waiting.get(index);
    this.waiting.delete(index);
    return { index, durable };
  }
}

/** A writer whose `write(chunk)` settles on the chunk's durable answer (see the file header). */
export class DurableWriter extends WritableStreamDefaultWriter<WritableChunk> {
  constructor(
    stream: WritableStream<WritableChunk>,
    private readonly tracker: DurableTracker,
  ) {
    super(stream);
  }

  /** Resolves once the broker stored the chunk; rejects with STREAM_WRITE_FAILED naming it when its send failed. */
  override write(chunk: WritableChunk): Promise<void> {
    const { index, durable } = this.tracker.expect();
    return super.write(chunk).then(
      () => durable.promise,
      (error: unknown) => {
        this.tracker.forget(index);
        throw error;
      },
    );
  }
}

/** The stream `producer.writable()` returns: its `getWriter()` is a DurableWriter. */
export class MessageWritable extends WritableStream<WritableChunk> {
  private readonly tracker: DurableTracker;

  constructor(producer: MessageSender, options: WritableOptions) {
    const inFlight = options.inFlight ?? streamSendsInFlightDefault;
    if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > streamSendsInFlightMax) {
      throw new MqError("INVALID_FIELD", { field: "inFlight", reason: `must be an integer in 1..${streamSendsInFlightMax}, got ${inFlight}` });
    }
    const tracker = new DurableTracker();
    super(sendingSink(producer, options.topic, inFlight, tracker));
    this.tracker = tracker;
  }

  override getWriter(): DurableWriter {
    return new DurableWriter(this, this.tracker);
  }
}

export function createMessageWritable(producer: MessageSender, options: WritableOptions): MessageWritable {
  return new MessageWritable(producer, options);
}

/**
 * The sink: at most `inFlight` chunks sent and not yet answered; its write settles once the
 * chunk's send is under way. (Sends that start in one event-loop turn travel together: the
 * producer batches them per queue, send-accumulator.ts, and answers each on its own.)
 */
function sendingSink(producer: MessageSender, topic: string, inFlight: number, tracker: DurableTracker): Bun.UnderlyingSink<WritableChunk> {
  const slots = new Semaphore(inFlight);
  let failure: MqError | undefined;
  const fail = (index: number, error: unknown): MqError => {
    const named = chunkError(index, topic, error);
    failure ??= named;
    return named;
  };
  return {
    async write(chunk, controller) {
      const { index, durable } = tracker.take();
      if (failure !== undefined) {
        durable?.reject(failure);
        throw failure;
      }
      if (!slots.tryAcquire()) await slots.acquire();
      let message: ProducerMessage;
      try {
        message = toMessage(chunk, topic);
      } catch (error) {
        slots.release();
        const named = fail(index, error);
        durable?.reject(named);
        throw named;
      }
      // One reaction per send; the slot is released after the failure is noted, so close() sees it.
      void producer.send(message).then(
        () => {
          durable?.resolve();
          slots.release();
        },
        (error: unknown) => {
          const named = fail(index, error); // not inside `durable?.reject(...)`: a pipe's chunk has no durable promise
          durable?.reject(named);
          slots.release();
          controller.error(failure);
        },
      );
    },
    async close() {
      await slots.whenIdle();
      if (failure !== undefined) throw failure;
    },
    async abort() {
      await slots.whenIdle();
    },
  };
}

function toMessage(chunk: WritableChunk, topic: string): ProducerMessage {
  if (typeof chunk === "string" || chunk instanceof Uint8Array) return { topic, body: chunk };
  return { ...chunk, topic: chunk.topic ?? topic };
}

function chunkError(index: number, topic: string, error: unknown): MqError {
  const reason = error instanceof Error ? error.message : String(error);
  return new MqError("STREAM_WRITE_FAILED", { index, topic, reason }, { cause: error });
}
