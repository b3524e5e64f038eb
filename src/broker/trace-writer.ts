/**
 * The broker's trace writer (issue 13): the hops the broker sees itself, for every message
 * whatever sent it (SDK, REST, a client in another language), written to the trace topic.
 *
 * Hops come from bus events only, so no send path changes: the store's "message.stored" says
 * retried (a timer record bound for a %RETRY% topic), delivered (a due timer's copy), stored for
 * a half message or a %RETRY% copy, and dead-lettered (a %DLQ% record). The plain stored hop of
 * a message in its topic and the scheduled hop of a delayed one are not written: the record
 * (the message's own, or its timer record) says all they would, so a trace query builds them
 * from there (stored-hop.ts, scheduled-hop.ts); the
 * broker's events (broker-events.ts) say popped, acked and redriven, and "transaction.ended"
 * (transaction-events.ts) a transaction's end: commit or rollback, by whom.
 *
 * Never in a send's way: a listener only builds a small object and queues it (bounded by
 * `traceQueueHopsMax`; a full queue drops the hop and counts it in `counters.dropped`, the
 * `mq_trace_hops_dropped_total` metric). A timer writes the queue `traceFlushIntervalMs` later,
 * packed many hops per trace message (trace-record.ts), with appends that answer at once — a
 * trace record never waits for a flush and never fails a send. Nothing is recorded about trace
 * messages (they carry TRACE_ON=false) or about messages whose sender turned tracing off.
 */

import type { TimerHandle } from "../common/clock.ts";
import { isMqError } from "../common/errors.ts";
import { traceFlushIntervalMs, traceHopsPerFlushMax, traceHopsPerMessageMax, traceQueueHopsMax } from "../common/limits.ts";
import { deadLetterPropertyNames, propertyNames } from "../common/message-properties.ts";
import { deadLetterTopicPrefix, retryTopicPrefix, systemTopics } from "../common/system-topics.ts";
import { type TraceHop, isTraceOff, packTraceHops, traceMessageProperties, traceparentProperty } from "../protocol/trace-record.ts";
import type { StoreEvents } from "../store/store-options.ts";
import type { BrokerContext } from "./broker-context.ts";
import type { BrokerEvents } from "./broker-events.ts";
import { isBuiltScheduledHop } from "./scheduled-hop.ts";
import { brokerTraceHost, isBuiltStoredHop } from "./stored-hop.ts";
import type { TransactionEvents } from "./transaction-events.ts";
import { Perm } from "./topic-config-manager.ts";

type Stored = StoreEvents["message.stored"];

const writers = new WeakMap<BrokerContext, TraceWriter>();

export class TraceWriter {
  readonly counters = { recorded: 0, written: 0, dropped: 0 };
  private queue: TraceHop[] = [];
  private timer: TimerHandle | undefined;
  private readonly host: string;
  private readonly topic: string;
  private readonly unsubscribe: Array<() => void> = [];
  private nextQueueId = 0;

  private constructor(
    private readonly context: BrokerContext,
    private readonly queueHopsMax: number,
  ) {
    this.host = brokerTraceHost(context);
    this.topic = context.config.traceTopic;
  }

  /** Subscribes to the bus when the broker's `traceEnabled` is on; undefined when it is off. */
  static start(context: BrokerContext, options: { queueHopsMax?: number } = {}): TraceWriter | undefined {
    if (!context.config.traceEnabled) return undefined;
    const writer = new TraceWriter(context, options.queueHopsMax ?? traceQueueHopsMax);
    const bus = context.bus;
    writer.unsubscribe.push(
      bus.on("message.stored", (event) => writer.onStored(event)),
      bus.on("message.popped", (event) => writer.onPopped(event)),
      bus.on("message.acked", (event) => writer.onAcked(event)),
      bus.on("message.redriven", (event) => writer.onRedriven(event)),
      bus.on("transaction.ended", (event) => writer.onTransactionEnded(event)),
    );
    writers.set(context, writer);
    return writer;
  }

  static of(context: BrokerContext): TraceWriter | undefined {
    return writers.get(context);
  }

