/**
 * The PushConsumer: subscribes topics, owns a share of their queues (clustering) or all of them
 * (broadcasting), long-polls each owned queue and pushes messages to a handler — or to a
 * `for await` loop.
 *
 * Life cycle: `start` heartbeats (the broker learns the group, its subscriptions and this member),
 * rebalances, then keeps timers: heartbeat every 10 s, rebalance every 20 s and whenever the broker
 * sends NOTIFY_CONSUMER_IDS_CHANGED, lock renewal every 20 s (clustering), offset commit every 5 s.
 * `shutdown` (or the `signal` option) stops taking new messages, lets running handlers finish,
 * commits offsets, unlocks queues and unregisters, so the group rebalances without this member.
 *
 * In cluster mode the group's member list lives on each broker, so heartbeats go to every broker
 * of the subscribed topics' routes (and to a broker new to a route before the next rebalance);
 * pulls, locks and offset commits go to the broker that holds each queue.
 *
 * A failed message (the handler throws or rejects) is never skipped:
 * - concurrent: it is sent back (send-back.ts) — the broker delivers it again from
 *   `%RETRY%<group>`, which a clustering group subscribes on its own, after the group's back-off,
 *   and moves it to `%DLQ%<group>` past the group's maxReconsumeTimes. Only then is it finished,
 *   so the offset is never committed past a message whose send-back has not succeeded.
 * - orderly (and broadcasting, whose members do not share a retry topic): it is retried here, in order, after `suspendCurrentQueueMs` (1 s), up to
 *   `maxReconsumeTimes` times; then it is sent back with a max of 0 — into the DLQ — and the queue
 *   goes on, so it is never blocked longer than maxReconsumeTimes × suspend.
 */

import { MqError, isMqError } from "../common/errors.ts";
import type { TimerHandle } from "../common/clock.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import { pullMessagesMax } from "../common/limits.ts";
import type { QueueOffset } from "../common/offsets.ts";
import { unreachable } from "../common/assert.ts";
import { longPollMsMax } from "../protocol/limits.ts";
import { type AllocationName, allocationStrategies } from "./allocation.ts";
import { type ClientContext, type ClientOptions, checkGroupName, checkPositiveInteger, createClientContext } from "./client-context.ts";
import { ConcurrentDispatcher, type Dispatcher, type HandlerSlots, OrderlyDispatcher } from "./dispatcher.ts";
import { LocalOffsetStore, offsetStoreDirDefault } from "./local-offset-store.ts";
import type { ReceivedMessage } from "./message.ts";
import { MessageIterator } from "./message-iterator.ts";
import type { MessageQueue } from "./message-queue.ts";
import type { OffsetStore } from "./offset-store.ts";
import { OwnedQueues } from "./owned-queues.ts";
import { type ReadableOptions, MessageReadable, type StreamMessage } from "./message-readable.ts";
import { pause, runPullLoop, suspendTimeoutMsDefault } from "./pull-loop.ts";
import { SendBackBatcher, sendBack, sendBackPauseMsMax } from "./send-back.ts";
import { retryTopicPrefix } from "../common/system-topics.ts";
import { reconsumeTimesMax } from "../protocol/limits.ts";
import { suspendCurrentQueueMsMax } from "../common/limits.ts";
import { type MessageModel, Rebalancer } from "./rebalancer.ts";
import { RemoteOffsetStore } from "./remote-offset-store.ts";
import { type MessageFilter, everyMessage } from "../protocol/filter/filter-expression.ts";
import { type SubscriptionExpression, compileSubscription, retryTopicFilter, wireFilter } from "./subscription.ts";
import { TraceDispatcher } from "./trace-dispatcher.ts";

export type ConsumeFromWhere = "last" | "first" | "timestamp";
export type MessageHandler = (message: ReceivedMessage) => Promise<void> | void;

