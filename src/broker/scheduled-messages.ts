/**
 * What an operator sees of and does to scheduled messages (issue 10, item 4): the pending ones
 * counted per time bucket and listed a page at a time, and a cancel by msgId. TCP (admin
 * processor), REST and the CLI all come here.
 *
 * A pending scheduled message is an open scheduler job of kind `scheduled-message`
 * (scheduled-message-job.ts): its id is the msgId, its due time the delivery time, its group the
 * real topic. Listing reads the scheduler (its counts per slice of due time, and one page of jobs
 * from its wheel); of the CommitLog only the page's own timer records, for their tags and body
 * sizes (a scheduled send does not write into its job what a listing may never ask).
 *
 * A cancel answers one of three:
 *   cancelled          the job was open and is closed now, durably (written before the answer),
 *                      or it was cancelled before: its marker (below) is open, or the timer
 *                      record is stored and neither a job nor a delivered copy exists;
 *   already-delivered  a copy with the msgId is stored outside the timer topic (the delivered
 *                      copy keeps the msgId). Checked first, so a job whose copy was written
 *                      just before a crash (its DONE not yet) is closed, not reported cancelled;
 *   unknown            nothing with the msgId: never scheduled here, or gone with retention.
 *
 * A cancel replaces the job with a marker job (kind `scheduled-message.cancelled`, same id, the
 * cancelled due time in its payload) in one journal write. Recovery may hand the timer record
 * of a message sent just before a crash to delivery again (timer-delivery.ts attaches to the
 * store's replay); an open marker tells it the message was cancelled. The marker closes itself
 * after `scheduledCancelMarkerMs`, long after the record has left the replayed tail of the log.
 */

import type { Clock } from "../common/clock.ts";
import * as limits from "../common/limits.ts";
import { systemTopics } from "../common/system-topics.ts";
import type { CancelOutcome, ScheduledListing, ScheduledListOptions, ScheduledMessageView } from "../protocol/responses.ts";
import type { MessageStore } from "../store/message-store.ts";
import type { ScheduledJob } from "../store/scheduler.ts";
import type { BrokerScheduler } from "./job-kinds.ts";
import { scheduledMessageJobKind, type ScheduledMessageJob } from "./scheduled-message-job.ts";

export const cancelledMessageJobKind = "scheduled-message.cancelled";

/** The marker of a cancelled scheduled message: the due time it had. */
export interface CancelledMessageJob {
  readonly dueMs: number;
}

export class ScheduledMessages {
  /** Registers the marker kind's handler (it only closes the marker); before the scheduler starts. */
  static registerKinds(scheduler: BrokerScheduler): void {
    scheduler.register(cancelledMessageJobKind, () => "done");
  }

  constructor(
    private readonly scheduler: BrokerScheduler,
    private readonly store: MessageStore,
    private readonly clock: Clock,
  ) {}

  /** Scheduled messages waiting for their time, on this broker. */
  get pending(): number {
    return this.scheduler.openOfKind(scheduledMessageJobKind);
  }

  /** Scheduled messages handed to delivery since the broker started. */
  get delivered(): number {
    return this.scheduler.firedOfKind(scheduledMessageJobKind);
  }

  list(query: ScheduledListOptions): ScheduledListing {
    const fromMs = query.fromMs ?? 0;
    const bucketMs = Math.max(limits.scheduledListBucketMsMin, query.bucketMs ?? limits.scheduledListBucketMsDefault);
    const limit = Math.min(limits.scheduledListPageMax, query.limit ?? limits.scheduledListPageDefault);
    const topic = query.topic;
    const answer = this.scheduler.openBetween(
      { kind: scheduledMessageJobKind, fromMs, toMs: query.toMs ?? Number.MAX_SAFE_INTEGER, ...(topic === undefined ? {} : { group: topic }) },
      { after: query.after === undefined ? undefined : { dueMs: query.after.deliverAtMs, id: query.after.msgId }, limit: limit + 1, bucketMs },
    );
    const messages = answer.jobs.slice(0, limit).map((job) => this.view(job));
    const last = messages.at(-1);
    return {
      total: answer.total,
      bucketMs,
      buckets: answer.buckets.slice(0, limits.scheduledListBucketsMax),
      bucketsTruncated: answer.buckets.length > limits.scheduledListBucketsMax,
      messages,
      ...(answer.jobs.length > limit && last !== undefined ? { next: { deliverAtMs: last.deliverAtMs, msgId: last.msgId } } : {}),
    };
  }

  /** Cancels the pending delivery of `msgId` (see the file header for the three answers). */
  cancel(msgId: string): CancelOutcome {
    const copies = this.store.queryAllByMsgId(msgId, limits.scheduledCopiesLookupMax);
    if (copies.some((copy) => copy.topic !== systemTopics.wheelTimer)) {
      this.scheduler.cancel(scheduledMessageJobKind, msgId);
      return "already-delivered";
    }
    const job = this.scheduler.findOpen(scheduledMessageJobKind, msgId);
    if (job !== undefined) {
      const marker = { kind: cancelledMessageJobKind, id: msgId, dueMs: this.clock.nowMs() + limits.scheduledCancelMarkerMs, payload: { dueMs: job.dueMs } } as const;
      this.scheduler.reschedule(job, marker);
      return "cancelled";
    }
    // Cancelled before: its marker is open (for scheduledCancelMarkerMs), or its timer record is stored.
    if (this.scheduler.findOpen(cancelledMessageJobKind, msgId) !== undefined || copies.length > 0) return "cancelled";
    return "unknown";
  }

  private view(job: ScheduledJob<typeof scheduledMessageJobKind, ScheduledMessageJob>): ScheduledMessageView {
    const { payload } = job;
    const record = this.store.getByPhysicalOffset(payload.physicalOffset);
    // No undefined values: the view goes out as msgpack and JSON as is.
    return {
      msgId: job.id,
      topic: payload.realTopic,
      queueId: payload.realQueueId,
      deliverAtMs: job.dueMs,
      ...(record?.tags === undefined ? {} : { tags: record.tags }),
      ...(record === undefined ? {} : { bodyBytes: record.body.byteLength }),
    };
  }
}
