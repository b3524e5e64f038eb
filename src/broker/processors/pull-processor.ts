/**
 * PULL_MESSAGE: reads up to maxMessages from one queue at queueOffset and answers with the
 * records exactly as stored (the store's buffer is the response body: never re-encoded).
 *
 * Statuses (responses.ts): found; no_new_message (nothing at queueOffset — after holding the
 * pull up to suspendTimeoutMs, capped by the broker's longPollMsMax); no_matched_message (the
 * filter skipped entries: continue at nextOffset); offset_moved (queueOffset was outside the
 * queue: continue at nextOffset, the nearest valid offset).
 *
 * A tag filter compares hashes in the consume queue, so skipping costs no CommitLog reads; a
 * SQL92 filter reads each candidate's properties region in place (no copy, no decode), so only
 * matching records are copied and sent. A sparse filter may need several bounded scans; past
 * filterScanEntriesPerRequestMax entries the pull answers no_matched_message with the offset to
 * continue from, so one request never stalls the event loop and the consumer still advances. A
 * held pull that a new message does not match keeps waiting from past that message.
 */

import { MqError } from "../../common/errors.ts";
import { unreachable } from "../../common/assert.ts";
import { queueOffsetZero, type QueueOffset } from "../../common/offsets.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { RequestFields } from "../../protocol/schemas.ts";
import type { BrokerContext } from "../broker-context.ts";
import { compileFilter } from "../../protocol/filter/filter-expression.ts";
import type { MessageFilter } from "../../protocol/filter/filter-expression.ts";
import { filterScanEntriesPerRequestMax } from "../../common/limits.ts";

type PullFields = RequestFields<typeof RequestCode.PULL_MESSAGE>;
type PullStatus = "found" | "no_new_message" | "no_matched_message" | "offset_moved";

/** Either an answer, or "nothing yet: wait for a message at waitOffset". */
type Attempt = { reply: Reply } | { waitOffset: QueueOffset; minOffset: QueueOffset; maxOffset: QueueOffset };

export function pullMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.PULL_MESSAGE>): Reply | Promise<Reply> {
  const fields = request.fields;
  context.groupConfigs.assertConsumeEnabled(fields.consumerGroup);
  const config = context.topics.forRead(fields.topic);
  if (fields.queueId >= config.readQueues) throw new MqError("QUEUE_NOT_FOUND", { topic: fields.topic, queueId: fields.queueId, queues: config.readQueues });
  if (fields.commitOffset !== undefined) context.offsets.commit(fields.consumerGroup, fields.topic, fields.queueId, fields.commitOffset);
  const filter = compileFilter(fields.filter, fields.consumerGroup);
  const first = attempt(context, fields, fields.queueOffset, filter);
  if ("reply" in first) return first.reply;
  const timeoutMs = Math.min(fields.suspendTimeoutMs, context.config.longPollMsMax);
  let waiting = first;
  // Still nothing: report where to continue (past entries the filter skipped meanwhile).
  const nothingYet = (): Reply => {
    const status = waiting.waitOffset > fields.queueOffset ? "no_matched_message" : "no_new_message";
    return pullReply(status, waiting.waitOffset, waiting.minOffset, context.store.maxOffset(fields.topic, fields.queueId));
  };
  if (timeoutMs <= 0) return nothingYet();
  return context.longPoll.hold({
    topic: fields.topic,
    queueId: fields.queueId,
    timeoutMs,
    channel: request.channel,
    retry: () => {
      const next = attempt(context, fields, waiting.waitOffset, filter);
      if ("reply" in next) return next.reply;
      waiting = next;
      return undefined;
    },
    onTimeout: nothingYet,
  });
}

function attempt(context: BrokerContext, fields: PullFields, startOffset: QueueOffset, filter: MessageFilter | undefined): Attempt {
  let offset = startOffset;
  while (offset - startOffset < filterScanEntriesPerRequestMax) {
    const result = context.store.getMessages({
      topic: fields.topic,
      queueId: fields.queueId,
      offset,
      maxCount: fields.maxMessages,
      maxBytes: fields.maxBytes,
      tagHashes: filter?.tagHashes,
      acceptRecord: filter?.acceptRecord,
      scanEntriesMax: filterScanEntriesPerRequestMax - (offset - startOffset),
    });
    switch (result.status) {
      case "found":
        context.stats.delivered(fields.topic, result.messages.length, result.buffer.byteLength);
        return { reply: pullReply("found", result.nextOffset, result.minOffset, result.maxOffset, result.buffer) };
      case "no_matched_message":
        if (result.nextOffset >= result.maxOffset) return { waitOffset: result.maxOffset, minOffset: result.minOffset, maxOffset: result.maxOffset };
        offset = result.nextOffset;
        continue;
      case "offset_overflow_one":
        return { waitOffset: offset, minOffset: result.minOffset, maxOffset: result.maxOffset };
      case "offset_overflow_badly":
        return { reply: pullReply("offset_moved", result.maxOffset, result.minOffset, result.maxOffset) };
      case "offset_too_small":
        return { reply: pullReply("offset_moved", result.minOffset, result.minOffset, result.maxOffset) };
      case "no_matched_queue":
        // Nothing was ever stored in this queue: offset 0 waits for the first message.
        if (offset === queueOffsetZero) return { waitOffset: queueOffsetZero, minOffset: queueOffsetZero, maxOffset: queueOffsetZero };
        return { reply: pullReply("offset_moved", queueOffsetZero, queueOffsetZero, queueOffsetZero) };
      default:
        return unreachable(result.status);
    }
  }
  return { reply: pullReply("no_matched_message", offset, context.store.minOffset(fields.topic, fields.queueId), context.store.maxOffset(fields.topic, fields.queueId)) };
}

function pullReply(status: PullStatus, nextOffset: QueueOffset, minOffset: QueueOffset, maxOffset: QueueOffset, body?: Uint8Array): Reply {
  return { fields: { status, nextOffset, minOffset, maxOffset }, body };
}