export interface PushConsumerOptions extends ClientOptions {
  readonly group: string;
  readonly messageModel?: MessageModel;
  /** Where a queue starts when the group has no committed offset for it; default "last". */
  readonly consumeFromWhere?: ConsumeFromWhere;
  /** For "timestamp": the store time to start from; default 30 minutes ago. */
  readonly consumeTimestampMs?: number;
  readonly allocation?: AllocationName;
  /** Each queue one message at a time, in order, under a broker queue lock. */
  readonly orderly?: boolean;
  /** Handlers running at once; default 20. */
  readonly concurrency?: number;
  /** Messages one pull asks for; default 32. */
  readonly pullBatchSize?: number;
  /** Unfinished messages per queue before its pulls pause; default 1000. */
  readonly queueCapacity?: number;
  /** Broadcasting: where offsets are kept (default ~/.mq/offsets). */
  readonly offsetStoreDir?: string;
  /**
   * Orderly: local retries of a failing message before it goes to the DLQ; default 16.
   * Concurrent: when set, overrides the group's maxReconsumeTimes for this consumer's send-backs.
   */
  readonly maxReconsumeTimes?: number;
  /** Orderly: the pause before a failed message is retried; default 1000. */
  readonly suspendCurrentQueueMs?: number;
  /** Called on each failure to send a failed message back (the message is kept and retried). */
  readonly onError?: (error: Error, message: ReceivedMessage) => void;
  /** Long-poll hold asked of the broker; default 15000. */
  readonly suspendTimeoutMs?: number;
  /** Aborting it shuts the consumer down gracefully. */
  readonly signal?: AbortSignal;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceIntervalMs?: number;
  readonly commitIntervalMs?: number;
}

export const consumeConcurrencyDefault = 20;
export const pullBatchSizeDefault = 32;
export const queueCapacityDefault = 1000;
export const orderlyMaxReconsumeTimesDefault = 16;
export const suspendCurrentQueueMsDefault = 1_000;
export const heartbeatIntervalMsDefault = 10_000;
export const rebalanceIntervalMsDefault = 20_000;
export const lockRenewIntervalMs = 20_000;
export const commitIntervalMsDefault = 5_000;
/** How soon queues assigned to us but locked by their previous owner are tried again. */
export const lockRetryIntervalMs = 500;
const timestampLookbackMs = 30 * 60 * 1000;

type State = "new" | "starting" | "running" | "stopping" | "stopped";

/** Failure counters, for tests and monitoring. */
export interface ConsumeFailureMetrics {
  /** Messages whose handler failed. */
  failed: number;
  /** Send-backs the broker stored in %RETRY%. */
  sentToRetry: number;
  /** Send-backs the broker stored in %DLQ%. */
  sentToDeadLetter: number;
  /** Send-back attempts that failed (each reported to `onError`). */
  sendBackErrors: number;
}

export class PushConsumer implements AsyncIterable<ReceivedMessage> {
  readonly group: string;
  readonly messageModel: MessageModel;
  private readonly options: PushConsumerOptions;
  private readonly context: ClientContext;
  private readonly subscriptions = new Map<string, MessageFilter>();
  private readonly stopController = new AbortController();
  private readonly timers: TimerHandle[] = [];
  private state: State = "new";
  private owned: OwnedQueues | undefined;
  private rebalancer: Rebalancer | undefined;
  private iterator: MessageIterator | undefined;
  private readableSource: MessageReadable | undefined;
  private retryTopicRequested = false;
  /** Set by `readable()`: messages pulled and unfinished per queue, and per pull, at most (unless given as options). */
  private pullAheadMax: number | undefined;
  readonly metrics: ConsumeFailureMetrics = { failed: 0, sentToRetry: 0, sentToDeadLetter: 0, sendBackErrors: 0 };
  private stopping: Promise<void> | undefined;
  /** Message trace: consume-before and consume-after hops (trace-dispatcher.ts); undefined when off. */
  private readonly trace: TraceDispatcher | undefined;
  /** Broker addresses that have had a heartbeat since their connection opened. */
  private readonly heartbeated = new Set<string>();
  /** Sends the failures of one turn together (send-back.ts). */
  private readonly sendBacks: SendBackBatcher;

  constructor(options: PushConsumerOptions) {
    checkGroupName(options.group, "group");
    this.options = options;
    this.group = options.group;
    this.messageModel = options.messageModel ?? "clustering";
    checkPositiveInteger(options.concurrency, "concurrency", 1, 65_536);
    checkPositiveInteger(options.pullBatchSize, "pullBatchSize", 1, pullMessagesMax);
    if (options.suspendTimeoutMs !== undefined && !(Number.isInteger(options.suspendTimeoutMs) && options.suspendTimeoutMs >= 0 && options.suspendTimeoutMs <= longPollMsMax)) {
      throw new MqError("INVALID_FIELD", { field: "suspendTimeoutMs", reason: `must be an integer in 0..${longPollMsMax}, got ${options.suspendTimeoutMs}` });
    }
    if (options.allocation !== undefined && !(options.allocation in allocationStrategies)) {
      throw new MqError("INVALID_FIELD", { field: "allocation", reason: `must be one of ${Object.keys(allocationStrategies).join(", ")}, got "${options.allocation}"` });
    }
    checkIntegerIn(options.maxReconsumeTimes, "maxReconsumeTimes", reconsumeTimesMax);
    checkIntegerIn(options.suspendCurrentQueueMs, "suspendCurrentQueueMs", suspendCurrentQueueMsMax);
    this.context = createClientContext(options, `consumer.${options.group}`);
    this.trace = TraceDispatcher.create(options.trace, this.context);
    this.sendBacks = new SendBackBatcher(this.context.broker);
    options.signal?.addEventListener("abort", () => void this.shutdown(), { once: true });
  }

