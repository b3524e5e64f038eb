/**
 * The TransactionProducer (issue 12): a Producer whose messages are published with a local
 * transaction. `sendInTransaction(message, localTransaction)`:
 *   1. sends the message as a half message: stored by the broker, invisible to every consumer;
 *   2. runs `localTransaction` (your database write, say), which answers "commit", "rollback"
 *      or "unknown" (a thrown error counts as "unknown");
 *   3. ends the transaction with the broker that stored the half (END_TRANSACTION): commit makes
 *      the message visible in its topic, rollback discards it, unknown leaves it to check-back.
 *
 * Check-back: for a half message left unended (the answer was "unknown", or this process died
 * between 1 and 3) the broker asks a live producer of the same group, and `checkListener`
 * answers from your records. Every connection of this producer serves check-backs, and it
 * re-registers its group with a broker on each (re)connect, so a broker knows it at once.
 *
 * Throughput: half messages started in one event-loop turn travel as one SEND_BATCH (of halves
 * only), and ends as one END_TRANSACTION_BATCH per broker; each still gets its own answer.
 */

import { isMqError } from "../common/errors.ts";
import { decodeOffsetMsgId } from "../common/ids.ts";
import { formatHostPort } from "../common/ip-address.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import type { EndTransactionResult, TransactionResolutionAnswer } from "../protocol/responses.ts";
import type { ProducerMessage, ReceivedMessage, SendResult } from "./message.ts";
import { Producer, type ProducerOptions, type SendOptions, sendTimeoutMsDefault } from "./producer.ts";
import { TransactionEndBatcher } from "./transaction-end-batcher.ts";

export type TransactionResolution = TransactionResolutionAnswer;

/** The local transaction of `sendInTransaction`: runs once the half is stored; its answer ends the transaction. */
export type LocalTransaction = (sent: SendResult & { readonly transactionId: string }) => TransactionResolution | Promise<TransactionResolution>;

/** A half message the broker asks about: the fields it shares with a received message, plus its transaction's. */
export interface TransactionCheckMessage extends Pick<ReceivedMessage, "msgId" | "topic" | "body" | "tags" | "keys" | "properties" | "storeTimestampMs"> {
  readonly transactionId: string;
  /** Check-backs producers of the group received before this one. */
  readonly checkTimes: number;
}

export type TransactionCheckListener = (message: TransactionCheckMessage) => TransactionResolution | Promise<TransactionResolution>;

export interface TransactionProducerOptions extends ProducerOptions {
  /** The producer group: the broker checks back with its live members. Required. */
  readonly group: string;
  /** Answers the broker's check-backs of half messages left unended. */
  readonly checkListener: TransactionCheckListener;
}

export interface TransactionSendResult extends SendResult {
  /** Ends the transaction (Admin, REST, CLI by id): the half message's offsetMsgId. */
  readonly transactionId: string;
  /** What the local transaction answered. */
  readonly resolution: TransactionResolution;
  /**
   * How it stands: "committed" / "rolled_back" once the broker ended it, "pending" when it was
   * left to check-back (resolution "unknown", or the END_TRANSACTION could not be delivered).
   */
  readonly state: "committed" | "rolled_back" | "pending";
  /** Where the committed message is: its queue, queue offset and offsetMsgId. */
  readonly committed?: { readonly queueId: number; readonly queueOffset: number; readonly offsetMsgId: string };
}

export class TransactionProducer extends Producer {
  private readonly checkListener: TransactionCheckListener;
  private readonly ends: TransactionEndBatcher;

  constructor(options: TransactionProducerOptions) {
    super(options);
    this.checkListener = options.checkListener;
    this.ends = new TransactionEndBatcher(this.context.broker, { group: this.group, timeoutMs: options.sendTimeoutMs ?? sendTimeoutMsDefault });
    this.context.pool.handle(RequestCode.CHECK_TRANSACTION_STATE, async (request) => {
      const fields = request.fields;
      let resolution: TransactionResolution;
      try {
        resolution = await this.checkListener({
          transactionId: fields.transactionId,
          msgId: fields.msgId,
          topic: fields.topic,
          body: request.body,
          tags: fields.tags,
          keys: fields.keys ?? [],
          properties: fields.properties ?? {},
          checkTimes: fields.checkTimes,
          storeTimestampMs: fields.storeTimestampMs,
        });
      } catch (error) {
        this.context.logger.warn(`Check listener failed for transaction "${fields.transactionId}": ${(error as Error).message}; answering unknown`);
        resolution = "unknown";
      }
      return { fields: { resolution: resolutionOrUnknown(resolution) } };
    });
    // A broker ties check-backs to the connection a heartbeat came on: say who we are on each new one.
    this.context.pool.onOpen((address) => {
      void this.context.broker.heartbeat(address, { clientId: this.clientId, producerGroups: [this.group] }).catch(() => undefined);
    });
  }

