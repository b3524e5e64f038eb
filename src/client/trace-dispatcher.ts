/**
 * The SDK's side of message trace (issue 13): a client records the hops only it sees — publish
 * (producer group, send cost, status), consume-before and consume-after (consumer group, client,
 * cost, success or failure, retry), transaction end — and writes them to the trace topic
 * (RMQ_SYS_TRACE_TOPIC, or `trace.topic`), many hops per trace message (trace-record.ts).
 *
 * On unless `trace: false`. Never in a send's way: `record` only queues a small object, bounded
 * by `trace.queueHopsMax` (default traceQueueHopsMax); a full queue drops the hop and counts it
 * (`counters.dropped`). A timer writes the queue `traceFlushIntervalMs` later with at most
 * `traceSendsInFlightMax` trace sends outstanding; a trace send that fails (no route, a broker
 * refusing) drops its hops and counts them, and never retries or reports to the application.
 * Shutdown writes what is queued and waits for it (bounded by the send timeout).
 */

import type { TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import type { MsgIdGenerator } from "../common/ids.ts";
import { traceFlushIntervalMs, traceHopsPerFlushMax, traceHopsPerMessageMax, traceQueueHopsMax, traceSendBytesMax, topicNamePattern } from "../common/limits.ts";
import { propertyNames, splitKeys } from "../common/message-properties.ts";
import { systemTopics } from "../common/system-topics.ts";
import { type BatchEntry, encodeBatchBody } from "../protocol/batch-body.ts";
import { type RecordedHop, isTraceOff, packTraceHops, traceMessageProperties, traceparentProperty } from "../protocol/trace-record.ts";
import { type ClientContext, checkPositiveInteger } from "./client-context.ts";
import { createMsgIdGenerator } from "./client-identity.ts";
import { ConsumedMessage, type PreparedMessage, type ProducerMessage, type ReceivedMessage, type SendResult } from "./message.ts";

/** `trace` of the client options: false turns it off; an object chooses the topic and the queue bound. */
export type TraceSetting = boolean | { readonly enabled?: boolean; readonly topic?: string; readonly queueHopsMax?: number };

/** Trace sends one client has outstanding at most; past it hops wait in the queue. */
export const traceSendsInFlightMax = 4;
/** The producer group trace messages are sent under. */
export const traceProducerGroup = "MQ_TRACE_PRODUCER";
const traceSendTimeoutMs = 3_000;

export class TraceDispatcher {
  readonly counters = { recorded: 0, written: 0, dropped: 0 };
  readonly topic: string;
  private queue: Array<RecordedHop | Consumption> = [];
  private timer: TimerHandle | undefined;
  private inFlight = new Set<Promise<void>>();
  private readonly msgIds: MsgIdGenerator;
  private nextQueue = 0;

  private readonly queueHopsMax: number;

  private constructor(
    private readonly context: ClientContext,
    settings: { topic: string; queueHopsMax: number },
  ) {
    this.topic = settings.topic;
    this.queueHopsMax = settings.queueHopsMax;
    this.msgIds = createMsgIdGenerator(context.identity);
  }

  /** The dispatcher a client's `trace` setting asks for; undefined when it is off. */
  static create(setting: TraceSetting | undefined, context: ClientContext): TraceDispatcher | undefined {
    if (setting === false) return undefined;
    const options = typeof setting === "object" ? setting : {};
    if (options.enabled === false) return undefined;
    const topic = options.topic ?? systemTopics.trace;
    if (!topicNamePattern.test(topic)) throw new MqError("INVALID_FIELD", { field: "trace.topic", reason: `must match ${topicNamePattern.source}, got "${topic}"` });
    return new TraceDispatcher(context, { topic, queueHopsMax: checkPositiveInteger(options.queueHopsMax, "trace.queueHopsMax", traceQueueHopsMax) });
  }

  /** This client's host as hops name it. */
  get host(): string {
    return this.context.identity.clientId;
  }

  /** Queues a hop, unless the queue is full (then it is dropped and counted) or the message turned tracing off. */
  record(hop: RecordedHop, properties?: Readonly<Record<string, string>>): void {
    if (isTraceOff(properties)) return;
    const traceparent = properties?.[traceparentProperty];
    this.enqueue(traceparent === undefined ? hop : { ...hop, traceparent });
  }

  /** Queues a hop (or a consumption), unless the queue is full: then it is dropped and counted. */
  private enqueue(entry: RecordedHop | Consumption): void {
    if (this.queue.length >= this.queueHopsMax) {
      this.counters.dropped += 1;
      return;
    }
    this.queue.push(entry);
    this.counters.recorded += 1;
    this.timer ??= this.context.clock.setTimeout(() => this.flush(), traceFlushIntervalMs);
  }

  /**
   * A send's publish hop: `result` when it was stored, else the error it failed with. It runs on
   * every send: the hop is one object literal with every field (an absent one undefined, which
   * the encoder skips), so all publish hops share one shape, and the arguments are positional
   * (no argument object per send).
   */
  published(message: PreparedMessage, msgId: string, group: string, startedMs: number, result: SendResult | undefined, error?: unknown): void {
    const properties = message.properties;
    if (properties !== undefined && isTraceOff(properties)) return;
    const keys = message.keys;
    const hop: RecordedHop = {
      hop: "publish",
      msgId,
      topic: message.topic,
      host: this.host,
      timeMs: startedMs,
      costMs: this.context.clock.nowMs() - startedMs,
      status: result === undefined ? "failed" : "ok",
      group,
      keys: keys !== undefined && keys.length > 0 ? keys : undefined, // the prepared message's own copy
      tags: message.tags,
      // No offsetMsgId: the broker that stored the message names it by its record, where a trace
      // query reads it back (trace-record.ts completePublishHops); reading the answer's id here
      // cost every send its hex (a string made lazily for the send) and 17 bytes of trace.
      queueId: result?.queueId,
      queueOffset: result?.queueOffset,
      traceparent: properties?.[traceparentProperty],
      detail: error === undefined ? undefined : error instanceof Error ? error.message : String(error),
    };
    this.enqueue(hop);
  }

  /** A transaction this producer ended (sendInTransaction): its outcome, or the error that left it to check-back. */
  transactionEnded(ended: { readonly message: ProducerMessage; readonly msgId: string; readonly group: string; readonly resolution: string; readonly startedMs: number; readonly state?: string; readonly error?: unknown }): void {
    const nowMs = this.context.clock.nowMs();
    const outcome = ended.error === undefined ? `${ended.resolution}: ${ended.state ?? ""}` : `${ended.resolution} not delivered, left to check-back: ${ended.error instanceof Error ? ended.error.message : String(ended.error)}`;
    this.record(
      { hop: "transaction-end", msgId: ended.msgId, topic: ended.message.topic, host: this.host, timeMs: ended.startedMs, costMs: nowMs - ended.startedMs, status: ended.error === undefined ? "ok" : "failed", group: ended.group, detail: outcome },
      ended.message.properties,
    );
  }

  /** When a consumption starts, by this client's clock: what `consumed` takes as `beforeMs`. */
  nowMs(): number {
    return this.context.clock.nowMs();
  }

  /**
   * A consumer's handler ran on `message` from `beforeMs` (nowMs) until now, and failed when
   * `error` is set. One record holds both hops: the consume-after hop with the start time, read
   * back as consume-before and consume-after (trace-record.ts), so a consumption costs one hop's
   * write. What is queued is the message and the two times only: the hop's fields (the msgId and
   * what else lives in the properties, read alone from the record: record-view.ts) are read when
   * the batch is written, so tracing a consumption never decodes the message's properties and
   * costs the handler's path a small object.
   */
  consumed(message: ReceivedMessage, group: string, beforeMs: number, error?: unknown): void {
    if (this.queue.length >= this.queueHopsMax) {
      this.counters.dropped += 1;
      return;
    }
    this.enqueue(new Consumption(message, group, beforeMs, this.context.clock.nowMs(), error));
  }

  /** Writes what is queued and waits for the trace sends to finish (each bounded by its timeout). */
  async shutdown(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    // Each round sends up to traceHopsPerFlushMax hops (or waits for a send slot): the queue empties within this many.
    const roundsMax = 2 * Math.ceil(this.queueHopsMax / traceHopsPerFlushMax) + 2;
    for (let rounds = 0; this.queue.length > 0 && rounds < roundsMax; rounds++) {
      this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.queue.length === 0) return;
    if (this.inFlight.size >= traceSendsInFlightMax) {
      this.timer = this.context.clock.setTimeout(() => this.flush(), traceFlushIntervalMs);
      return;
    }
    const hops = this.hopsOf(this.queue.splice(0, traceHopsPerFlushMax));
    if (this.queue.length > 0) this.timer = this.context.clock.setTimeout(() => this.flush(), traceFlushIntervalMs);
    const sending = this.send(hops).then(
      (written) => {
        this.counters.written += written;
        this.counters.dropped += hops.length - written;
      },
      () => {
        this.counters.dropped += hops.length;
      },
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  /** The hops of queued records, consumptions made hops here (a message that turned tracing off has none). */
  private hopsOf(queued: ReadonlyArray<RecordedHop | Consumption>): RecordedHop[] {
    const hops: RecordedHop[] = [];
    const host = this.host;
    for (const entry of queued) {
      if (!(entry instanceof Consumption)) hops.push(entry);
      else {
        const hop = entry.hop(host);
        if (hop !== undefined) hops.push(hop);
        else this.counters.recorded -= 1;
      }
    }
    return hops;
  }

  /**
   * Sends the hops as trace messages in SEND_BATCHes of at most traceSendBytesMax each (a larger
   * body would be written to the socket apart from the sends around it); how many were stored.
   */
  private async send(hops: readonly RecordedHop[]): Promise<number> {
    const route = await this.context.routes.topicRoute(this.topic).catch(() => this.context.routes.creationRoute(this.topic));
    const queues = route.writeQueues;
    if (queues.length === 0) return 0;
    this.nextQueue = (this.nextQueue + 1) % queues.length;
    const queue = queues[this.nextQueue]!;
    const address = this.context.routes.brokerAddress(queue.brokerName);
    const sends: Array<Promise<number>> = [];
    let entries: BatchEntry[] = [];
    let bytes = 0;
    let batchHops = 0;
    const sendEntries = (): void => {
      if (entries.length === 0) return;
      const fields = { producerGroup: traceProducerGroup, topic: this.topic, queueId: queue.queueId, messageCount: entries.length, bornTimestampMs: this.context.clock.nowMs() };
      const stored = batchHops;
      sends.push(this.context.broker.sendBatch(address, fields, encodeBatchBody(entries), entries.map((entry) => entry.msgId), { timeoutMs: traceSendTimeoutMs }).then(() => stored));
      entries = [];
      bytes = 0;
      batchHops = 0;
    };
    for (const message of packTraceHops(hops, traceHopsPerMessageMax)) {
      if (bytes + message.body.byteLength > traceSendBytesMax) sendEntries();
      entries.push({ msgId: this.msgIds.next(), keys: message.keys, properties: { ...traceMessageProperties }, body: message.body });
      bytes += message.body.byteLength;
      batchHops += message.hops;
    }
    sendEntries();
    let written = 0;
    for (const outcome of await Promise.allSettled(sends)) if (outcome.status === "fulfilled") written += outcome.value;
    return written;
  }
}

/** What a consumption's hop reads of the message's properties, in one pass (Consumption.hop). */
const consumedPropertyNames = [propertyNames.msgId, propertyNames.retryTopic, propertyNames.keys, traceparentProperty, propertyNames.traceOn] as const;
const consumedPropertyValues: Array<string | undefined> = consumedPropertyNames.map(() => undefined);
const noKeys: readonly string[] = [];

/** A consumption as queued: the message and its times; `hop` makes its consume-after hop when the batch is written. */
class Consumption {
  constructor(
    readonly message: ReceivedMessage,
    readonly group: string,
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly error: unknown,
  ) {}

  /** The hop, or undefined when the message turned tracing off (TRACE_ON=false). */
  hop(host: string): RecordedHop | undefined {
    const { message, afterMs, beforeMs } = this;
    let msgId: string | undefined;
    let topic: string | undefined;
    let keys: readonly string[];
    let traceparent: string | undefined;
    if (message instanceof ConsumedMessage) {
      const values = consumedPropertyValues; // synchronous from here to the last read: one array for every hop
      values.fill(undefined);
      message.readProperties(consumedPropertyNames, values);
      if (values[4] === "false") return undefined;
      msgId = values[0];
      topic = values[1];
      keys = values[2] === undefined ? noKeys : splitKeys(values[2]);
      traceparent = values[3];
    } else {
      if (isTraceOff(message.properties)) return undefined;
      msgId = message.msgId;
      topic = message.originTopic;
      keys = message.keys;
      traceparent = message.properties[traceparentProperty];
    }
    const { error } = this;
    const reconsumeTimes = message.reconsumeTimes;
    // One literal with every field (absent ones undefined, which the encoder skips): one shape for every consumption's hop.
    return {
      hop: "consume-after",
      msgId: msgId ?? message.msgId,
      topic: topic ?? message.topic,
      host,
      timeMs: afterMs,
      costMs: afterMs - beforeMs,
      status: error === undefined ? "ok" : "failed",
      group: this.group,
      keys: keys.length > 0 ? [...keys] : undefined,
      queueId: message.queueId,
      queueOffset: message.queueOffset,
      reconsumeTimes: reconsumeTimes === 0 ? undefined : reconsumeTimes,
      traceparent,
      detail: error === undefined ? undefined : `failed, to be retried: ${error instanceof Error ? error.message : String(error)}`,
      beforeMs,
    };
  }
}