  get clientId(): string {
    return this.context.identity.clientId;
  }

  /** The queues of the subscribed topics this member works now (for tests and tooling); the group's retry topic's are `ownedRetryQueues`. */
  get ownedQueues(): MessageQueue[] {
    return this.allOwnedQueues().filter((queue) => queue.topic !== this.retryTopic);
  }

  get ownedRetryQueues(): MessageQueue[] {
    return this.allOwnedQueues().filter((queue) => queue.topic === this.retryTopic);
  }

  /**
   * Subscribes a topic with a tag expression (`"*"`, `"a || b"`, `{ tags }`) or a SQL92 one over
   * properties (`{ sql: "region = 'eu' AND price > 30" }`), filtered on the broker; before or
   * after start. A bad expression throws here (FILTER_EXPRESSION_INVALID names line and column).
   */
  subscribe(topic: string, expression: SubscriptionExpression = "*"): this {
    checkGroupName(topic, "topic");
    this.subscriptions.set(topic, compileSubscription(expression));
    if (this.state === "running") void this.heartbeat().then(() => this.rebalancer?.request());
    return this;
  }

  async start(handler: MessageHandler): Promise<void> {
    if (this.state !== "new") throw new MqError("BAD_REQUEST", { reason: `consumer cannot start: it is ${this.state}` });
    if (this.subscriptions.size === 0) throw new MqError("BAD_REQUEST", { reason: "consumer cannot start: it subscribes no topic" });
    if (this.options.signal?.aborted) throw new MqError("ABORTED", { reason: "the consumer's signal is already aborted" });
    this.state = "starting";
    try {
      await this.startWith(handler);
    } catch (error) {
      this.state = "running"; // let shutdown undo whatever started
      await this.shutdown();
      throw error;
    }
    this.state = "running";
    if (this.options.signal?.aborted) void this.shutdown();
  }