  /**
   * Sends `message` as a half message and returns at once: it stays invisible until
   * `endTransaction` (or the check-back, or an operator) ends it. For flows that end it later;
   * `sendInTransaction` does both steps around a local transaction.
   */
  async sendHalf(message: ProducerMessage, options: SendOptions = {}): Promise<SendResult & { readonly transactionId: string }> {
    const result = await this.sendHalfTo(message, options, { address: "" });
    return { ...result, transactionId: (result as { transactionId?: string }).transactionId ?? result.offsetMsgId };
  }

  /** Ends a half message by id with the broker that stored it (named in the id): commit or rollback. */
  async endTransaction(transactionId: string, resolution: "commit" | "rollback", options: { readonly signal?: AbortSignal } = {}): Promise<EndTransactionResult> {
    this.checkRunning();
    const { host, port } = decodeOffsetMsgId(transactionId);
    const address = formatHostPort(host, port);
    if (options.signal === undefined) return this.ends.end(address, transactionId.toUpperCase(), resolution);
    return this.context.broker.endTransaction(address, { transactionId: transactionId.toUpperCase(), resolution, producerGroup: this.group }, { signal: options.signal });
  }

  /**
   * Sends `message` as a half message, runs `localTransaction`, and ends the transaction with
   * its answer. The send's errors reject (nothing was stored, or the send is retried as
   * `send` is); an END_TRANSACTION that cannot be delivered leaves the transaction pending, for
   * the check-back to settle.
   *
   * No await between the steps: the half joins its batch in the caller's turn (the producer's
   * fast path), a local transaction that answers at once is followed by its end in the same
   * reaction, and that end joins the END_TRANSACTION_BATCH of its turn.
   */
  sendInTransaction(message: ProducerMessage, localTransaction: LocalTransaction, options: SendOptions = {}): Promise<TransactionSendResult> {
    const at = { address: "" };
    return this.sendHalfTo(message, options, at).then((result) => this.runLocal(message, result, at.address, localTransaction, options));
  }

  private runLocal(message: ProducerMessage, result: SendResult, address: string, localTransaction: LocalTransaction, options: SendOptions): TransactionSendResult | Promise<TransactionSendResult> {
    const transactionId = (result as { transactionId?: string }).transactionId ?? result.offsetMsgId;
    const sent = { ...result, transactionId };
    let answer: TransactionResolution | Promise<TransactionResolution>;
    try {
      answer = localTransaction(sent);
    } catch (error) {
      return this.end(message, sent, address, this.localFailed(transactionId, error), options);
    }
    if (typeof (answer as { then?: unknown } | null)?.then !== "function") return this.end(message, sent, address, resolutionOrUnknown(answer), options);
    return Promise.resolve(answer).then(
      (resolution) => this.end(message, sent, address, resolutionOrUnknown(resolution), options),
      (error: unknown) => this.end(message, sent, address, this.localFailed(transactionId, error), options),
    );
  }

  private localFailed(transactionId: string, error: unknown): TransactionResolution {
    this.context.logger.warn(`Local transaction of "${transactionId}" failed: ${(error as Error).message}; leaving it to check-back`);
    return "unknown";
  }

  private end(message: ProducerMessage, sent: SendResult & { readonly transactionId: string }, address: string, resolution: TransactionResolution, options: SendOptions): TransactionSendResult | Promise<TransactionSendResult> {
    if (resolution === "unknown") return { ...sent, resolution, state: "pending" };
    const { transactionId, msgId } = sent;
    const startedMs = this.trace === undefined ? 0 : this.context.clock.nowMs();
    const ending =
      options.signal === undefined
        ? this.ends.end(address, transactionId, resolution, msgId)
        : this.context.broker.endTransaction(address, { transactionId, resolution, producerGroup: this.group, msgId }, { signal: options.signal });
    return ending.then(
      (ended): TransactionSendResult => {
        this.trace?.transactionEnded({ message, msgId, group: this.group, resolution, startedMs, state: ended.state });
        return { ...sent, resolution, state: ended.state, ...(ended.committed === undefined ? {} : { committed: ended.committed }) };
      },
      (error: unknown): TransactionSendResult => {
        this.trace?.transactionEnded({ message, msgId, group: this.group, resolution, startedMs, error });
        if (isMqError(error, "TRANSACTION_ALREADY_ENDED")) throw error;
        this.context.logger.warn(`Cannot end transaction "${transactionId}" (${resolution}): ${(error as Error).message}; the broker's check-back will ask`);
        return { ...sent, resolution, state: "pending" };
      },
    );
  }
}

function resolutionOrUnknown(value: unknown): TransactionResolution {
  return value === "commit" || value === "rollback" ? value : "unknown";
}
