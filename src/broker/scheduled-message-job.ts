/**
 * The scheduler job of one scheduled message (issue 10, DESIGN §14): the contract between the
 * code that schedules and delivers timers and the code that lists, counts and cancels them.
 *
 *   kind     "scheduled-message"
 *   id       the message's msgId (UNIQ_KEY): one pending timer per msgId
 *   dueMs    the delivery time, ms since the epoch
 *   payload  ScheduledMessageJob below
 *   floor    the timer record's CommitLog offset (retention keeps from the lowest)
 *   group    the real topic (listings count and filter by it without reading payloads)
 *
 * The timer record itself (topic rmq_sys_wheel_timer, REAL_TOPIC / REAL_QID / TIMER_DELIVER_MS)
 * stays in the CommitLog at `physicalOffset`; the job never copies the body.
 */

import type { PhysicalOffset } from "../common/offsets.ts";

export const scheduledMessageJobKind = "scheduled-message";

export interface ScheduledMessageJob {
  /** Where the timer record is in the CommitLog. */
  readonly physicalOffset: PhysicalOffset;
  /** The topic and queue the message is delivered into when due. */
  readonly realTopic: string;
  readonly realQueueId: number;
  /** The producer's msgId (UNIQ_KEY); also the job's id. */
  readonly msgId: string;
}
