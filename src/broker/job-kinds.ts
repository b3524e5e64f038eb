/**
 * The broker's scheduled job kinds and their payloads: the typed registry of the one scheduler
 * (store/scheduler.ts). A feature that needs a timer surviving restarts adds its kind here and
 * registers a handler at broker start; delayed delivery, retry back-off and transaction
 * check-back come next, each as one kind.
 */

import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";
import type { Scheduler } from "../store/scheduler.ts";
import type { CancelledMessageJob } from "./scheduled-messages.ts";
import type { ScheduledMessageJob } from "./scheduled-message-job.ts";
import type { TransactionJob } from "./transaction-job.ts";

export type { ScheduledMessageJob } from "./scheduled-message-job.ts";

/** A popped message's invisible time: when it passes un-acked, the message is visible again. */
export interface PopRedeliveryJob {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: QueueOffset;
  readonly physicalOffset: PhysicalOffset;
  /** 1 on the first delivery, one more on each re-delivery. */
  readonly attempt: number;
  /** The receipt handle the message was last handed out with; it stays valid across a restart. */
  readonly handle: string;
  /** The delivery failed and this deadline ends the group's back-off: the message is then visible again. */
  readonly backingOff?: boolean;
  /** The consumer set this deadline (change of invisible time): no back-off follows it. */
  readonly deadlineChosen?: boolean;
  /** When the group first failed it (ms), for its DLQ entry. */
  readonly firstFailureMs?: number;
  /** The consumer's error text of its last nack: the reason its DLQ entry gives if it never succeeds. */
  readonly errorText?: string;
}

export type BrokerJobKinds = {
  "pop.redeliver": PopRedeliveryJob;
  "scheduled-message": ScheduledMessageJob;
  "scheduled-message.cancelled": CancelledMessageJob;
  /** A half message waiting for its outcome, due at its next check-back (transaction-job.ts). */
  "transaction.check": TransactionJob;
  /** A half message checked transactionCheckMax times without an answer: never due, waits for an operator. */
  "transaction.exhausted": TransactionJob;
};

export type BrokerScheduler = Scheduler<BrokerJobKinds>;
