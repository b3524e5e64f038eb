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
 * when nothing is pending — so a restart loses no un-acked message: it is delivered again
 * (at-least-once). An admin reset of the group's offset is noticed (the stored offset is not
 * the one this service last wrote) and restarts the queue there, invalidating its handles.
 *
 * Invariants: a message is in flight for at most one handle at a time, and every decision —
 * expiry, hand-out, ack — runs synchronously, so two consumers can never both hold one
 * un-acked message. Deadlines sit in a min-heap with lazy deletion (deadline-heap.ts).
 *
 * Long polling: a receive that finds nothing is held until a message is stored on the topic
 * (the bus's "message.stored"), an in-flight message's invisible time passes, or its wait ends.
 *
 * One service per broker (`PopService.of(context)`), so HTTP consumers and the TCP POP_MESSAGE /
 * ACK_MESSAGE / CHANGE_INVISIBLE_TIME handlers (processors/pop-processor.ts) share one view of
 * what is in flight.
 */

import type { TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { decodeRecord } from "../common/message-record.ts";
import type { BrokerContext } from "./broker-context.ts";
import { DeadlineHeap } from "./deadline-heap.ts";
import { type FilterExpression, compileFilter } from "../protocol/filter/filter-expression.ts";

/** Un-acked messages one (group, topic) may hold; past it a receive gets re-deliveries only. Meant for limits.ts. */
export const popInFlightMax = 65_536;
/** Receives held at once; more are answered at once (empty), so waiting cannot grow memory unbounded. */
export const popWaitersMax = 10_000;

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

interface InFlight {
  readonly queueId: number;
  readonly queueOffset: number;
  readonly physicalOffset: number;
  handle: string;
  deadlineMs: number;
  attempt: number;
  settled: boolean;
}

/** A heap node remembers the handle it was pushed for: a node whose entry moved on is stale. */
interface DeadlineNode {
  readonly deadlineMs: number;
  readonly entry: InFlight;
  readonly handle: string;
}

interface QueueCursor {
  next: number;
  /** The offset this service last committed (or found stored); -1 when none. */
  committed: number;
  /** In-flight entries by queue offset; inserted in ascending order, so the first is the lowest. */
  readonly pending: Map<number, InFlight>;
}

interface GroupTopic {
  readonly group: string;
  readonly topic: string;
  readonly queues: Map<number, QueueCursor>;
  readonly deadlines: DeadlineHeap<DeadlineNode>;
  /** Expired entries awaiting re-delivery, oldest first (stale when the handle moved on). */
  ready: DeadlineNode[];
  inFlight: number;
  nextQueue: number;
  timer: TimerHandle | undefined;
  timerDueMs: number;
}

interface Waiter {
  readonly request: PopRequest;
  readonly resolve: (messages: PoppedMessage[]) => void;
  readonly reject: (error: unknown) => void;
  timer: TimerHandle | undefined;
  onAbort: (() => void) | undefined;
}

const services = new WeakMap<BrokerContext, PopService>();

export class PopService {
  readonly counters = { delivered: 0, redelivered: 0, acked: 0, invisibleTimeChanged: 0 };
  private readonly states = new Map<string, GroupTopic>();
  private readonly handles = new Map<string, { state: GroupTopic; entry: InFlight }>();
  private readonly waiters = new Set<Waiter>();
  private readonly wokenTopics = new Set<string>();
  private wakeScheduled = false;
  private handleSequence = 0;
  /** Makes handles of another run (or another broker) unknown here rather than ambiguous. */
  private readonly instance = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(private readonly context: BrokerContext) {
    const bus = context.store.options.bus;
    this.unsubscribe = bus === undefined ? () => {} : bus.on("message.stored", (event) => this.onStored(event.topic));
  }

  /** The broker's one pop service, created on first use. */
  static of(context: BrokerContext): PopService {
    let service = services.get(context);
    if (service === undefined || service.stopped) {
      service = new PopService(context);
      services.set(context, service);
    }
    return service;
  }

  /** The broker's pop service if one runs, without starting one (group views, shutdown). */
  static existing(context: BrokerContext): PopService | undefined {
    const service = services.get(context);
    return service === undefined || service.stopped ? undefined : service;
  }

  /** Receives held right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Un-acked messages of a group (on one topic, or all). */
  inFlight(group: string, topic?: string): number {
    let count = 0;
    for (const state of this.states.values()) if (state.group === group && (topic === undefined || state.topic === topic)) count += state.inFlight;
    return count;
  }

  /** Hands out what is available now, possibly nothing. Throws for an unknown or unreadable topic. */
  tryReceive(request: PopRequest): PoppedMessage[] {
    const config = this.context.topics.forRead(request.topic);
    const filter = compileFilter(request.filter)?.hashes;
    const state = this.state(request.group, request.topic);
    const nowMs = this.context.clock.nowMs();
    this.expire(state, nowMs);
    const out: PoppedMessage[] = [];
    while (out.length < request.maxMessages && state.ready.length > 0) {
      const node = state.ready.shift()!;
      if (node.entry.settled || node.entry.handle !== node.handle) continue;
      const message = this.context.store.getByPhysicalOffset(node.entry.physicalOffset);
      if (message === undefined) {
        this.settle(state, node.entry); // gone with retention: nothing left to deliver
        continue;
      }
      this.handles.delete(node.entry.handle);
      node.entry.attempt += 1;
      this.counters.redelivered += 1;
      out.push(this.handOut(state, node.entry, message, nowMs, request.invisibleMs));
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
    if (first.length > 0 || waitMs <= 0 || this.stopped || this.waiters.size >= popWaitersMax || request.signal?.aborted === true) return Promise.resolve(first);
    return new Promise<PoppedMessage[]>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject, timer: undefined, onAbort: undefined };
      waiter.timer = this.context.clock.setTimeout(() => this.finish(waiter, []), waitMs);
      if (request.signal !== undefined) {
        waiter.onAbort = () => this.finish(waiter, []);
        request.signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
      this.scheduleExpiryWake(this.state(request.group, request.topic));
    });
  }

  /** Settles a delivered message. A handle that is unknown, stale, or of another group or topic is RECEIPT_HANDLE_INVALID. */
  ack(group: string, topic: string | undefined, receiptHandle: string): void {
    const { state, entry } = this.lookup(group, topic, receiptHandle);
    this.settle(state, entry);
    this.counters.acked += 1;
  }

  /**
   * Moves a delivered message's deadline to now + `invisibleMs` and gives it a new handle (the
   * old one stops working). A nack is this with the delay before re-delivery; 0 re-delivers now.
   */
  changeInvisibleTime(group: string, topic: string | undefined, receiptHandle: string, invisibleMs: number): { receiptHandle: string; invisibleUntilMs: number } {
    const { state, entry } = this.lookup(group, topic, receiptHandle);
    this.handles.delete(entry.handle);
    entry.handle = this.nextHandle(entry);
    entry.deadlineMs = this.context.clock.nowMs() + invisibleMs;
    this.handles.set(entry.handle, { state, entry });
    state.deadlines.push({ deadlineMs: entry.deadlineMs, entry, handle: entry.handle });
    this.counters.invisibleTimeChanged += 1;
    this.scheduleExpiryWake(state);
    return { receiptHandle: entry.handle, invisibleUntilMs: entry.deadlineMs };
  }

  /** Answers every held receive (empty) and stops listening for stores. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const waiter of [...this.waiters]) this.finish(waiter, []);
    for (const state of this.states.values()) state.timer?.cancel();
  }

  /** A handle names its topic itself; a caller that also names one must name the same. */
  private lookup(group: string, topic: string | undefined, receiptHandle: string): { state: GroupTopic; entry: InFlight } {
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
    const key = `${topic}@${group}`;
    let state = this.states.get(key);
    if (state === undefined) {
      state = { group, topic, queues: new Map(), deadlines: new DeadlineHeap(), ready: [], inFlight: 0, nextQueue: 0, timer: undefined, timerDueMs: Infinity };
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
    cursor = { next: stored >= 0 ? stored : this.context.store.minOffset(state.topic, queueId), committed: stored, pending: new Map() };
    state.queues.set(queueId, cursor);
    return cursor;
  }

  private readNew(state: GroupTopic, queueId: number, filter: ReadonlySet<number> | undefined, request: PopRequest, nowMs: number, out: PoppedMessage[]): void {
    const cursor = this.cursor(state, queueId);
    const maxCount = Math.min(request.maxMessages - out.length, popInFlightMax - state.inFlight);
    const result = this.context.store.getMessages({ topic: state.topic, queueId, offset: cursor.next, maxCount, tagHashes: filter });
    switch (result.status) {
      case "found":
        for (const read of result.messages) {
          const entry: InFlight = { queueId, queueOffset: read.queueOffset, physicalOffset: read.physicalOffset, handle: "", deadlineMs: 0, attempt: 1, settled: false };
          cursor.pending.set(read.queueOffset, entry);
          state.inFlight += 1;
          this.counters.delivered += 1;
          out.push(this.handOut(state, entry, decodeRecord(result.buffer, read.position), nowMs, request.invisibleMs));
        }
        cursor.next = result.nextOffset;
        break;
      case "no_matched_message":
        cursor.next = result.nextOffset;
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
    }
    this.commit(state, queueId, cursor);
  }

  private handOut(state: GroupTopic, entry: InFlight, message: StoredMessage, nowMs: number, invisibleMs: number): PoppedMessage {
    entry.handle = this.nextHandle(entry);
    entry.deadlineMs = nowMs + invisibleMs;
    this.handles.set(entry.handle, { state, entry });
    state.deadlines.push({ deadlineMs: entry.deadlineMs, entry, handle: entry.handle });
    return { message, receiptHandle: entry.handle, invisibleUntilMs: entry.deadlineMs, deliveryAttempt: entry.attempt };
  }

  private nextHandle(entry: InFlight): string {
    this.handleSequence += 1;
    return `${this.instance}.${entry.queueId}.${entry.queueOffset}.${this.handleSequence.toString(36)}`;
  }

  /** Moves entries whose deadline passed to the re-delivery list. */
  private expire(state: GroupTopic, nowMs: number): void {
    for (;;) {
      const top = state.deadlines.peek();
      if (top === undefined || top.deadlineMs > nowMs) return;
      state.deadlines.pop();
      if (!top.entry.settled && top.entry.handle === top.handle) state.ready.push(top);
    }
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
  }

  /** Commits the lowest un-acked offset (or `next`) when it moved. */
  private commit(state: GroupTopic, queueId: number, cursor: QueueCursor): void {
    const lowest = cursor.pending.keys().next();
    const offset = lowest.done === true ? cursor.next : lowest.value;
    if (offset === cursor.committed) return;
    this.context.offsets.commit(state.group, state.topic, queueId, offset);
    cursor.committed = offset;
  }

  private onStored(topic: string): void {
    if (this.waiters.size === 0) return;
    this.wokenTopics.add(topic);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      const topics = new Set(this.wokenTopics);
      this.wokenTopics.clear();
      this.wake((waiter) => topics.has(waiter.request.topic));
    });
  }

  /** Retries matching held receives in arrival order; the earliest waiter is served first. */
  private wake(matches: (waiter: Waiter) => boolean): void {
    for (const waiter of [...this.waiters]) {
      if (!this.waiters.has(waiter) || !matches(waiter)) continue;
      let messages: PoppedMessage[];
      try {
        messages = this.tryReceive(waiter.request);
      } catch (error) {
        this.finish(waiter, undefined, error);
        continue;
      }
      if (messages.length > 0) this.finish(waiter, messages);
    }
    for (const waiter of this.waiters) this.scheduleExpiryWake(this.state(waiter.request.group, waiter.request.topic));
  }

  /** Wakes the (group, topic)'s held receives when its earliest in-flight deadline passes. */
  private scheduleExpiryWake(state: GroupTopic): void {
    if (this.waiters.size === 0) return;
    const top = state.deadlines.peek();
    if (top === undefined || state.timerDueMs <= top.deadlineMs) return;
    state.timer?.cancel();
    state.timerDueMs = top.deadlineMs;
    state.timer = this.context.clock.setTimeout(() => {
      state.timer = undefined;
      state.timerDueMs = Infinity;
      this.wake((waiter) => waiter.request.group === state.group && waiter.request.topic === state.topic);
    }, Math.max(0, top.deadlineMs - this.context.clock.nowMs()));
  }

  private finish(waiter: Waiter, messages: PoppedMessage[] | undefined, error?: unknown): void {
    if (!this.waiters.delete(waiter)) return;
    waiter.timer?.cancel();
    if (waiter.onAbort !== undefined) waiter.request.signal?.removeEventListener("abort", waiter.onAbort);
    if (messages === undefined) waiter.reject(error);
    else waiter.resolve(messages);
  }
}
