/**
 * The metrics of one mq process, on one registry, named the Prometheus way (`mq_` prefix, unit
 * suffix, `_total` for counters). Where each figure comes from:
 *
 * - messages / bytes in per topic: the bus's "message.stored" (every send, TCP or REST), the
 *   size read from the consume-queue entry just written — no counter in the store's hot path;
 * - messages / bytes out per topic and transport: counted by the REST routes that hand messages
 *   out (receive, browse, lookups) and, for TCP pulls, through the broker's stats hooks (bytes
 *   are whole records there, bodies over REST);
 * - send latency per transport: REST sends from request to answer, TCP sends from processing to
 *   answer (the flush policy included in both);
 * - flush latency: the bus's "store.flushed" (duration of each background flush + checkpoint);
 * - consumer lag per group / topic / queue, store size, disk use, flush lag, connections,
 *   long-poll holds, pop in-flight, scheduled messages pending: read at scrape time;
 * - scheduled messages delivered and their due lag: the scheduler's fire listener;
 * - trace hops written, dropped and queued: the trace writer's own counts, read at scrape time;
 * - the process: event-loop stalls (GC pauses show up there; a monitor ticks while metrics
 *   exist), the JS heap in use, and the heap valve's forced collections, read at scrape time.
 */

import type { BrokerContext } from "../broker/broker-context.ts";
import type { PopService } from "../broker/pop-service.ts";
import { heapValveCounters } from "../common/heap-valve.ts";
import { loopStallTickBrokerMs } from "../common/limits.ts";
import { LoopStallMonitor } from "../common/loop-stall-monitor.ts";
import { scheduledMessageJobKind } from "../broker/scheduled-message-job.ts";
import { TraceWriter } from "../broker/trace-writer.ts";
import { type Metric, MetricsRegistry } from "./metrics-registry.ts";

/** Due-lag buckets: milliseconds when the broker keeps up, minutes to hours after a downtime. */
const dueLagBucketsSeconds = [0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3_600] as const;

export interface BrokerMetricsOptions {
  readonly broker?: BrokerContext;
  readonly pop?: PopService;
  readonly version: string;
  /** Open TCP connections of the broker's server. */
  readonly connections?: () => number;
  /** REST requests being served right now (Bun.serve's pendingRequests). */
  readonly httpRequests?: () => number;
  /** Watch the event loop for stalls (a timer ticking until `close`): the serving process does. */
  readonly watchEventLoop?: boolean;
}

export type Transport = "http" | "tcp";

