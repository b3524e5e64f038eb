/**
 * Producer-side batching (Kafka's record accumulator): sends to one queue of one broker that
 * start within one event-loop turn (or within `lingerMs`) travel as one SEND_BATCH request, and
 * each send still gets its own answer. A lone send in its turn goes as SEND_MESSAGE, as before.
 * Scheduled sends (a delivery time, delay or delay level, carried per entry) are batched apart
 * from the plain ones of the same queue.
 *
 * Invariants:
 * - Order: the sends of one queue are batched in the order they were added, and batches of a
 *   queue leave in the order they were closed, on the same connection.
 * - Bounds: a batch holds at most `producerBatchMessagesMax` messages and
 *   `producerBatchBytesMax` body bytes; the send that would pass either closes the batch first.
 * - Answers: a stored batch resolves each send with its own msgId, offsetMsgId and queue offset.
 *   A batch the broker refuses as a whole with a retriable error rejects each send with it (each
 *   send's own retry policy takes over); with any other error each message is sent again alone,
 *   so every send gets its own verdict (SEND_BATCH is all or nothing: nothing was stored).
 */

import type { MqError } from "../common/errors.ts";
import { producerBatchBytesMax, producerBatchMessagesMax } from "../common/limits.ts";
import type { PreparedMessage, SendResult } from "./message.ts";
import type { MessageQueue } from "./message-queue.ts";
import { isRetriable } from "./retry-policy.ts";

export interface AccumulatedSend {
  readonly prepared: PreparedMessage;
  readonly msgId: string;
  resolve(result: SendResult): void;
  reject(error: unknown): void;
}

export interface SendTransport {
  /** One message in one SEND_MESSAGE request. */
  sendOne(address: string, queue: MessageQueue, send: AccumulatedSend): Promise<SendResult>;
  /** Messages of one queue in one SEND_BATCH request: one result each, in order. */
  sendMany(address: string, queue: MessageQueue, sends: readonly AccumulatedSend[]): Promise<SendResult[]>;
}

interface OpenBatch {
  readonly address: string;
  readonly queue: MessageQueue;
  sends: AccumulatedSend[];
  bodyBytes: number;
}

export class SendAccumulator {
  /**
   * Open batches by address, topic and queue id: strings the send already holds, so no key is
   * built per message. `openList` keeps them in the order they opened, for the flush.
   */
  private open = new Map<string, Map<string, (OpenBatch | undefined)[]>>();
  private openList: OpenBatch[] = [];
  private flushScheduled = false;
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const batches = this.openList;
    this.open = new Map();
    this.openList = [];
    for (const batch of batches) if (batch.sends.length > 0) this.dispatch(batch);
  };

  constructor(
    private readonly transport: SendTransport,
    private readonly lingerMs: number,
  ) {}

  /** Adds a send to its queue's open batch; resolves with its own result. */
  add(address: string, queue: MessageQueue, prepared: PreparedMessage, msgId: string): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      // Scheduled sends have batches of their own (producer.ts says why): the odd slots.
      const scheduled = prepared.deliverAtMs !== undefined || prepared.delayMs !== undefined || (prepared.delayLevel ?? 0) !== 0;
      const slot = queue.queueId * 2 + (scheduled ? 1 : 0);
      let byTopic = this.open.get(address);
      if (byTopic === undefined) {
        byTopic = new Map();
        this.open.set(address, byTopic);
      }
      let byQueue = byTopic.get(queue.topic);
      if (byQueue === undefined) {
        byQueue = [];
        byTopic.set(queue.topic, byQueue);
      }
      let batch = byQueue[slot];
      const bodyBytes = prepared.body.byteLength;
      if (batch !== undefined && (batch.sends.length >= producerBatchMessagesMax || batch.bodyBytes + bodyBytes > producerBatchBytesMax)) {
        // Closed now, and emptied for the flush to skip: its sends leave before the next batch's.
        const closed: OpenBatch = { ...batch, sends: batch.sends };
        batch.sends = [];
        batch = undefined;
        this.dispatch(closed);
      }
      if (batch === undefined || batch.sends.length === 0) {
        batch = { address, queue, sends: [], bodyBytes: 0 };
        byQueue[slot] = batch;
        this.openList.push(batch);
      }
      batch.sends.push({ prepared, msgId, resolve, reject });
      batch.bodyBytes += bodyBytes;
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.lingerMs === 0) setImmediate(this.flushAll);
    else setTimeout(this.flushAll, this.lingerMs);
  }

  private dispatch(batch: OpenBatch): void {
    const { address, queue, sends } = batch;
    if (sends.length === 1) {
      const send = sends[0]!;
      this.transport.sendOne(address, queue, send).then(send.resolve, send.reject);
      return;
    }
    this.transport.sendMany(address, queue, sends).then(
      (results) => {
        for (let index = 0; index < sends.length; index++) sends[index]!.resolve(results[index]!);
      },
      (error: unknown) => {
        if (isRetriable(error)) {
          for (const send of sends) send.reject(error as MqError);
          return;
        }
        for (const send of sends) this.transport.sendOne(address, queue, send).then(send.resolve, send.reject);
      },
    );
  }
}
