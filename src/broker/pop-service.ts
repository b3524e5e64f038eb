/**
 * Pop consumption, as RocketMQ 5's SimpleConsumer and the REST `receive`/`ack` use it: a
 * consumer asks a (group, topic) for up to N messages; each one handed out becomes invisible to
 * the rest of the group for `invisibleMs` and comes with a receipt handle. Acking the handle
 * settles the message; a message not acked in time becomes visible again and is delivered anew
 * (attempt + 1, new handle — the old one is then invalid); nack / change-invisible-time moves
 * its deadline. The broker, not the consumer, decides who gets which message, so consumers need
 * no queue assignment or re-balance: any number may share a group.
 *
 * Model, per (group, topic) and queue:
 *   committed ≤ [pending: handed out, not acked] < next ≤ maxOffset
 * `next` is the first offset never handed out; the committed consumer offset (the one the
 * offset manager persists and lag is computed from) is the lowest pending offset, or `next`
 * when nothing is pending. An admin reset of the group's offset is noticed (the stored offset
 * is not the one this service last wrote) and restarts the queue there, invalidating its handles.
 *
 * Durability. Every pending message is a "pop.redeliver" job of the broker's scheduler (its key:
 * the message's id and its deadline), written before the message is handed out: an ack
 * completes it, a re-delivery or a change of invisible time reschedules it in one write. When a
 * deadline passes the job fires and the message is visible again ("held": the job stays open
 * until the message is delivered again or acked). At start the service rebuilds its pending
 * messages, handles and attempts from the open jobs, so after a kill -9 a popped, un-acked
 * message stays invisible until its deadline and is then delivered again, and its receipt
 * handle still acks it (pop-restore.ts). What a crash can still repeat: messages acked above every
 * pending one within the last offset-persist interval (at-least-once, as for pulls).
 *
 * Invariants: a message is in flight for at most one handle at a time, and every decision —
 * expiry, hand-out, ack — runs synchronously, so two consumers can never both hold one
 * un-acked message. A (group, topic) with nothing in flight and no receive held is dropped by
 * the sweep (`popStateSweepIntervalMs`): its cursor is rebuilt from the stored offset on use.
 *
 * One service per broker, made at broker start (`PopService.start`) and found with
 * `PopService.of(context)`, so HTTP consumers and the TCP POP_MESSAGE / ACK_MESSAGE /
 * CHANGE_INVISIBLE_TIME handlers (processors/pop-processor.ts) share one view of what is in flight.
 */