  /** Hops waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Stops listening and writes what is queued (the store is still open). */
  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.timer?.cancel();
    this.timer = undefined;
    while (this.queue.length > 0) this.flush();
  }

  /** Writes up to `traceHopsPerFlushMax` queued hops now; the timer calls it. */
  flush(): void {
    this.timer = undefined;
    const hops = this.queue.length <= traceHopsPerFlushMax ? this.queue : this.queue.slice(0, traceHopsPerFlushMax);
    this.queue = hops === this.queue ? [] : this.queue.slice(traceHopsPerFlushMax);
    if (this.queue.length > 0) this.schedule();
    if (hops.length === 0) return;
    const config = this.traceTopic();
    if (config === undefined) {
      this.counters.dropped += hops.length;
      return;
    }
    const store = this.context.store;
    const nowMs = this.context.clock.nowMs();
    for (const packed of packTraceHops(hops, traceHopsPerMessageMax)) {
      this.nextQueueId = (this.nextQueueId + 1) % config.writeQueues;
      const result = store.append({ topic: this.topic, queueId: this.nextQueueId, body: packed.body, keys: packed.keys, properties: traceMessageProperties, bornTimestampMs: nowMs });
      if (result.status === "ok") this.counters.written += packed.hops;
      else this.counters.dropped += packed.hops;
    }
  }

  /** The trace topic, made on first use; undefined when it cannot be made (the topic limit): the hops are dropped. */
  private traceTopic(): { writeQueues: number } | undefined {
    const existing = this.context.topics.get(this.topic);
    if (existing !== undefined) return existing;
    try {
      const created = this.context.topics.create({ topic: this.topic, readQueues: 1, writeQueues: 1, perm: Perm.read | Perm.write, order: false });
      this.context.logger.info(`Created trace topic "${this.topic}"`);
      return created;
    } catch (error) {
      if (!isMqError(error)) throw error;
      if (this.counters.dropped === 0) this.context.logger.warn(`Trace hops are dropped: ${error.message}`);
      return undefined;
    }
  }

  private record(hop: TraceHop): void {
    if (this.queue.length >= this.queueHopsMax) {
      this.counters.dropped += 1;
      return;
    }
    this.queue.push(hop);
    this.counters.recorded += 1;
    if (this.timer === undefined) this.schedule();
  }

  private schedule(): void {
    this.timer = this.context.clock.setTimeout(() => this.flush(), traceFlushIntervalMs);
  }

  private onStored(event: Stored): void {
    const { msgId, properties, topic } = event;
    if (msgId === undefined || topic === this.topic || topic === systemTopics.trace || isTraceOff(properties)) return;
    if (isBuiltScheduledHop(event)) return; // a trace query builds it from the timer record (scheduled-hop.ts)
    if (topic !== systemTopics.wheelTimer && topic !== systemTopics.transactionHalf && !topic.startsWith(deadLetterTopicPrefix)) {
      if (isBuiltStoredHop(event)) return; // a trace query builds it from the record itself (stored-hop.ts)
      this.record(this.storedHop(event, msgId));
      return;
    }
    const base = { msgId, host: this.host, timeMs: event.storeTimestampMs, status: "ok" as const, ...optionalKeys(event.keys), ...(event.tags === undefined ? {} : { tags: event.tags }), ...traceparentOf(properties) };
    const reconsumeTimes = event.reconsumeTimes === undefined || event.reconsumeTimes === 0 ? {} : { reconsumeTimes: event.reconsumeTimes };
    if (topic === systemTopics.wheelTimer) {
      // Only a retry's timer record is left here (bound for a %RETRY% topic): a scheduled send's hop is built.
      const realTopic = properties?.[propertyNames.realTopic] ?? topic;
      const deliverAtMs = numberOf(properties?.[propertyNames.timerDeliverMs]);
      const due = deliverAtMs === undefined ? {} : { deliverAtMs };
      this.record({ ...base, hop: "retried", topic: properties?.[propertyNames.retryTopic] ?? realTopic, group: realTopic.slice(retryTopicPrefix.length), ...reconsumeTimes, ...due, ...errorTextOf(properties) });
      return;
    }
    if (topic === systemTopics.transactionHalf) {
      const realTopic = properties?.[propertyNames.realTopic] ?? topic;
      this.record({ ...base, hop: "stored", topic: realTopic, storeTimeMs: event.storeTimestampMs, offsetMsgId: this.context.messages.offsetMsgId(event.physicalOffset), detail: "half message: invisible until its transaction is committed" });
      return;
    }
    if (topic.startsWith(deadLetterTopicPrefix)) {
      this.record({ ...base, hop: "dead-lettered", topic: properties?.[deadLetterPropertyNames.originTopic] ?? topic, group: topic.slice(deadLetterTopicPrefix.length), ...reconsumeTimes, ...errorTextOf(properties) });
    }
  }

  /** The hop of a delayed message delivered to its topic, or of a copy stored in a %RETRY% topic: built field by field. */
  private storedHop(event: Stored, msgId: string): TraceHop {
    const { topic, properties } = event;
    const hop: TraceHop = {
      hop: properties?.[propertyNames.timerSourceOffset] === undefined ? "stored" : "delivered",
      msgId,
      topic,
      host: this.host,
      timeMs: event.storeTimestampMs,
      status: "ok",
      queueId: event.queueId,
      queueOffset: event.queueOffset,
      storeTimeMs: event.storeTimestampMs,
      offsetMsgId: this.context.messages.offsetMsgId(event.physicalOffset),
    };
    if (event.keys !== undefined && event.keys.length > 0) hop.keys = [...event.keys];
    if (event.tags !== undefined) hop.tags = event.tags;
    if (event.reconsumeTimes !== undefined && event.reconsumeTimes !== 0) hop.reconsumeTimes = event.reconsumeTimes;
    if (topic.startsWith(retryTopicPrefix)) hop.group = topic.slice(retryTopicPrefix.length);
    const traceparent = properties?.[traceparentProperty];
    if (traceparent !== undefined) hop.traceparent = traceparent;
    return hop;
  }

  private onPopped(event: BrokerEvents["message.popped"]): void {
    if (event.msgId === undefined || event.topic === this.topic) return;
    const retried = event.attempt > 1 ? { reconsumeTimes: event.attempt - 1 } : {};
    this.record({ hop: "popped", msgId: event.msgId, topic: event.topic, host: this.host, timeMs: this.context.clock.nowMs(), status: "ok", group: event.group, queueId: event.queueId, queueOffset: event.queueOffset, ...optionalKeys(event.keys), ...retried });
  }

  private onAcked(event: BrokerEvents["message.acked"]): void {
    if (event.msgId === undefined || event.topic === this.topic) return;
    this.record({ hop: "acked", msgId: event.msgId, topic: event.topic, host: this.host, timeMs: this.context.clock.nowMs(), status: "ok", group: event.group, queueId: event.queueId, queueOffset: event.queueOffset });
  }

  private onRedriven(event: BrokerEvents["message.redriven"]): void {
    this.record({ hop: "redriven", msgId: event.msgId, topic: event.topic, host: this.host, timeMs: this.context.clock.nowMs(), status: "ok", group: event.group, detail: `resent to "${event.topic}" as ${event.newMsgId}` });
  }

  private onTransactionEnded(event: TransactionEvents["transaction.ended"]): void {
    const checks = event.checks === 0 ? "" : ` after ${event.checks} check-back${event.checks === 1 ? "" : "s"}`;
    const committed = event.committed === undefined ? {} : { queueId: event.committed.queueId, offsetMsgId: event.committed.offsetMsgId };
    this.record({ hop: "transaction-end", msgId: event.msgId, topic: event.topic, host: this.host, timeMs: event.endedMs, status: "ok", group: event.producerGroup, ...committed, detail: `${event.resolution} by ${event.by}${checks}` });
  }
}

function optionalKeys(keys: readonly string[] | undefined): { keys?: string[] } {
  return keys === undefined || keys.length === 0 ? {} : { keys: [...keys] };
}

function traceparentOf(properties: Readonly<Record<string, string>> | undefined): { traceparent?: string } {
  const value = properties?.[traceparentProperty];
  return value === undefined ? {} : { traceparent: value };
}

function errorTextOf(properties: Readonly<Record<string, string>> | undefined): { detail?: string } {
  const value = properties?.[propertyNames.consumeErrorText];
  return value === undefined ? {} : { detail: value };
}

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
