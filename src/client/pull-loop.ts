/**
 * The long-polling pull loop of one owned queue: pull at `nextOffset`; the broker holds the
 * request up to `suspendTimeoutMs` (15 s) and answers the moment a message for the queue is
 * stored, so a push consumer sees new messages within a round trip without polling. The client
 * timeout is the hold plus a margin, so a held pull is never mistaken for a lost one.
 *
 * Pull sizes adapt: a pull that comes back full doubles the next one (up to pullMessagesMax and
 * the room left in the ProcessQueue), so a backlog drains in few large answers; one that comes
 * back short returns to `pullBatchSize`, so a caught-up queue keeps small, quick pulls.
 *
 * The loop waits for room in the ProcessQueue before each pull (bounded memory), and ends when
 * the queue is released (its AbortSignal also cancels the pull in flight). A failed pull is
 * retried after `pullRetryDelayMs`; only a release stops the loop.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { unreachable } from "../common/assert.ts";
import { pullMessagesMax } from "../common/limits.ts";
import { laterQueueOffset } from "../common/offsets.ts";
import type { BrokerClient } from "./broker-client.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { type ReceivedMessage, toPulledMessage } from "./message.ts";
import type { ProcessQueue } from "./process-queue.ts";
import type { RouteResolver } from "./route-resolver.ts";
import { acceptsEveryMessage, type MessageFilter } from "../protocol/filter/filter-expression.ts";
import { wireFilter } from "./subscription.ts";

export const suspendTimeoutMsDefault = 15_000;
/** Added to the hold for the client's request timeout of a long-poll pull. */
export const pullTimeoutMarginMs = 10_000;
export const pullRetryDelayMs = 1_000;
/** A broker answering "no new message" faster than this did not hold the pull: pause briefly, do not spin. */
const heldPullMsMin = 5;
const unheldPullPauseMs = 100;

export interface PullLoopContext {
  readonly broker: BrokerClient;
  readonly routes: RouteResolver;
  readonly group: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pullBatchSize: number;
  readonly suspendTimeoutMs: number;
  readonly dispatcher: Dispatcher;
  /** The broker applies `broker`; each message that arrives is checked again with `client`. */
  filterFor(topic: string): { broker: MessageFilter; client: MessageFilter };
}

export async function runPullLoop(queue: ProcessQueue, context: PullLoopContext): Promise<void> {
  const { topic, queueId } = queue.queue;
  const filter = context.filterFor(topic);
  const requestFilter = wireFilter(filter.broker);
  const address = context.routes.brokerAddress(queue.queue.brokerName);
  let adaptiveSize = context.pullBatchSize;
  while (!queue.released) {
    await queue.waitForRoom();
    if (queue.released) break;
    const startedMs = context.clock.monotonicMs();
    // No more than the room left: unfinished messages never pass the queue's capacity.
    const room = queue.capacity - queue.unfinished.size;
    const maxMessages = Math.max(1, Math.min(adaptiveSize, room, pullMessagesMax));
    let result;
    try {
      result = await context.broker.pull(
        address,
        {
          consumerGroup: context.group,
          topic,
          queueId,
          queueOffset: queue.nextOffset,
          maxMessages,
          filter: requestFilter,
          suspendTimeoutMs: context.suspendTimeoutMs,
        },
        { timeoutMs: context.suspendTimeoutMs + pullTimeoutMarginMs, signal: queue.abort.signal },
      );
    } catch (error) {
      if (queue.released) break;
      context.logger.warn(`Pull from ${queue.key} at offset ${queue.nextOffset} failed, retrying in ${pullRetryDelayMs} ms: ${(error as Error).message}`);
      await pause(context.clock, pullRetryDelayMs, queue.abort.signal);
      continue;
    }
    if (queue.released) break;
    switch (result.status) {
      case "found": {
        adaptiveSize = result.messages.length >= maxMessages ? maxMessages * 2 : context.pullBatchSize;
        const messages: ReceivedMessage[] = [];
        const checkEach = !acceptsEveryMessage(filter.client);
        for (const stored of result.messages) {
          // Offsets below nextOffset were handed out already (a broker must not resend them).
          if (stored.queueOffset < queue.nextOffset) continue;
          if (!checkEach || filter.client.matches(stored.tags, stored.properties)) messages.push(toPulledMessage(stored, { brokerName: queue.queue.brokerName, brokerAddress: address }));
        }
        queue.nextOffset = laterQueueOffset(queue.nextOffset, result.nextOffset);
        if (messages.length > 0) {
          queue.add(messages);
          context.dispatcher.submit(queue, messages);
        }
        break;
      }
      case "offset_moved":
        context.logger.warn(`Offset ${queue.nextOffset} of ${queue.key} is outside ${result.minOffset}..${result.maxOffset}: continuing at ${result.nextOffset}`);
        queue.nextOffset = result.nextOffset;
        break;
      case "no_matched_message":
        queue.nextOffset = laterQueueOffset(queue.nextOffset, result.nextOffset);
        break;
      case "no_new_message":
        queue.nextOffset = laterQueueOffset(queue.nextOffset, result.nextOffset);
        if (context.suspendTimeoutMs > 0 && context.clock.monotonicMs() - startedMs < heldPullMsMin) {
          await pause(context.clock, unheldPullPauseMs, queue.abort.signal);
        }
        break;
      default:
        unreachable(result.status);
    }
  }
}

/** Waits `delayMs`, or less when the signal aborts. */
export function pause(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