export class BrokerMetrics {
  readonly registry = new MetricsRegistry();
  readonly messagesOut: Metric;
  readonly bytesOut: Metric;
  readonly sendLatency: Metric;
  readonly httpRequests: Metric;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(options: BrokerMetricsOptions) {
    const registry = this.registry;
    const { broker, pop } = options;
    registry.gauge("mq_build_info", "Build of this process; the value is always 1", (metric) => metric.set({ version: options.version }, 1));
    const messagesIn = registry.counter("mq_messages_in_total", "Messages stored, per topic");
    const bytesIn = registry.counter("mq_bytes_in_total", "Bytes stored (whole records), per topic");
    this.messagesOut = registry.counter("mq_messages_out_total", "Messages handed to consumers, per topic and transport");
    this.bytesOut = registry.counter("mq_bytes_out_total", "Message body bytes handed to consumers, per topic and transport");
    this.sendLatency = registry.histogram("mq_send_latency_seconds", "Time from a send request to its answer, including the flush policy");
    this.httpRequests = registry.counter("mq_http_requests_total", "REST requests answered, per method, route and status");
    const flushLatency = registry.histogram("mq_store_flush_latency_seconds", "Duration of each background CommitLog flush and checkpoint");
    if (broker !== undefined) {
      const bus = broker.store.options.bus;
      const perTopic = new Map<string, { messages: { inc(by?: number): void }; bytes: { inc(by?: number): void } }>();
      this.unsubscribe.push(
        bus?.on("message.stored", (event) => {
          let series = perTopic.get(event.topic);
          if (series === undefined) {
            series = { messages: messagesIn.child({ topic: event.topic }), bytes: bytesIn.child({ topic: event.topic }) };
            perTopic.set(event.topic, series);
          }
          series.messages.inc();
          series.bytes.inc(event.size);
        }) ?? (() => {}),
        bus?.on("store.flushed", (event) => flushLatency.observe({}, event.durationMs / 1000)) ?? (() => {}),
      );
      this.storeGauges(broker);
      this.scheduledMetrics(broker);
      this.traceMetrics(broker);
      // TCP pulls and sends report through the broker's stats hooks (REST counts its own).
      broker.stats.hooks = {
        delivered: (topic, messages, bytes) => this.delivered(topic, "tcp", messages, bytes),
        sendAnswered: (seconds) => this.sendLatency.observe({ transport: "tcp" }, seconds),
      };
      this.unsubscribe.push(() => {
        broker.stats.hooks = {};
      });
    }
    this.processMetrics(options.watchEventLoop === true);
    registry.gauge("mq_connections", "Open client connections, per transport", (metric) => {
      if (options.connections !== undefined) metric.set({ transport: "tcp" }, options.connections());
      if (options.httpRequests !== undefined) metric.set({ transport: "http" }, options.httpRequests());
    });
    registry.gauge("mq_long_poll_holds", "Requests held waiting for messages, per kind", (metric) => {
      if (broker !== undefined) metric.set({ kind: "pull" }, broker.longPoll.size);
      if (pop !== undefined) metric.set({ kind: "receive" }, pop.waiting);
    });
    if (pop !== undefined) {
      registry.gauge("mq_pop_deliveries", "Pop deliveries since start, per kind (first delivery or re-delivery after the invisible time)", (metric) => {
        metric.set({ kind: "first" }, pop.counters.delivered);
        metric.set({ kind: "redelivery" }, pop.counters.redelivered);
      });
      registry.gauge("mq_pop_acks", "Pop acknowledgements since start", (metric) => metric.set({}, pop.counters.acked));
    }
  }

  /** Counts messages handed out (`bodyBytes` of their bodies). */
  delivered(topic: string, transport: Transport, messages: number, bodyBytes: number): void {
    if (messages === 0) return;
    this.messagesOut.inc({ topic, transport }, messages);
    this.bytesOut.inc({ topic, transport }, bodyBytes);
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe.length = 0;
  }

  /** The process's pauses and heap: what a benchmark of the broker shows beside its rates. */
  private processMetrics(watchEventLoop: boolean): void {
    const registry = this.registry;
    registry.gauge("mq_heap_used_bytes", "JavaScript heap in use", (metric) => metric.set({}, process.memoryUsage().heapUsed));
    registry.counter("mq_heap_forced_collections_total", "Synchronous full collections the heap valve forced since start (the heap grew past twice its bound, or past it in a scheduler drain)").collect = (metric) => metric.set({}, heapValveCounters.collections);
    registry.counter("mq_heap_forced_collection_seconds_total", "Time those forced collections took: the event loop waits for each").collect = (metric) => metric.set({}, heapValveCounters.collectMs / 1000);
    registry.counter("mq_heap_concurrent_collections_total", "Concurrent collections the heap valve asked for since start (the heap grew past its bound; the event loop does not wait)").collect = (metric) => metric.set({}, heapValveCounters.concurrentCollections);
    if (!watchEventLoop) return;
    const stalls = new LoopStallMonitor(loopStallTickBrokerMs);
    this.unsubscribe.push(() => void stalls.stop());
    registry.counter("mq_event_loop_stalls_total", "Event-loop stalls of 10 ms or more since start (GC pauses show up here)").collect = (metric) => metric.set({}, stalls.snapshot().stalls);
    registry.counter("mq_event_loop_stalled_seconds_total", "Time the event loop was stalled, summed over those stalls").collect = (metric) => metric.set({}, stalls.snapshot().stalledMs / 1000);
    registry.gauge("mq_event_loop_stall_max_seconds", "The longest event-loop stall since start", (metric) => metric.set({}, stalls.snapshot().stallMaxMs / 1000));
  }

