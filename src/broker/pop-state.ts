/**
 * What the pop service (pop-service.ts, which describes the model) holds in memory: per (group,
 * topic) a state, per queue a cursor, per message handed out and not acked an in-flight entry;
 * and how an entry is named and written as its "pop.redeliver" job of the broker's scheduler.
 */

import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";
import type { PopRedeliveryJob } from "./job-kinds.ts";

export const popJobKind = "pop.redeliver";

export interface InFlight {
  readonly queueId: number;
  readonly queueOffset: QueueOffset;
  readonly physicalOffset: PhysicalOffset;
  handle: string;
  /** The deadline of its open job: (jobId, deadlineMs) is the job's key. */
  deadlineMs: number;
  attempt: number;
  /** Its deadline passed: it waits in `ready` for the next receive. */
  visible: boolean;
  settled: boolean;
  /** Its delivery failed (deadline passed un-acked): the deadline now ends the group's back-off. */
  backingOff: boolean;
  /** Its deadline was set by the consumer (change of invisible time, nack): no back-off is added when it passes. */
  deadlineChosen: boolean;
  firstFailureMs?: number;
  /** The last nack's error text, the reason its DLQ entry gives. */
  errorText?: string;
  /** The message's msgId, known once handed out (the ack's trace hop names it). */
  msgId?: string;
}

export interface QueueCursor {
  next: QueueOffset;
  /** The offset the service last committed (or found stored); -1 when none. */
  committed: QueueOffset | -1;
  /** In-flight entries by queue offset; inserted in ascending order, so the first is the lowest. */
  readonly pending: Map<QueueOffset, InFlight>;
}

export interface GroupTopic {
  readonly group: string;
  readonly topic: string;
  readonly queues: Map<number, QueueCursor>;
  /** Entries visible again, oldest deadline first (skipped when no longer visible). */
  ready: InFlight[];
  inFlight: number;
  nextQueue: number;
  /** The last receive's filter stopped at its scan bound with entries left unexamined. */
  filteredBacklog: boolean;
}

/** A handle's way back to its entry. */
export interface HandleTarget {
  readonly state: GroupTopic;
  readonly entry: InFlight;
}

export function popStateKey(group: string, topic: string): string {
  return `${topic}@${group}`;
}

/** The id of an entry's job; with its deadline, the job's key. */
export function popJobId(state: GroupTopic, entry: InFlight): string {
  return `${state.topic}@${state.group}/${entry.queueId}/${entry.queueOffset}`;
}

/** What the entry's job carries: enough to rebuild the entry after a restart. */
export function popJobPayload(state: GroupTopic, entry: InFlight): PopRedeliveryJob {
  return {
    group: state.group,
    topic: state.topic,
    queueId: entry.queueId,
    queueOffset: entry.queueOffset,
    physicalOffset: entry.physicalOffset,
    attempt: entry.attempt,
    handle: entry.handle,
    ...(entry.backingOff ? { backingOff: true } : {}),
    ...(entry.deadlineChosen ? { deadlineChosen: true } : {}),
    ...(entry.firstFailureMs === undefined ? {} : { firstFailureMs: entry.firstFailureMs }),
    ...(entry.errorText === undefined ? {} : { errorText: entry.errorText }),
  };
}
