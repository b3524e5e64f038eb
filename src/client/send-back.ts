/**
 * A push consumer's failure path: a message its handler failed is handed back to the broker with
 * CONSUMER_SEND_BACK, which stores it in `%RETRY%<group>` (delivered again after the group's
 * back-off) or, past the group's maxReconsumeTimes, in `%DLQ%<group>` with the error text.
 *
 * Nothing is dropped: the caller finishes the message (its offset may be committed past it) only
 * once a send-back has succeeded. A failed send-back is retried with a growing pause, each failure
 * reported to `onError`; after `sendBackAttemptsMax` attempts the caller runs the handler again
 * locally and, if it fails again, sends back again. An orderly consumer sends back only a poison
 * message, with a max of 0 so that it goes straight to the DLQ.
 *
 * Failures of one event-loop turn travel together (SendBackBatcher): their send-backs to one
 * broker leave in one CONSUMER_SEND_BACK_BATCH (one CONSUMER_SEND_BACK when alone), each still
 * answered — and retried — on its own. A pull hands the handlers up to a thousand messages that
 * run in the same turn, so a 1 % failure rate costs the broker a request per pull, not one per
 * failure.
 */

import { type Clock } from "../common/clock.ts";
import { consumeErrorTextBytesMax } from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { sendBackBatchMax } from "../protocol/limits.ts";
import type { SendBackResult } from "../protocol/responses.ts";
import type { BrokerClient, Fields } from "./broker-client.ts";
import type { RequestCode } from "../protocol/request-codes.ts";
import type { ReceivedMessage } from "./message.ts";
import type { ConsumedMessage } from "./message.ts";
import { pause } from "./pull-loop.ts";
import type { RouteResolver } from "./route-resolver.ts";
import { TurnBatcher } from "./turn-batcher.ts";

export const sendBackAttemptsMax = 5;
export const sendBackPauseMsFirst = 200;
export const sendBackPauseMsMax = 5_000;
export const sendBackTimeoutMs = 5_000;

export type SendBackOutcome = "retry" | "dead-letter" | "failed";

export interface SendBackContext {
  readonly broker: BrokerClient;
  /** Groups the send-backs of one turn into batches; without it each is its own request. */
  readonly batcher?: SendBackBatcher;
  readonly routes: RouteResolver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly group: string;
  readonly clientId: string;
  /** Aborted when the consumer stops: no attempt after the first. */
  readonly signal: AbortSignal;
  onError(error: Error, message: ReceivedMessage): void;
}

/** Sends `message` back with `failure`'s text; "failed" after `sendBackAttemptsMax` failed attempts or at shutdown. */
export async function sendBack(context: SendBackContext, message: ReceivedMessage, failure: unknown, maxReconsumeTimes?: number): Promise<SendBackOutcome> {
  const fields = {
    consumerGroup: context.group,
    physicalOffset: (message as ConsumedMessage).physicalOffset,
    originMsgId: message.originMsgId,
    originTopic: message.originTopic,
    clientId: context.clientId,
    errorText: errorText(failure),
    ...(maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes }),
  };
  let pauseMs = sendBackPauseMsFirst;
  // The first attempt is made even while the consumer stops (a stream cancelled by a failed pipe
  // fails its message and stops at once); shutdown waits for it before committing offsets.
  for (let attempt = 1; attempt <= sendBackAttemptsMax && (attempt === 1 || !context.signal.aborted); attempt++) {
    try {
      const address = context.routes.brokerAddress(message.brokerName ?? "");
      const result = context.batcher === undefined ? await context.broker.consumerSendBack(address, fields, { timeoutMs: sendBackTimeoutMs }) : await context.batcher.send(address, fields);
      return result.outcome;
    } catch (error) {
      context.logger.warn(`Send-back of message ${message.msgId} (${message.topic} queue ${message.queueId} offset ${message.queueOffset}) failed, attempt ${attempt}: ${(error as Error).message}`);
      context.onError(error as Error, message);
      if (attempt < sendBackAttemptsMax) await pause(context.clock, pauseMs, context.signal);
      pauseMs = Math.min(pauseMs * 2, sendBackPauseMsMax);
    }
  }
  return "failed";
}

type SendBackFields = Fields<typeof RequestCode.CONSUMER_SEND_BACK>;

/**
 * Collects the send-backs of one event-loop turn per broker and sends them at the turn's end
 * (turn-batcher.ts): up to sendBackBatchMax in one CONSUMER_SEND_BACK_BATCH, alone as a
 * CONSUMER_SEND_BACK. Each `send` settles with its own entry's result: a refused entry rejects
 * with its catalogue error, a failed request rejects every entry it carried. One batcher serves
 * one consumer (one group and client id).
 */
export class SendBackBatcher {
  private readonly batcher: TurnBatcher<SendBackFields, SendBackResult>;

  constructor(broker: BrokerClient, timeoutMs = sendBackTimeoutMs) {
    this.batcher = new TurnBatcher<SendBackFields, SendBackResult>({
      batchMax: sendBackBatchMax,
      one: (address, fields) => broker.consumerSendBack(address, fields, { timeoutMs }),
      many: async (address, entries) => {
        const { consumerGroup, clientId } = entries[0]!;
        const request = { consumerGroup, clientId, entries: entries.map(({ consumerGroup: _group, clientId: _client, ...entry }) => entry) };
        return (await broker.consumerSendBackBatch(address, request, { timeoutMs })).results;
      },
    });
  }

  send(address: string, fields: SendBackFields): Promise<SendBackResult> {
    return this.batcher.add(address, fields);
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** The handler's error as text of at most consumeErrorTextBytesMax UTF-8 bytes (cut on a character boundary). */
export function errorText(failure: unknown): string {
  const text = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
  const bytes = textEncoder.encode(text);
  if (bytes.byteLength <= consumeErrorTextBytesMax) return text;
  // A decode of a cut multi-byte character yields U+FFFD (3 bytes): drop it rather than grow past the limit.
  return textDecoder.decode(bytes.subarray(0, consumeErrorTextBytesMax)).replace(/\uFFFD$/u, "");
}