  /** `for await (const message of consumer)`: starts the consumer; leaving the loop shuts it down. */
  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    if (this.iterator !== undefined || this.readableSource !== undefined) throw new MqError("BAD_REQUEST", { reason: "consumer can be iterated only once" });
    let handler: MessageHandler = () => undefined;
    const started = Promise.resolve().then(() => this.start(handler));
    this.iterator = new MessageIterator(started, () => this.shutdown());
    handler = this.iterator.handler;
    return this.iterator;
  }

  /**
   * The consumer as a ReadableStream (message-readable.ts): starts the consumer; `cancel()` shuts
   * it down. At most `highWaterMark` messages are handed over and not yet acknowledged, and —
   * unless `queueCapacity` / `pullBatchSize` were given — the consumer pulls at most
   * `highWaterMark` ahead per owned queue, so what it holds in memory follows the stream's bound.
   */
  readable(options: ReadableOptions = {}): ReadableStream<StreamMessage> {
    if (this.iterator !== undefined || this.readableSource !== undefined) throw new MqError("BAD_REQUEST", { reason: "consumer can be read only once" });
    this.readableSource = new MessageReadable(options, (handler) => this.start(handler), () => this.shutdown());
    this.pullAheadMax = this.readableSource.highWaterMark;
    return this.readableSource.stream;
  }

  /** Graceful: running handlers finish, offsets are committed, queues unlocked, member unregistered. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async startWith(handler: MessageHandler): Promise<void> {
    const { context } = this;
    const options = this.options;
    const clustering = this.messageModel === "clustering";
    // Sent-back messages come back through the group's retry topic (clustering: one copy per group),
    // filtered by the subscription of the topic each came from (subscription.ts).
    if (clustering) this.subscriptions.set(this.retryTopic, everyMessage);
    const offsets: OffsetStore = clustering
      ? new RemoteOffsetStore(context.broker, context.routes, this.group)
      : new LocalOffsetStore({ dir: options.offsetStoreDir ?? offsetStoreDirDefault, group: this.group, instance: options.clientId ?? "default" });
    const concurrency = options.concurrency ?? consumeConcurrencyDefault;
    const run = (message: ReceivedMessage, slots?: HandlerSlots) => this.runHandler(handler, message, slots);
    const dispatcher: Dispatcher = options.orderly ? new OrderlyDispatcher(concurrency, run) : new ConcurrentDispatcher(concurrency, run);
    const pullContext = {
      broker: context.broker,
      routes: context.routes,
      group: this.group,
      clock: context.clock,
      logger: context.logger,
      pullBatchSize: options.pullBatchSize ?? Math.min(pullBatchSizeDefault, this.pullAheadMax ?? pullBatchSizeDefault),
      suspendTimeoutMs: options.suspendTimeoutMs ?? suspendTimeoutMsDefault,
      dispatcher,
      filterFor: (topic: string) => this.filterFor(topic),
    };
    this.owned = new OwnedQueues({
      broker: context.broker,
      routes: context.routes,
      clock: context.clock,
      logger: context.logger,
      group: this.group,
      clientId: this.clientId,
      offsets,
      lockQueues: clustering,
      capacity: options.queueCapacity ?? this.pullAheadMax ?? queueCapacityDefault,
      startOffset: (queue) => this.startOffset(queue),
      startPulling: (pq) => void runPullLoop(pq, pullContext).catch((error: Error) => context.logger.error(`Pull loop of ${pq.key} ended: ${error.stack ?? error.message}`)),
    });
    this.rebalancer = new Rebalancer({
      broker: context.broker,
      routes: context.routes,
      logger: context.logger,
      group: this.group,
      clientId: this.clientId,
      messageModel: this.messageModel,
      strategy: allocationStrategies[options.allocation ?? "average"],
      owned: this.owned,
      topics: () => [...this.subscriptions.keys()],
      ensureHeartbeat: (addresses) => {
        const missing = addresses.filter((address) => !this.heartbeated.has(address));
        return missing.length === 0 ? Promise.resolve() : this.heartbeatTo(missing);
      },
    });
    context.pool.handle(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, (request) => {
      if (request.fields.consumerGroup === this.group) void this.rebalancer?.request();
    });
    context.pool.handle(RequestCode.RESET_CONSUMER_CLIENT_OFFSET, (request) => {
      const { consumerGroup, topic, queues } = request.fields;
      if (consumerGroup === this.group) void this.owned?.resetOffsets(topic, new Map(queues.map((queue) => [queue.queueId, queue.queueOffset])));
    });
    // After a reconnect (a broker restart) the broker knows us again only once we heartbeat.
    context.pool.onOpen((address) => {
      if (context.namesrv?.addresses.includes(address)) return;
      this.heartbeated.delete(address);
      void this.heartbeatTo([address]).catch(() => undefined);
    });
    await this.heartbeat();
    await this.rebalancer.request();
    this.every(options.heartbeatIntervalMs ?? heartbeatIntervalMsDefault, () => this.heartbeat());
    this.every(options.rebalanceIntervalMs ?? rebalanceIntervalMsDefault, () => this.rebalancer!.request());
    this.every(options.commitIntervalMs ?? commitIntervalMsDefault, () => this.owned!.commitAll());
    if (clustering) {
      this.every(lockRenewIntervalMs, () => this.owned!.renewLocks());
      this.every(lockRetryIntervalMs, () => (this.owned!.pendingCount > 0 ? this.owned!.retryPending() : Promise.resolve()));
    }
  }

  private async stop(): Promise<void> {
    const wasStarted = this.state === "running" || this.state === "starting";
    this.state = "stopping";
    this.stopController.abort(new Error("consumer shutting down"));
    for (const timer of this.timers.splice(0)) timer.cancel();
    this.iterator?.close();
    this.readableSource?.close();
    if (wasStarted) {
      await this.rebalancer?.stop();
      await this.owned?.releaseAll();
      await Promise.allSettled(
        this.context.routes.brokerAddresses().map((address) => this.context.broker.unregisterClient(address, { clientId: this.clientId, consumerGroup: this.group })),
      );
    }
    await this.trace?.shutdown();
    await this.context.pool.close();
    this.state = "stopped";
  }

  /**
   * Runs the handler and its failure path; false when abandoned because the consumer stops (the
   * message stays unfinished). A first attempt that succeeds costs no async frame: a handler that
   * returns at once is answered with a plain true (the dispatcher settles it in the same turn),
   * one that returns a promise in one reaction.
   */
  private runHandler(handler: MessageHandler, message: ReceivedMessage, slots?: HandlerSlots): boolean | Promise<boolean> {
    if (this.isStopping()) return false;
    const trace = this.trace;
    const beforeMs = trace === undefined ? 0 : trace.nowMs();
    let returned: Promise<void> | void;
    try {
      returned = handler(message);
    } catch (error) {
      return this.runHandlerAgain(handler, message, error, beforeMs, slots);
    }
    if (returned === undefined || typeof (returned as { then?: unknown }).then !== "function") {
      trace?.consumed(message, this.group, beforeMs);
      return true;
    }
    return Promise.resolve(returned).then(
      () => {
        trace?.consumed(message, this.group, beforeMs);
        return true;
      },
      (error: unknown) => this.runHandlerAgain(handler, message, error, beforeMs, slots),
    );
  }

  /** The first attempt (started at `beforeMs`) failed with `error`: its failure path, then the attempts that follow. */
  private async runHandlerAgain(handler: MessageHandler, message: ReceivedMessage, error: unknown, beforeMs: number, slots?: HandlerSlots): Promise<boolean> {
    // Broadcasting members do not share the group's retry topic: they retry locally, as orderly ones do.
    const local = (this.options.orderly ?? false) || this.messageModel === "broadcasting";
    // A message abandoned at shutdown (an iterator or stream closing) is not a failure.
    if (this.isStopping() && isMqError(error, "ABORTED")) return false;
    this.trace?.consumed(message, this.group, beforeMs, error);
    this.metrics.failed++;
    const outcome = local ? await this.localFailure(message, error, 0) : await this.sendBackOffSlot(message, error, slots);
    if (outcome !== "again") return outcome;
    for (let attempt = 1; ; attempt++) {
      if (this.isStopping()) return false;
      const trace = this.trace;
      const beforeMs = trace === undefined ? 0 : trace.nowMs();
      try {
        await handler(message);
        trace?.consumed(message, this.group, beforeMs);
        return true;
      } catch (error) {
        // A message abandoned at shutdown (an iterator or stream closing) is not a failure.
        if (this.isStopping() && isMqError(error, "ABORTED")) return false;
        trace?.consumed(message, this.group, beforeMs, error);
        this.metrics.failed++;
        const outcome = local ? await this.localFailure(message, error, attempt) : await this.sendBackOffSlot(message, error, slots);
        if (outcome !== "again") return outcome;
      }
    }
  }

  /**
   * A concurrent consumer's send-back, without the handler's slot: given back while the broker
   * answers (one slow answer does not hold a handler's place), taken back to settle or, when the
   * handler must run again, once one is free.
   */
  private async sendBackOffSlot(message: ReceivedMessage, error: unknown, slots: HandlerSlots | undefined): Promise<boolean | "again"> {
    slots?.release();
    const outcome = await this.sendBack(message, error, this.options.maxReconsumeTimes);
    if (outcome === "again") await slots?.acquire();
    else slots?.reclaim();
    return outcome;
  }

  /** Orderly (and broadcasting): retry locally after the suspend pause; past the max, to the DLQ. */
  private async localFailure(message: ReceivedMessage, error: unknown, attempt: number): Promise<boolean | "again"> {
    if (attempt < (this.options.maxReconsumeTimes ?? orderlyMaxReconsumeTimesDefault)) {
      await pause(this.context.clock, this.options.suspendCurrentQueueMs ?? suspendCurrentQueueMsDefault, this.stopController.signal);
      return "again";
    }
    return this.sendBack(message, error, 0);
  }

  /** true once the broker stored the message in %RETRY% or %DLQ%; "again" to run the handler again when the send-back keeps failing. */
  private async sendBack(message: ReceivedMessage, error: unknown, maxReconsumeTimes: number | undefined): Promise<boolean | "again"> {
    const context = {
      ...this.context,
      batcher: this.sendBacks,
      group: this.group,
      clientId: this.clientId,
      signal: this.stopController.signal,
      onError: (sendError: Error, failed: ReceivedMessage) => {
        this.metrics.sendBackErrors++;
        this.options.onError?.(sendError, failed);
      },
    };
    const outcome = await sendBack(context, message, error, maxReconsumeTimes);
    switch (outcome) {
      case "retry":
        this.metrics.sentToRetry++;
        // The retry topic may be new: find it now rather than at the next periodic rebalance (once).
        if (!this.retryTopicRequested) {
          this.retryTopicRequested = true;
          void this.rebalancer?.request();
        }
        return true;
      case "dead-letter":
        this.metrics.sentToDeadLetter++;
        return true;
      case "failed":
        if (this.isStopping()) return false;
        this.context.logger.error(`Message ${message.msgId} (${message.topic} queue ${message.queueId} offset ${message.queueOffset}) could not be sent back: running its handler again`);
        await pause(this.context.clock, sendBackPauseMsMax, this.stopController.signal);
        return "again";
      default:
        return unreachable(outcome);
    }
  }

  private allOwnedQueues(): MessageQueue[] {
    return (this.owned?.activeQueues ?? []).map((pq) => pq.queue);
  }

  /** What the broker filters `topic` by, and what arriving messages are checked against. */
  private filterFor(topic: string): { broker: MessageFilter; client: MessageFilter } {
    if (topic === this.retryTopic) return retryTopicFilter(this.subscriptions, this.retryTopic);
    const filter = this.subscriptions.get(topic) ?? everyMessage;
    return { broker: filter, client: filter };
  }

  private get retryTopic(): string {
    return `${retryTopicPrefix}${this.group}`;
  }

  private isStopping(): boolean {
    return this.state === "stopping" || this.state === "stopped";
  }

  /** consumeFromWhere, for a queue the group has no committed offset for. */
  private async startOffset(queue: MessageQueue): Promise<QueueOffset> {
    const { broker, routes, clock } = this.context;
    const address = routes.brokerAddress(queue.brokerName);
    const from = this.options.consumeFromWhere ?? "last";
    switch (from) {
      case "first":
        return broker.minOffset(address, queue.topic, queue.queueId);
      case "last":
        return broker.maxOffset(address, queue.topic, queue.queueId);
      case "timestamp":
        return broker.searchOffset(address, { topic: queue.topic, queueId: queue.queueId, timestampMs: this.options.consumeTimestampMs ?? clock.nowMs() - timestampLookbackMs });
      default:
        return unreachable(from);
    }
  }

  /** Heartbeats to every broker of the subscribed topics (their routes are looked up first). */
  private async heartbeat(): Promise<void> {
    const resolved = await Promise.allSettled([...this.subscriptions.keys()].map((topic) => this.context.routes.topicRoute(topic)));
    const addresses = this.context.routes.brokerAddresses();
    if (addresses.length > 0) return this.heartbeatTo(addresses);
    // No broker known: NameServers unreachable is an error; a topic without a route yet is not
    // (it may be created later, and the next heartbeat and rebalance find it).
    for (const result of resolved) {
      if (result.status === "rejected" && !isMqError(result.reason, "NO_ROUTE")) throw result.reason;
      if (result.status === "rejected") this.context.logger.warn((result.reason as Error).message);
    }
  }

  private async heartbeatTo(addresses: readonly string[]): Promise<void> {
    const subscriptions = [...this.subscriptions].map(([topic]) => {
      const filter = this.filterFor(topic).broker;
      return { topic, ...(wireFilter(filter) ?? { expressionType: "TAG" as const, expression: "*" }) };
    });
    const consumer = {
      consumerGroup: this.group,
      consumeType: "push" as const,
      messageModel: this.messageModel,
      consumeFromWhere: this.options.consumeFromWhere ?? "last",
      consumeTimestampMs: this.options.consumeTimestampMs,
      subscriptions,
    };
    const results = await Promise.allSettled(addresses.map((address) => this.context.broker.heartbeat(address, { clientId: this.clientId, consumers: [consumer] })));
    results.forEach((result, index) => {
      if (result.status === "fulfilled") this.heartbeated.add(addresses[index]!);
    });
    const failed = results.filter((result) => result.status === "rejected");
    if (failed.length === results.length && failed.length > 0) throw failed[0]!.reason;
  }

  /** A periodic task that never overlaps itself and only logs its failures. */
  private every(intervalMs: number, task: () => Promise<void>): void {
    let busy = false;
    this.timers.push(
      this.context.clock.setInterval(() => {
        if (busy || this.state !== "running") return;
        busy = true;
        task()
          .catch((error: Error) => this.context.logger.warn(`Periodic task failed: ${error.message}`))
          .finally(() => {
            busy = false;
          });
      }, intervalMs),
    );
  }
}

/** An optional option that must be an integer in 0..max. */
function checkIntegerIn(value: number | undefined, field: string, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= max)) {
    throw new MqError("INVALID_FIELD", { field, reason: `must be an integer in 0..${max}, got ${value}` });
  }
}
