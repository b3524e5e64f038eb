/**
 * Pop's restart: the pending messages, their handles and attempts rebuilt from the scheduler's
 * open "pop.redeliver" jobs (pop-service.ts, Durability), so a popped, un-acked message stays
 * invisible until its deadline and its receipt handle still acks it. A queue's `next` restarts
 * past its highest pending offset: an offset below it that is no longer pending was acked.
 */

import { laterQueueOffset, queueOffsetPlus } from "../common/offsets.ts";
import type { ScheduledJob } from "../store/scheduler.ts";
import type { BrokerContext } from "./broker-context.ts";
import type { PopRedeliveryJob } from "./job-kinds.ts";
import { popJobKind, type GroupTopic, type HandleTarget, type InFlight, type QueueCursor } from "./pop-state.ts";

export interface RestoreTarget {
  /** The (group, topic) state, made on first use. */
  state(group: string, topic: string): GroupTopic;
  readonly handles: Map<string, HandleTarget>;
}

/** Rebuilds every pending message into `target`; returns how many. Stale jobs are completed. */
export function restorePopInFlight(context: BrokerContext, target: RestoreTarget): number {
  const byQueue = new Map<string, ScheduledJob<typeof popJobKind, PopRedeliveryJob>[]>();
  for (const job of context.scheduler.openOf(popJobKind)) {
    const key = `${job.payload.topic}@${job.payload.group}\u0000${job.payload.queueId}`;
    const jobs = byQueue.get(key) ?? [];
    jobs.push(job);
    byQueue.set(key, jobs);
  }
  let restored = 0;
  for (const jobs of byQueue.values()) {
    const { group, topic, queueId } = jobs[0]!.payload;
    const state = target.state(group, topic);
    const stored = context.offsets.query(group, topic, queueId);
    const cursor: QueueCursor = { next: stored === -1 ? context.store.minOffset(topic, queueId) : stored, committed: stored, pending: new Map() };
    state.queues.set(queueId, cursor);
    jobs.sort((a, b) => a.payload.queueOffset - b.payload.queueOffset || b.dueMs - a.dueMs);
    for (const job of jobs) {
      const { queueOffset, physicalOffset, attempt, handle, backingOff, deadlineChosen, firstFailureMs, errorText } = job.payload;
      // Below the stored offset (an admin reset moved past it) or a second job of one offset: stale.
      if (queueOffset < stored || cursor.pending.has(queueOffset)) {
        context.scheduler.complete(job);
        continue;
      }
      const entry: InFlight = { queueId, queueOffset, physicalOffset, handle, deadlineMs: job.dueMs, attempt, visible: false, settled: false, backingOff: backingOff === true, deadlineChosen: deadlineChosen === true, firstFailureMs, errorText };
      cursor.pending.set(queueOffset, entry);
      target.handles.set(handle, { state, entry });
      state.inFlight += 1;
      cursor.next = laterQueueOffset(cursor.next, queueOffsetPlus(queueOffset, 1));
      restored += 1;
    }
  }
  return restored;
}
