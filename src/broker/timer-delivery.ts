/**
 * Delivery of scheduled messages (issue 10, DESIGN §14). It is the sink of the store's schedule
 * dispatcher: each timer record (live or replayed) becomes one "scheduled-message" job of the
 * broker's scheduler (scheduled-message-job.ts: id the msgId, due at the delivery time). When
 * the job is due, the message is appended into its real topic and queue with its msgId, keys,
 * tags and properties, plus TIMER_OUT_MS (the time it was due), TIMER_DELIVERED_MS and
 * TIMER_SOURCE_OFFSET (the timer record's CommitLog offset).
 *
 * Exactly once. The scheduler runs every open job after a crash and never one whose DONE was
 * written; DONE is written after the copy is stored (under sync flush: once it is durable). The
 * window between the two is closed here: before appending, the copy is looked up by msgId, and a
 * copy whose TIMER_SOURCE_OFFSET names this timer record means it was delivered already. Replay
 * re-derives lost jobs (schedule-dispatcher.ts) and, at attach, jobs already open in the journal
 * are not scheduled again.
 *
 * Never early: the scheduler fires a job at or after its due time on the broker's clock.
 *
 * Retention: the CommitLog file holding the earliest pending timer record is kept, and every
 * later one (store/retention.ts logs it and counts `filesKeptForTimersTotal`).
 */

import { MqError } from "../common/errors.ts";
import { propertyNames } from "../common/message-properties.ts";
import type { ScheduleSink, ScheduledRecord } from "../store/dispatch/schedule-dispatcher.ts";
import type { PutMessageInput } from "../store/put-message.ts";
import type { ScheduledJob } from "../store/scheduler.ts";
import type { BrokerContext } from "./broker-context.ts";
import { type ScheduledMessageJob, scheduledMessageJobKind } from "./scheduled-message-job.ts";
import { cancelledMessageJobKind } from "./scheduled-messages.ts";

type Job = ScheduledJob<typeof scheduledMessageJobKind, ScheduledMessageJob>;

/** Properties of the timer record that the delivered copy does not carry. */
const timerOnlyProperties = [propertyNames.realTopic, propertyNames.realQueueId, propertyNames.timerDeliverMs, propertyNames.deliverAtMs, propertyNames.timerDelayMs];
/** ...nor these, which the copy's own fields carry (tags, keys, msgId). */
const notCopied = new Set<string>([...timerOnlyProperties, propertyNames.tags, propertyNames.keys, propertyNames.msgId]);

export class TimerDelivery implements ScheduleSink {
  readonly counters = { scheduled: 0, delivered: 0, alreadyDelivered: 0, dropped: 0 };
  /** While attaching: keys of cancelled messages' markers, so replay does not schedule them again. */
  private cancelledAtAttach: Set<string> | undefined;
  /**
   * Where the CommitLog ended when this run attached: a timer record at or after it was appended
   * in this run, so a copy of it can only have been stored by this run's delivery of it, which
   * closes its job in the same turn. Its delivery skips the lookup for a copy, unless an attempt
   * of this run failed (`attemptsFailed`: a failed append may have stored it anyway).
   */
  private readonly appendedFrom: number;
  private readonly attemptsFailed = new Set<string>();

  private constructor(private readonly context: BrokerContext) {
    this.appendedFrom = context.store.commitLog.writePosition;
  }

  /** Registers the job kind and attaches to the store (before the scheduler starts). */
  static start(context: BrokerContext): TimerDelivery {
    const delivery = new TimerDelivery(context);
    context.scheduler.register(scheduledMessageJobKind, (job) => delivery.deliver(job));
    // A cancelled message's marker (scheduled-messages.ts) keeps recovery from scheduling it again.
    delivery.cancelledAtAttach = new Set(context.scheduler.openOf(cancelledMessageJobKind).map((marker) => `${marker.payload.dueMs}|${marker.id}`));
    const handed = context.store.attachSchedule(delivery);
    delivery.cancelledAtAttach = undefined;
    if (handed > 0) context.logger.info(`Scheduled delivery: ${handed} timer records found again by recovery`);
    return delivery;
  }

