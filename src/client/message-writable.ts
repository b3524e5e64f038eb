/**
 * `producer.writable({ topic, inFlight })`: a WritableStream of messages, so a pipeline can end
 * in mq (`readable.pipeThrough(transform).pipeTo(producer.writable(...))`).
 *
 * A chunk is a message without its topic (the stream's topic is used), or a string or bytes taken
 * as the body. Each chunk is one `send`, at most `inFlight` at once: the sink's write resolves as
 * soon as a send slot is free, so with `inFlight` 1 every write resolves after the broker's
 * durable answer, and with more the stream keeps that many sends going. `close()` resolves only
 * after every send has its durable answer. The first failed send errors the stream with
 * STREAM_WRITE_FAILED naming the chunk (its index, from 0, and the send's error), so a `pipeTo`
 * rejects and the writes after it are refused; sends already in flight still complete.
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

export function createMessageWritable(producer: MessageSender, options: WritableOptions): WritableStream<WritableChunk> {
  const inFlight = options.inFlight ?? streamSendsInFlightDefault;
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > streamSendsInFlightMax) {
    throw new MqError("INVALID_FIELD", { field: "inFlight", reason: `must be an integer in 1..${streamSendsInFlightMax}, got ${inFlight}` });
  }
  const slots = new Semaphore(inFlight);
  let failure: MqError | undefined;
  let index = 0;
  return new WritableStream<WritableChunk>({
    async write(chunk, controller) {
      if (failure !== undefined) throw failure;
      await slots.acquire();
      const chunkIndex = index++;
      let message: ProducerMessage;
      try {
        message = toMessage(chunk, options.topic);
      } catch (error) {
        slots.release();
        failure ??= chunkError(chunkIndex, options.topic, error);
        throw failure;
      }
      void producer
        .send(message)
        .catch((error: unknown) => {
          failure ??= chunkError(chunkIndex, options.topic, error);
          controller.error(failure);
        })
        .finally(() => slots.release());
    },
    async close() {
      await slots.whenIdle();
      if (failure !== undefined) throw failure;
    },
    async abort() {
      await slots.whenIdle();
    },
  });
}

function toMessage(chunk: WritableChunk, topic: string): ProducerMessage {
  if (typeof chunk === "string" || chunk instanceof Uint8Array) return { topic, body: chunk };
  return { ...chunk, topic: chunk.topic ?? topic };
}

function chunkError(index: number, topic: string, error: unknown): MqError {
  const reason = error instanceof Error ? error.message : String(error);
  return new MqError("STREAM_WRITE_FAILED", { index, topic, reason }, { cause: error });
}