import type { TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { unreachable } from "../common/assert.ts";
import { filterScanEntriesPerRequestMax, popInFlightMax, popStateSweepIntervalMs, popWaitersMax } from "../common/limits.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { decodeRecord } from "../common/message-record.ts";
import { type FilterExpression, type MessageFilter, compileFilter } from "../protocol/filter/filter-expression.ts";
import type { ScheduledJob } from "../store/scheduler.ts";
import type { BrokerContext } from "./broker-context.ts";
import type { PopRedeliveryJob } from "./job-kinds.ts";
import { restorePopInFlight } from "./pop-restore.ts";
import { popJobId, popJobKind, popJobPayload, popStateKey, type GroupTopic, type HandleTarget, type InFlight, type QueueCursor } from "./pop-state.ts";
import { PopWaiters } from "./pop-waiters.ts";
import { propertyNames } from "../common/message-properties.ts";
import { SendBackService } from "./send-back-service.ts";

export { popInFlightMax, popWaitersMax };

/** Entries a filtered receive examines per queue at least, however many queues share its bound. */
const popScanEntriesPerQueueMin = 1_024;

export interface PopRequest {
  readonly group: string;
  readonly topic: string;
  readonly maxMessages: number;
  readonly invisibleMs: number;
  /** 0 answers at once; otherwise the receive is held until a message is available or this passes. */
  readonly waitMs?: number;
  readonly filter?: FilterExpression;
  /** Aborting drops a held receive (its HTTP client went away) so it takes no message. */
  readonly signal?: AbortSignal;
}

export interface PoppedMessage {
  readonly message: StoredMessage;
  readonly receiptHandle: string;
  readonly invisibleUntilMs: number;
  /** 1 on the first delivery, one more on each re-delivery. */
  readonly deliveryAttempt: number;
}

/** A nack: the delivery failed (the back-off follows the deadline), and why. */
export interface NackDetails {
  readonly nack?: boolean;
  readonly errorText?: string;
}


const services = new WeakMap<BrokerContext, PopService>();

export class PopService {
  readonly counters = { delivered: 0, redelivered: 0, acked: 0, invisibleTimeChanged: 0, restored: 0, statesSwept: 0, deadLettered: 0 };
  private readonly states = new Map<string, GroupTopic>();
  private readonly handles = new Map<string, HandleTarget>();
  private readonly waiters: PopWaiters<PopRequest, PoppedMessage>;
  private handleSequence = 0;
  /** Makes handles of another run (or another broker) unknown here rather than ambiguous. */
  private readonly instance = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  private readonly unsubscribe: () => void;
  private readonly sweep: TimerHandle;
  private stopped = false;

  private constructor(private readonly context: BrokerContext) {
    this.waiters = new PopWaiters(context.clock, popWaitersMax, (request) => this.tryReceive(request));
    const bus = context.store.options.bus;
    this.unsubscribe = bus === undefined ? () => {} : bus.on("message.stored", (event) => this.waiters.wakeSoon(event.topic));
    this.sweep = context.clock.setInterval(() => this.sweepStates(), popStateSweepIntervalMs);
    context.scheduler.register(popJobKind, (job) => this.onDeadline(job));
    this.counters.restored = restorePopInFlight(context, { state: (group, topic) => this.state(group, topic), handles: this.handles });
    if (this.counters.restored > 0) context.logger.info(`Pop: ${this.counters.restored} un-acked messages restored from the scheduler, each invisible until its deadline`);
  }

  /**
   * Makes the broker's pop service: registers its job kind and rebuilds what was in flight from
   * the scheduler's open jobs. Call before the scheduler starts, so no deadline fires unseen.
   */
  static start(context: BrokerContext): PopService {
    const service = new PopService(context);
    services.set(context, service);
    return service;
  }

  /** The broker's one pop service. */
  static of(context: BrokerContext): PopService {
    const service = services.get(context);
    if (service === undefined) throw new MqError("INTERNAL", { reason: "the broker has no pop service: PopService.start runs at broker start" });
    return service;
  }

  /** The broker's pop service if it runs (group views, shutdown). */
  static existing(context: BrokerContext): PopService | undefined {
    const service = services.get(context);
    return service === undefined || service.stopped ? undefined : service;
  }

  /** Receives held right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** (group, topic) pairs with state in memory; the sweep drops idle ones. */
  get stateCount(): number {
    return this.states.size;
  }

  /** Un-acked messages of a group (on one topic, or all). */
  inFlight(group: string, topic?: string): number {
    let count = 0;
    for (const state of this.states.values()) if (state.group === group && (topic === undefined || state.topic === topic)) count += state.inFlight;
    return count;
  }

  /** Hands out what is available now, possibly nothing. Throws for an unknown or unreadable topic. */
  tryReceive(request: PopRequest): PoppedMessage[] {
    // Every job this receive schedules is written with one write, before the messages leave.
    return this.context.scheduler.batch(() => this.receiveNow(request));
  }

  private receiveNow(request: PopRequest): PoppedMessage[] {
    this.context.groupConfigs.assertConsumeEnabled(request.group);
    const config = this.context.topics.forRead(request.topic);
    const filter = compileFilter(request.filter, request.group);
    this.context.offsets.admit(request.group); // refuse a group past the cap before handing anything out
    this.context.scheduler.runDue(); // deadlines passed by now are visible to this receive
    const state = this.state(request.group, request.topic);
    state.filteredBacklog = false;
    const nowMs = this.context.clock.nowMs();
    const out: PoppedMessage[] = [];
    while (out.length < request.maxMessages && state.ready.length > 0) {
      const entry = state.ready.shift()!;
      // Skip what was settled, rescheduled, or dropped by an admin reset of the group's offset.
      if (entry.settled || !entry.visible || this.cursor(state, entry.queueId).pending.get(entry.queueOffset) !== entry) continue;
      const message = this.context.store.getByPhysicalOffset(entry.physicalOffset);
      if (message === undefined) {
        this.settle(state, entry); // gone with retention: nothing left to deliver
        continue;
      }
      entry.visible = false;
      entry.attempt += 1;
      this.counters.redelivered += 1;
      out.push(this.handOut(state, entry, message, nowMs, request.invisibleMs));
    }
    const queues = config.readQueues;
    for (let step = 0; step < queues && out.length < request.maxMessages && state.inFlight < popInFlightMax; step++) {
      this.readNew(state, (state.nextQueue + step) % queues, filter, request, nowMs, out);
    }
    state.nextQueue = (state.nextQueue + 1) % queues;
    return out;
  }

  /** Like tryReceive, but holds an empty answer up to `waitMs` (capped by the broker's longPollMsMax). */
  receive(request: PopRequest): Promise<PoppedMessage[]> {
    const first = this.tryReceive(request);
    const waitMs = Math.min(request.waitMs ?? 0, this.context.config.longPollMsMax);
    // A filter that stopped at its scan bound answers empty now: the next receive continues past it.
    if (first.length > 0 || waitMs <= 0 || this.states.get(popStateKey(request.group, request.topic))?.filteredBacklog === true || this.stopped || this.waiters.full || request.signal?.aborted === true) return Promise.resolve(first);
    return this.waiters.hold(request, waitMs);
  }

  /** Settles a delivered message. A handle that is unknown, stale, or of another group or topic is RECEIPT_HANDLE_INVALID. */
  ack(group: string, topic: string | undefined, receiptHandle: string): void {
    const { state, entry } = this.lookup(group, topic, receiptHandle);
    this.settle(state, entry);
    this.counters.acked += 1;
    this.context.bus.emit("message.acked", { group, topic: state.topic, msgId: entry.msgId ?? this.context.store.getByPhysicalOffset(entry.physicalOffset)?.msgId, queueId: entry.queueId, queueOffset: entry.queueOffset });
  }

  /**
   * Moves a delivered message's deadline to now + `invisibleMs` and gives it a new handle (the
   * old one stops working). A nack is this with the delay before re-delivery; 0 re-delivers now.
   */
  changeInvisibleTime(group: string, topic: string | undefined, receiptHandle: string, invisibleMs: number, failure?: NackDetails): { receiptHandle: string; invisibleUntilMs: number } {
    const { state, entry } = this.lookup(group, topic, receiptHandle);
    entry.visible = false;
    entry.backingOff = false;
    entry.deadlineChosen = failure?.nack !== true;
    if (failure?.errorText !== undefined) entry.errorText = failure.errorText;
    this.reschedule(state, entry, this.context.clock.nowMs() + invisibleMs);
    this.counters.invisibleTimeChanged += 1;
    return { receiptHandle: entry.handle, invisibleUntilMs: entry.deadlineMs };
  }

  /** Answers every held receive (empty) and stops listening for stores; what is in flight stays scheduled. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.sweep.cancel();
    this.waiters.releaseAll();
  }

  /** Drops idle (group, topic) state, and the in-flight messages of topics that no longer exist. */
  sweepStates(): void {
    for (const [key, state] of this.states) {
      if (this.context.topics.get(state.topic) === undefined) {
        for (const cursor of state.queues.values()) for (const entry of cursor.pending.values()) this.forget(state, entry);
      } else if (state.inFlight > 0 || this.waiters.holds(state.group, state.topic)) continue;
      this.states.delete(key);
      this.counters.statesSwept += 1;
    }
  }

  /** A handle names its topic itself; a caller that also names one must name the same. */
  private lookup(group: string, topic: string | undefined, receiptHandle: string): HandleTarget {
    const found = this.handles.get(receiptHandle);
    if (found === undefined || found.state.group !== group || (topic !== undefined && found.state.topic !== topic) || found.entry.settled) {
      throw new MqError("RECEIPT_HANDLE_INVALID", { handle: receiptHandle.slice(0, 64) });
    }
    // An admin reset since delivery restarted the queue: the handle no longer names a pending message.
    const cursor = this.cursor(found.state, found.entry.queueId);
    if (cursor.pending.get(found.entry.queueOffset) !== found.entry) throw new MqError("RECEIPT_HANDLE_INVALID", { handle: receiptHandle.slice(0, 64) });
    return found;
  }

  private state(group: string, topic: string): GroupTopic {
    const key = popStateKey(group, topic);
    let state = this.states.get(key);
    if (state === undefined) {
      state = { group, topic, queues: new Map(), ready: [], inFlight: 0, nextQueue: 0, filteredBacklog: false };
      this.states.set(key, state);
    }
    return state;
  }

  /** The queue's cursor, restarted at the stored offset when someone else (an admin reset) moved it. */
  private cursor(state: GroupTopic, queueId: number): QueueCursor {
    const stored = this.context.offsets.query(state.group, state.topic, queueId);
    let cursor = state.queues.get(queueId);
    if (cursor !== undefined && cursor.committed === stored) return cursor;
    if (cursor !== undefined) {
      for (const entry of cursor.pending.values()) this.forget(state, entry);
      this.context.logger.info(`Offset of group "${state.group}" on "${state.topic}" queue ${queueId} moved to ${stored}: ${cursor.pending.size} in-flight messages dropped`);
    }
    cursor = { next: stored === -1 ? this.context.store.minOffset(state.topic, queueId) : stored, committed: stored, pending: new Map() };
    state.queues.set(queueId, cursor);
    return cursor;
  }

  private readNew(state: GroupTopic, queueId: number, filter: MessageFilter | undefined, request: PopRequest, nowMs: number, out: PoppedMessage[]): void {
    // One receive examines about filterScanEntriesPerRequestMax entries over all the queues.
    const scanEntriesMax = Math.max(popScanEntriesPerQueueMin, Math.floor(filterScanEntriesPerRequestMax / this.context.topics.forRead(state.topic).readQueues));
    const cursor = this.cursor(state, queueId);
    // Each message handed out becomes a scheduled job: take no more than the scheduler has room for.
    const maxCount = Math.min(request.maxMessages - out.length, popInFlightMax - state.inFlight, this.context.scheduler.room);
    if (maxCount <= 0) return;
    const result = this.context.store.getMessages({
      topic: state.topic,
      queueId,
      offset: cursor.next,
      maxCount,
      tagHashes: filter?.tagHashes,
      acceptRecord: filter?.acceptRecord,
      scanEntriesMax,
    });
    switch (result.status) {
      case "found":
        for (const read of result.messages) {
          const entry: InFlight = { queueId, queueOffset: read.queueOffset, physicalOffset: read.physicalOffset, handle: "", deadlineMs: -1, attempt: 1, visible: false, settled: false, backingOff: false, deadlineChosen: false };
          cursor.pending.set(read.queueOffset, entry);
          state.inFlight += 1;
          this.counters.delivered += 1;
          out.push(this.handOut(state, entry, decodeRecord(result.buffer, read.position), nowMs, request.invisibleMs));
        }
        cursor.next = result.nextOffset;
        break;
      case "no_matched_message":
        cursor.next = result.nextOffset;
        if (result.nextOffset < result.maxOffset) state.filteredBacklog = true;
        break;
      case "offset_too_small":
        cursor.next = result.minOffset;
        break;
      case "offset_overflow_badly":
        cursor.next = result.maxOffset;
        break;
      case "offset_overflow_one":
      case "no_matched_queue":
        break;
      default:
        unreachable(result.status);
    }
    this.commit(state, queueId, cursor);
  }

  /** Gives the entry a new handle and deadline, durably (its job), before the message leaves. */
  private handOut(state: GroupTopic, entry: InFlight, message: StoredMessage, nowMs: number, invisibleMs: number): PoppedMessage {
    entry.backingOff = false;
    entry.deadlineChosen = false;
    this.reschedule(state, entry, nowMs + invisibleMs);
    entry.msgId = message.msgId;
    this.context.bus.emit("message.popped", { group: state.group, topic: state.topic, msgId: message.msgId, keys: message.keys, queueId: entry.queueId, queueOffset: entry.queueOffset, attempt: entry.attempt, invisibleUntilMs: entry.deadlineMs });
    return { message, receiptHandle: entry.handle, invisibleUntilMs: entry.deadlineMs, deliveryAttempt: entry.attempt };
  }

  /** A new deadline (and, unless `keepHandle`, a new handle: the old one stops working). */
  private reschedule(state: GroupTopic, entry: InFlight, deadlineMs: number, keepHandle = false): void {
    const previous = entry.deadlineMs < 0 ? undefined : { id: popJobId(state, entry), dueMs: entry.deadlineMs };
    if (entry.handle !== "") this.handles.delete(entry.handle);
    if (!keepHandle || entry.handle === "") entry.handle = this.nextHandle(entry);
    entry.deadlineMs = deadlineMs;
    const job = { kind: popJobKind, id: popJobId(state, entry), dueMs: deadlineMs, payload: popJobPayload(state, entry) } as const;
    if (previous === undefined) this.context.scheduler.schedule(job);
    else this.context.scheduler.reschedule(previous, job);
    this.handles.set(entry.handle, { state, entry });
  }

  private nextHandle(entry: InFlight): string {
    this.handleSequence += 1;
    return `${this.instance}.${entry.queueId}.${entry.queueOffset}.${this.handleSequence.toString(36)}`;
  }

  /**
   * A deadline passed. While the message was handed out, its delivery failed: after
   * `1 + maxReconsumeTimes` deliveries it moves to the group's DLQ, else it waits the group's
   * back-off (same handle: a late ack still settles it) — unless the consumer chose this deadline
   * (changed the invisible time, nacked with a delay), which then was the wait. After that it is
   * visible again; its job stays open until it is delivered again or acked.
   */
  private onDeadline(job: ScheduledJob<typeof popJobKind, PopRedeliveryJob>): "done" | "held" {
    const { group, topic, queueId, queueOffset } = job.payload;
    const state = this.states.get(popStateKey(group, topic));
    const entry = state?.queues.get(queueId)?.pending.get(queueOffset);
    if (state === undefined || entry === undefined || entry.settled || entry.deadlineMs !== job.dueMs) return "done"; // stale: nothing waits for it
    if (!entry.backingOff && !entry.visible) {
      const outcome = this.failed(state, entry);
      if (outcome !== "visible") return "held";
    }
    if (!entry.visible) {
      entry.visible = true;
      state.ready.push(entry);
      this.waiters.wakeSoon(topic, group);
    }
    return "held";
  }

  /** A delivery failed (its invisible time passed un-acked): back off, or move it to the DLQ. */
  private failed(state: GroupTopic, entry: InFlight): "visible" | "backing-off" | "dead-lettered" {
    const nowMs = this.context.clock.nowMs();
    entry.firstFailureMs ??= nowMs;
    const sendBack = SendBackService.of(this.context);
    if (entry.attempt < 1 + this.context.groupConfigs.get(state.group).maxReconsumeTimes) {
      if (entry.deadlineChosen) return "visible";
      entry.backingOff = true;
      this.reschedule(state, entry, nowMs + sendBack.backoffMs(state.group, entry.attempt - 1), true);
      return "backing-off";
    }
    const message = this.context.store.getByPhysicalOffset(entry.physicalOffset);
    if (message === undefined) {
      this.settle(state, entry); // gone with retention: nothing left to move
      return "dead-lettered";
    }
    const errorText = entry.errorText ?? `invisible time expired: not acked after delivery ${entry.attempt}`;
    const stored = sendBack.deadLetter({ group: state.group, message, originTopic: message.properties[propertyNames.retryTopic] ?? state.topic, reconsumeTimes: entry.attempt, firstFailureMs: entry.firstFailureMs, errorText });
    this.counters.deadLettered += 1;
    if (!(stored instanceof Promise)) this.settle(state, entry);
    else {
      entry.backingOff = true; // no receive hands it out while its DLQ copy is being stored
      stored.then(
        () => this.settle(state, entry),
        (error: unknown) => {
          this.context.logger.error(`Cannot move message "${message.msgId}" of group "${state.group}" to its DLQ: ${(error as Error).message}; it is delivered again`);
          this.reschedule(state, entry, this.context.clock.nowMs(), true);
        },
      );
    }
    return "dead-lettered";
  }

  private settle(state: GroupTopic, entry: InFlight): void {
    const cursor = state.queues.get(entry.queueId);
    this.forget(state, entry);
    if (cursor === undefined) return;
    cursor.pending.delete(entry.queueOffset);
    this.commit(state, entry.queueId, cursor);
  }

  private forget(state: GroupTopic, entry: InFlight): void {
    if (entry.settled) return;
    entry.settled = true;
    this.handles.delete(entry.handle);
    state.inFlight -= 1;
    if (entry.deadlineMs >= 0) this.context.scheduler.complete({ kind: popJobKind, id: popJobId(state, entry), dueMs: entry.deadlineMs });
  }

  /** Commits the lowest un-acked offset (or `next`) when it moved. */
  private commit(state: GroupTopic, queueId: number, cursor: QueueCursor): void {
    const lowest = cursor.pending.keys().next();
    const offset = lowest.done === true ? cursor.next : lowest.value;
    if (offset === cursor.committed) return;
    this.context.offsets.commit(state.group, state.topic, queueId, offset);
    cursor.committed = offset;
  }
}