  scheduled(record: ScheduledRecord): void {
    if (this.cancelledAtAttach !== undefined) {
      // Attaching: replay may hand a record whose job the journal holds open already (asked of
      // the scheduler's opening scan, no copy of a million keys) or whose message was cancelled.
      const key = { id: record.msgId, dueMs: record.deliverMs };
      if (this.context.scheduler.openBeforeStart(scheduledMessageJobKind, key) || this.cancelledAtAttach.has(`${key.dueMs}|${key.id}`)) return;
    }
    const payload: ScheduledMessageJob = { physicalOffset: record.physicalOffset, realTopic: record.realTopic, realQueueId: record.realQueueId, msgId: record.msgId };
    // Held for the turn's one write: a job lost to a kill -9 is derived again by replay (schedule-dispatcher.ts).
    this.context.scheduler.scheduleSoon({ kind: scheduledMessageJobKind, id: record.msgId, dueMs: record.deliverMs, payload, floor: record.physicalOffset, group: record.realTopic });
    this.counters.scheduled += 1;
  }

  /**
   * The lowest CommitLog offset of a pending timer record: each job carries its record's offset
   * as its floor, and the scheduler keeps the lowest per slice of due time (schedule-floors.ts),
   * so no job is read. It may be lower than needed until the next compaction, never higher.
   */
  keepFrom(): number | undefined {
    return this.context.scheduler.lowestFloor();
  }

  sync(): Promise<void> {
    return this.context.scheduler.sync();
  }

  private deliver(job: Job): "done" | "held" {
    const { store, topics, scheduler, clock, logger } = this.context;
    const { physicalOffset, realTopic, msgId } = job.payload;
    // The crash window's check: a stored copy of this timer record means it was delivered. The
    // lookup by msgId finds the timer record itself when there is no copy: it is not read twice.
    const mayHaveCopy = physicalOffset < this.appendedFrom || this.attemptsFailed.has(msgId);
    const found = mayHaveCopy ? store.queryByMsgId(msgId) : undefined;
    if (found !== undefined && found.properties[propertyNames.timerSourceOffset] === String(physicalOffset)) {
      this.counters.alreadyDelivered += 1;
      this.attemptsFailed.delete(msgId);
      return "done";
    }
    const timer = found?.physicalOffset === physicalOffset ? found : store.getByPhysicalOffset(physicalOffset);
    if (timer === undefined || timer.msgId?.toUpperCase() !== msgId.toUpperCase()) {
      this.counters.dropped += 1;
      logger.error(`Scheduled delivery: the timer record of message "${msgId}" is not at offset ${physicalOffset}; nothing to deliver`);
      return "done";
    }
    const config = topics.get(realTopic);
    if (config === undefined) {
      this.counters.dropped += 1;
      logger.warn(`Scheduled delivery: topic "${realTopic}" of message "${msgId}" no longer exists; the message is dropped`);
      return "done";
    }
    // A copy without what the copy does not carry (built, not deleted from: an object deleted
    // from turns slow, and a hot second makes a million of them).
    const properties: Record<string, string> = {};
    for (const name in timer.properties) if (!notCopied.has(name)) properties[name] = timer.properties[name]!;
    properties[propertyNames.timerOutMs] = String(job.dueMs);
    properties[propertyNames.timerDeliveredMs] = String(clock.nowMs());
    properties[propertyNames.timerSourceOffset] = String(physicalOffset);
    const input: PutMessageInput = {
      topic: realTopic,
      queueId: job.payload.realQueueId % config.writeQueues,
      body: timer.body,
      tags: timer.tags,
      keys: timer.keys.length === 0 ? undefined : timer.keys,
      msgId: timer.msgId,
      properties,
      flag: timer.flag,
      bornTimestampMs: timer.bornTimestampMs,
      bornHost: timer.bornHost,
      reconsumeTimes: timer.reconsumeTimes,
    };
    let stored: ReturnType<typeof this.context.messages.appendAndAwait>;
    try {
      stored = this.context.messages.appendAndAwait(input);
    } catch (error) {
      this.attemptsFailed.add(msgId);
      throw error;
    }
    if (!(stored instanceof Promise)) {
      this.counters.delivered += 1;
      if (mayHaveCopy) this.attemptsFailed.delete(msgId);
      return "done";
    }
    // Sync flush: DONE only once the copy is durable; the job stays open (held) until then.
    void stored.then(
      () => {
        this.counters.delivered += 1;
        this.attemptsFailed.delete(msgId);
        scheduler.complete(job);
      },
    ).catch((error: unknown) => {
      this.attemptsFailed.add(msgId);
      logger.error(`Scheduled delivery of message "${msgId}" failed: ${error instanceof MqError ? error.message : String(error)}; retrying`);
      try {
        scheduler.reschedule(job, { ...job, dueMs: job.dueMs + 1 });
      } catch (rescheduleError) {
        logger.error(`Cannot retry delivery of message "${msgId}": ${String(rescheduleError)}`);
      }
    });
    return "held";
  }
}