  /** Message trace: hops the broker's trace writer wrote, dropped (its queue full, or the append refused) and holds. */
  private traceMetrics(broker: BrokerContext): void {
    const registry = this.registry;
    const counted = (name: string, help: string, value: (writer: TraceWriter) => number): void => {
      // A counter read from the writer's own count when scraped: nothing added to the hot path.
      registry.counter(name, help).collect = (metric) => {
        const writer = TraceWriter.of(broker);
        if (writer !== undefined) metric.set({}, value(writer));
      };
    };
    counted("mq_trace_hops_written_total", "Trace hops the broker wrote to its trace topic since start", (writer) => writer.counters.written);
    counted("mq_trace_hops_dropped_total", "Trace hops the broker dropped since start (its trace queue was full, or the trace topic refused them); no send fails for them", (writer) => writer.counters.dropped);
    registry.gauge("mq_trace_hops_queued", "Trace hops waiting to be written", (metric) => {
      const writer = TraceWriter.of(broker);
      if (writer !== undefined) metric.set({}, writer.pending);
    });
  }

  /** Scheduled messages: pending now, delivered since start, and how late each fired. */
  private scheduledMetrics(broker: BrokerContext): void {
    const registry = this.registry;
    registry.gauge("mq_scheduled_messages_pending", "Scheduled messages waiting for their delivery time", (metric) => metric.set({}, broker.scheduler.openOfKind(scheduledMessageJobKind)));
    const delivered = registry.counter("mq_scheduled_messages_delivered_total", "Scheduled messages handed to delivery since start");
    const lag = registry.histogram("mq_scheduled_delivery_lag_seconds", "How late after its delivery time each scheduled message was handed to delivery (never early)", dueLagBucketsSeconds);
    this.unsubscribe.push(
      broker.scheduler.onFire((job, lateMs) => {
        if (job.kind !== scheduledMessageJobKind) return;
        delivered.inc();
        lag.observe({}, lateMs / 1000);
      }),
    );
  }

  private storeGauges(broker: BrokerContext): void {
    const registry = this.registry;
    const store = broker.store;
    registry.gauge("mq_store_size_bytes", "Bytes the CommitLog holds (written end minus oldest kept offset)", (metric) => {
      const stats = store.stats();
      metric.set({}, stats.commitLogMaxOffset - stats.commitLogMinOffset);
    });
    registry.gauge("mq_store_commitlog_files", "CommitLog files on disk", (metric) => metric.set({}, store.stats().commitLogFiles));
    registry.gauge("mq_store_flush_lag_bytes", "CommitLog bytes written but not yet flushed", (metric) => {
      const stats = store.stats();
      metric.set({}, stats.commitLogMaxOffset - stats.commitLogFlushedOffset);
    });
    registry.gauge("mq_disk_used_ratio", "Fraction of the data dir's disk in use, 0..1", (metric) => metric.set({}, store.stats().diskUsedRatio));
    registry.gauge("mq_disk_full", "1 while the disk is too full to accept sends", (metric) => metric.set({}, store.stats().diskFull ? 1 : 0));
    registry.gauge("mq_retention_files_kept_for_timers", "Retention runs since start that kept an expired CommitLog file because it holds a pending scheduled message's record", (metric) => metric.set({}, store.retention.filesKeptForTimersTotal));
    registry.gauge("mq_topics", "Topics this broker serves", (metric) => metric.set({}, broker.topics.list().length));
    registry.gauge("mq_queue_max_offset", "Next queue offset of each queue (messages ever stored there)", (metric) => {
      // The topic table says which topics exist; the store may still hold queues of a deleted one.
      for (const info of store.topics()) {
        if (broker.topics.get(info.topic) === undefined) continue;
        for (const queue of info.queues) metric.set({ topic: info.topic, queue: queue.queueId }, queue.maxOffset);
      }
    });
    registry.gauge("mq_consumer_lag_messages", "Messages stored but not consumed, per group, topic and queue", (metric) => {
      for (const { group, topic } of broker.offsets.entries()) {
        const config = broker.topics.get(topic);
        if (config === undefined) continue;
        const committed = broker.offsets.offsetsOf(group, topic);
        for (let queueId = 0; queueId < config.readQueues; queueId++) {
          const from = committed.get(queueId) ?? store.minOffset(topic, queueId);
          metric.set({ group, topic, queue: queueId }, Math.max(0, store.maxOffset(topic, queueId) - from));
        }
      }
    });
  }
}
