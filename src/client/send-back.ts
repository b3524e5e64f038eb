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
 */

import { type Clock } from "../common/clock.ts";
import { consumeErrorTextBytesMax } from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import type { BrokerClient } from "./broker-client.ts";
import type { ReceivedMessage } from "./message.ts";
import type { ConsumedMessage } from "./message.ts";
import { pause } from "./pull-loop.ts";
import type { RouteResolver } from "./route-resolver.ts";

export const sendBackAttemptsMax = 5;
export const sendBackPauseMsFirst = 200;
export const sendBackPauseMsMax = 5_000;
export const sendBackTimeoutMs = 5_000;

export type SendBackOutcome = "retry" | "dead-letter" | "failed";

export interface SendBackContext {
  readonly broker: BrokerClient;
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
      const result = await context.broker.consumerSendBack(address, fields, { timeoutMs: sendBackTimeoutMs });
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
