/**
 * The schedule dispatcher: the "schedule" slot of the dispatch pipeline. Every scheduled record
 * (a timer record in rmq_sys_wheel_timer, or any record whose TIMER_DELIVER_MS / DELIVER_AT is
 * later than its store time) is handed, as a `ScheduledRecord`, to the sink the broker attaches
 * — which makes it a scheduler job. Live appends and recovery replay both come through here.
 *
 * Before a sink is attached (the store recovers before the broker starts), scheduled records
 * are remembered by offset only, and forgotten again when replay meets their delivered copy (a
 * visible record whose TIMER_SOURCE_OFFSET names them): what is left was never delivered, and
 * `attach` hands it to the sink. So a job whose journal record was lost is derived again from
 * the CommitLog, and a timer delivered before the crash is not handed out again.
 *
 * Checkpoint. The store's checkpoint (the point recovery replays from) moves past a timer record
 * only after `sync` has made its job durable: a job lost with a torn journal tail is always in
 * the part of the CommitLog that recovery replays.
 *
 * Retention. A pending timer needs its record: `keepFrom` names the lowest CommitLog offset that
 * must be kept (the attached sink's earliest pending record). Until a sink is attached, a store
 * opened with `holdRetentionForTimers` keeps everything.
 */

import { propertyNames } from "../../common/message-properties.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "../../common/offsets.ts";
import { systemTopics } from "../../common/system-topics.ts";
import type { DispatchRecord } from "./dispatch-record.ts";
import type { Dispatcher } from "./record-dispatch.ts";

/** A scheduled record as its sink needs it. */
export interface ScheduledRecord {
  readonly physicalOffset: PhysicalOffset;
  readonly msgId: string;
  readonly realTopic: string;
  readonly realQueueId: number;
  /** When it is due, ms since the epoch. */
  readonly deliverMs: number;
}

export interface ScheduleSink {
  /** Takes one scheduled record; may throw a catalogue error, which undoes a live append. */
  scheduled(record: ScheduledRecord): void;
  /** The lowest CommitLog offset a pending timer still needs; undefined: none pending. */
  keepFrom(): number | undefined;
  /** Makes the jobs it took durable: awaited before the store's checkpoint moves past their records. */
  sync(): Promise<void>;
}

export class ScheduleDispatcher implements Dispatcher {
  readonly accepts = "all";
  private sink: ScheduleSink | undefined;
  /** Before attach: offsets of scheduled records replay met and no delivered copy answered. */
  private readonly replayed = new Set<number>();

  constructor(private readonly options: { readonly holdRetentionForTimers: boolean }) {}

  dispatch(record: DispatchRecord): void {
    if (record.visibility === "visible") {
      if (this.sink !== undefined || this.replayed.size === 0) return;
      const source = record.properties?.[propertyNames.timerSourceOffset];
      if (source !== undefined) this.replayed.delete(Number(source));
      return;
    }
    if (record.visibility !== "scheduled") return;
    if (this.sink === undefined) {
      this.replayed.add(record.physicalOffset);
      return;
    }
    const scheduled = scheduledRecordOf(record);
    if (scheduled !== undefined) this.sink.scheduled(scheduled);
  }

  rollback(physicalOffset: PhysicalOffset): void {
    for (const offset of this.replayed) if (offset >= physicalOffset) this.replayed.delete(offset);
  }

  /**
   * Attaches the sink, handing it first the scheduled records replay left undelivered (read again
   * by `read`, in CommitLog order). Returns how many were handed over.
   */
  attach(sink: ScheduleSink, read: (physicalOffset: PhysicalOffset) => DispatchRecord | undefined): number {
    const offsets = [...this.replayed].sort((a, b) => a - b);
    this.replayed.clear();
    let handed = 0;
    for (const offset of offsets) {
      const record = read(toPhysicalOffset(offset));
      const scheduled = record === undefined ? undefined : scheduledRecordOf(record);
      if (scheduled === undefined) continue;
      sink.scheduled(scheduled);
      handed += 1;
    }
    this.sink = sink;
    return handed;
  }

  /** Before a checkpoint: the jobs of every record dispatched so far are made durable first. */
  async sync(): Promise<void> {
    await this.sink?.sync();
  }

  get attached(): boolean {
    return this.sink !== undefined;
  }

  /** The lowest CommitLog offset retention must keep for pending timers; undefined: no limit. */
  keepFrom(): number | undefined {
    if (this.sink === undefined) return this.options.holdRetentionForTimers ? 0 : undefined;
    return this.sink.keepFrom();
  }
}

/** The timer fields of a scheduled record; undefined for one without a msgId or a delivery time. */
export function scheduledRecordOf(record: DispatchRecord): ScheduledRecord | undefined {
  const properties = record.properties;
  const msgId = record.msgId;
  if (properties === undefined || msgId === undefined) return undefined;
  const deliverMs = Number(properties[propertyNames.timerDeliverMs] ?? properties[propertyNames.deliverAtMs]);
  if (!Number.isSafeInteger(deliverMs)) return undefined;
  const isTimerRecord = record.topic === systemTopics.wheelTimer;
  const realTopic = isTimerRecord ? properties[propertyNames.realTopic] : record.topic;
  const realQueueId = isTimerRecord ? Number(properties[propertyNames.realQueueId]) : record.queueId;
  if (realTopic === undefined || !Number.isInteger(realQueueId) || realQueueId < 0) return undefined;
  return { physicalOffset: record.physicalOffset, msgId, realTopic, realQueueId, deliverMs };
}
