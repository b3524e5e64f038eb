/**
 * The Producer: sends messages one at a time, in batches, or oneway.
 *
 * - Queue choice: a selector, else a sharding key's hash, else round-robin (queue-selector.ts).
 * - Retries: a retriable failure (retry-policy.ts) is tried again up to `retries` more times, on
 *   another queue for round-robin sends and on the same queue for selector/sharding-key sends
 *   (moving them would break their order). The msgId stays the same across attempts.
 * - Batching: sends to one queue started in one event-loop turn (or within `lingerMs`) travel as
 *   one SEND_BATCH request and are answered one by one (send-accumulator.ts); a message with a
 *   delivery time or an AbortSignal travels alone. `sendBatch` sends a caller's batch as given.
 * - Bounded in flight: at most `maxInFlight` sends await their answer; a further `send` waits
 *   for a permit before anything is encoded, so awaiting `send` is the throttle and memory stays
 *   bounded by maxInFlight messages. Oneway sends take a permit only while they are written and
 *   wait while the connection's unsent output is above `onewayOutputBytesMax`.
 */

import { type MessageWritable, type WritableOptions, createMessageWritable } from "./message-writable.ts";
import { MqError, isMqError } from "../common/errors.ts";
import type { MsgIdGenerator } from "../common/ids.ts";
import { MiB } from "../common/limits.ts";
import { type BatchEntry, encodeBatchBody } from "../protocol/batch-body.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import type { Fields } from "./broker-client.ts";
import { type ClientContext, type ClientOptions, checkGroupName, checkPositiveInteger, createClientContext } from "./client-context.ts";
import { createMsgIdGenerator } from "./client-identity.ts";
import { type BatchMessage, type PreparedMessage, type ProducerMessage, type SendResult, prepareMessage } from "./message.ts";
import type { MessageQueue } from "./message-queue.ts";
import { type QueueSelector, RoundRobinSelector, selectByShardingKey, selectWith } from "./queue-selector.ts";
import { LatencyFaultTolerance } from "./latency-fault-tolerance.ts";
import type { TopicRoute } from "./route-resolver.ts";
import { isRetriable } from "./retry-policy.ts";
import { type AccumulatedSend, SendAccumulator } from "./send-accumulator.ts";
import { Semaphore } from "./semaphore.ts";
import { TraceDispatcher } from "./trace-dispatcher.ts";

export interface ProducerOptions extends ClientOptions {
  /** Producer group (transactions check back to it); default "DEFAULT_PRODUCER". */
  readonly group?: string;
  /** Timeout of each send attempt; default 3000. */
  readonly sendTimeoutMs?: number;
  /** Extra attempts after a retriable failure; default 2. */
  readonly retries?: number;
  /** Sends awaiting an answer at once; default 1024. */
  readonly maxInFlight?: number;
  /** Leave slow or failing brokers out of round-robin for a while (latency-fault-tolerance.ts); default true. */
  readonly latencyFaultTolerance?: boolean;
  /**
   * How long a send waits for others to the same queue to travel with it in one request
   * (send-accumulator.ts); default 0: the sends started in the same event-loop turn.
   */
  readonly lingerMs?: number;
}

export interface SendOptions {
  readonly selector?: QueueSelector;
  readonly signal?: AbortSignal;
}

export interface BatchOptions extends SendOptions {
  /** Sends the batch to the queue of this sharding key (the messages' own keys are kept as properties). */
  readonly shardingKey?: string;
}

export const producerGroupDefault = "DEFAULT_PRODUCER";
export const sendTimeoutMsDefault = 3_000;
export const sendRetriesDefault = 2;
export const sendRetriesMax = 16;
export const producerInFlightMaxDefault = 1024;
export const lingerMsMax = 1_000;
export const producerHeartbeatIntervalMs = 30_000;
/** Oneway sends wait while a connection holds more unsent output than this. */
export const onewayOutputBytesMax = 8 * MiB;

type State = "new" | "running" | "stopped";

export class Producer {
  readonly group: string;
  protected readonly context: ClientContext;
  private readonly sendTimeoutMs: number;
  private readonly retries: number;
  private readonly inFlight: Semaphore;
  private readonly roundRobin = new RoundRobinSelector();
  private readonly msgIds: MsgIdGenerator;
  private readonly faults: LatencyFaultTolerance | undefined;
  private readonly accumulator: SendAccumulator;
  /** Half messages of transactions batch apart from plain sends: a SEND_BATCH is all halves or none. */
  private readonly halfAccumulator: SendAccumulator;
  private state: State = "new";
  private heartbeatTimer: { cancel(): void } | undefined;
  /** Message trace: publish hops (trace-dispatcher.ts); undefined when off. */
  protected readonly trace: TraceDispatcher | undefined;

  constructor(options: ProducerOptions = {}) {
    this.group = options.group ?? producerGroupDefault;
    checkGroupName(this.group, "group");
    this.sendTimeoutMs = checkPositiveInteger(options.sendTimeoutMs, "sendTimeoutMs", sendTimeoutMsDefault);
    this.retries = options.retries ?? sendRetriesDefault;
    if (!Number.isInteger(this.retries) || this.retries < 0 || this.retries > sendRetriesMax) {
      throw new MqError("INVALID_FIELD", { field: "retries", reason: `must be an integer in 0..${sendRetriesMax}, got ${options.retries}` });
    }
    this.inFlight = new Semaphore(checkPositiveInteger(options.maxInFlight, "maxInFlight", producerInFlightMaxDefault, 65_536));
    this.context = createClientContext(options, "producer");
    this.msgIds = createMsgIdGenerator(this.context.identity);
    this.faults = options.latencyFaultTolerance === false ? undefined : new LatencyFaultTolerance({ clock: this.context.clock });
    const lingerMs = options.lingerMs ?? 0;
    if (!Number.isInteger(lingerMs) || lingerMs < 0 || lingerMs > lingerMsMax) {
      throw new MqError("INVALID_FIELD", { field: "lingerMs", reason: `must be an integer in 0..${lingerMsMax}, got ${options.lingerMs}` });
    }
    this.accumulator = new SendAccumulator({ sendOne: (address, queue, send) => this.sendOne(address, queue, send), sendMany: (address, queue, sends) => this.sendMany(address, queue, sends) }, lingerMs);
    this.halfAccumulator = new SendAccumulator({ sendOne: (address, queue, send) => this.sendOne(address, queue, send, true), sendMany: (address, queue, sends) => this.sendMany(address, queue, sends, true) }, lingerMs);
    this.trace = TraceDispatcher.create(options.trace, this.context);
  }

  /** Trace counters (recorded, written, dropped hops); undefined when tracing is off. */
  get traceCounters(): Readonly<TraceDispatcher["counters"]> | undefined {
    return this.trace?.counters;
  }

  get clientId(): string {
    return this.context.identity.clientId;
  }

  /** Connects to the broker(s) and registers the producer group; rejects if none answers. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new MqError("BAD_REQUEST", { reason: `producer cannot start: it is ${this.state}` });
    this.state = "running";
    try {
      await this.heartbeat(true);
    } catch (error) {
      this.state = "new";
      throw error;
    }
    this.heartbeatTimer = this.context.clock.setInterval(() => void this.heartbeat(false), producerHeartbeatIntervalMs);
  }

  send(message: ProducerMessage, options: SendOptions = {}): Promise<SendResult> {
    let prepared: PreparedMessage;
    try {
      this.checkRunning();
      prepared = prepareMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const msgId = this.msgIds.next();
    // A cancellable send travels alone: a batch shares one request's fate. A scheduled one is
    // batched with the scheduled sends of its queue (each entry carries its own delivery time),
    // never with plain ones: the broker stores a batch in one topic, so a plain message batched
    // with timers would become a timer due now (message-service.ts), one hop later.
    const alone = options.signal !== undefined;
    if (!alone && options.selector === undefined && message.shardingKey === undefined) {
      const fast = this.sendFast(message, prepared, msgId);
      if (fast !== undefined) return fast;
    }
    return this.sendWithRetries(message, prepared, msgId, alone, options);
  }

  /**
   * The common send without a hop through the retry loop's awaits: a round-robin send whose
   * topic route is cached and for which a permit is free picks its queue and joins its batch in
   * the caller's turn, and settles in one reaction. Only a failure enters the retry loop, at its
   * second attempt, as if the first had failed there. Undefined when the send cannot take it.
   * Half messages take it too, through their own accumulator; `at.address` is then set to the
   * broker of each attempt, so the answer's is the one that stored the half.
   */
  private sendFast(message: ProducerMessage, prepared: PreparedMessage, msgId: string, accumulator = this.accumulator, at?: { address: string }): Promise<SendResult> | undefined {
    const route = this.context.routes.cachedRoute?.(prepared.topic);
    if (route === undefined || route.writeQueues.length === 0 || !this.inFlight.tryAcquire()) return undefined;
    const queue = this.roundRobin.next(route.writeQueues, undefined, this.faults === undefined ? undefined : (brokerName) => this.faults!.isAvailable(brokerName));
    const clock = this.context.clock;
    const startedMs = this.trace === undefined ? 0 : clock.nowMs();
    const sentMs = this.faults === undefined ? 0 : clock.monotonicMs();
    const address = this.context.routes.brokerAddress(queue.brokerName);
    if (at !== undefined) at.address = address;
    return accumulator.add(address, queue, prepared, msgId).then(
      (result) => {
        this.faults?.record(queue.brokerName, clock.monotonicMs() - sentMs);
        this.inFlight.release();
        this.trace?.published(prepared, msgId, this.group, startedMs, result);
        return result;
      },
      (error: unknown) => {
        const retried = this.afterFailedAttempt(prepared.topic, error, { queue, startedMs: sentMs }, 0)
          ? this.withRetries(
              prepared.topic,
              message,
              {},
              (next, nextQueue) => {
                if (at !== undefined) at.address = next;
                return accumulator.add(next, nextQueue, prepared, msgId);
              },
              { from: 1, failedQueue: queue, lastError: error },
            )
          : Promise.reject(error);
        return retried.then(
          (result) => {
            this.inFlight.release();
            this.trace?.published(prepared, msgId, this.group, startedMs, result);
            return result;
          },
          (finalError: unknown) => {
            this.inFlight.release();
            this.trace?.published(prepared, msgId, this.group, startedMs, undefined, finalError);
            throw finalError;
          },
        );
      },
    );
  }

  private async sendWithRetries(message: ProducerMessage, prepared: PreparedMessage, msgId: string, alone: boolean, options: SendOptions): Promise<SendResult> {
    await this.inFlight.acquire(options.signal);
    const startedMs = this.trace === undefined ? 0 : this.context.clock.nowMs();
    try {
      const result = await this.withRetries(prepared.topic, message, options, (address, queue) => {
        if (!alone) return this.accumulator.add(address, queue, prepared, msgId);
        const fields = this.sendFields(prepared, queue, msgId);
        return this.context.broker.sendMessage(address, fields, prepared.body, { timeoutMs: this.sendTimeoutMs, signal: options.signal });
      });
      this.trace?.published(prepared, msgId, this.group, startedMs, result);
      return result;
    } catch (error) {
      this.trace?.published(prepared, msgId, this.group, startedMs, undefined, error);
      throw error;
    } finally {
      this.inFlight.release();
    }
  }

  /**
   * One half message of a transaction (transaction-producer.ts), retried as `send` is, and on
   * its fast path when `send` would take it: half messages started in one event-loop turn travel
   * as one SEND_BATCH of halves. `at.address` is set to the broker that stored it, where it is ended.
   */
  protected sendHalfTo(message: ProducerMessage, options: SendOptions, at: { address: string }): Promise<SendResult> {
    let prepared: PreparedMessage;
    try {
      this.checkRunning();
      prepared = prepareMessage(message);
      if (prepared.deliverAtMs !== undefined || prepared.delayMs !== undefined || (prepared.delayLevel ?? 0) !== 0) throw new MqError("BAD_REQUEST", { reason: "a transactional message cannot also be delayed or scheduled" });
    } catch (error) {
      return Promise.reject(error);
    }
    const msgId = this.msgIds.next();
    if (options.signal === undefined && options.selector === undefined && message.shardingKey === undefined) {
      const fast = this.sendFast(message, prepared, msgId, this.halfAccumulator, at);
      if (fast !== undefined) return fast;
    }
    return this.sendHalfWithRetries(message, prepared, msgId, options, at);
  }

  private async sendHalfWithRetries(message: ProducerMessage, prepared: PreparedMessage, msgId: string, options: SendOptions, at: { address: string }): Promise<SendResult> {
    await this.inFlight.acquire(options.signal);
    const startedMs = this.trace === undefined ? 0 : this.context.clock.nowMs();
    try {
      const result = await this.withRetries(prepared.topic, message, options, (address, queue) => {
        at.address = address;
        if (options.signal === undefined) return this.halfAccumulator.add(address, queue, prepared, msgId);
        const fields = this.sendFields(prepared, queue, msgId);
        fields.transactionPrepared = true;
        return this.context.broker.sendMessage(address, fields, prepared.body, { timeoutMs: this.sendTimeoutMs, signal: options.signal });
      });
      this.trace?.published(prepared, msgId, this.group, startedMs, result);
      return result;
    } catch (error) {
      this.trace?.published(prepared, msgId, this.group, startedMs, undefined, error);
      throw error;
    } finally {
      this.inFlight.release();
    }
  }

  /** Sends messages of one topic in one SEND_BATCH request (≤ 4 MiB encoded); one result each, in order. */
  async sendBatch(topic: string, messages: readonly BatchMessage[], options: BatchOptions = {}): Promise<SendResult[]> {
    this.checkRunning();
    if (messages.length === 0) throw new MqError("BATCH_EMPTY");
    const preparedAll = messages.map((message) => {
      if (message.topic !== undefined && message.topic !== topic) throw new MqError("BATCH_MIXED_TOPICS", { first: topic, other: message.topic });
      return prepareMessage(message, topic);
    });
    const entries: BatchEntry[] = preparedAll.map((prepared) => ({ msgId: this.msgIds.next(), tags: prepared.tags, keys: prepared.keys, properties: prepared.properties, body: prepared.body, deliverAtMs: prepared.deliverAtMs, delayMs: prepared.delayMs, delayLevel: prepared.delayLevel, dedupKey: prepared.dedupKey }));
    const body = encodeBatchBody(entries); // throws BATCH_TOO_LARGE before anything is sent
    const msgIds = entries.map((entry) => entry.msgId);
    const routing: ProducerMessage = { topic, body: "", shardingKey: options.shardingKey };
    await this.inFlight.acquire(options.signal);
    const startedMs = this.trace === undefined ? 0 : this.context.clock.nowMs();
    const traceAll = (outcome: { results?: readonly SendResult[]; error?: unknown }) =>
      preparedAll.forEach((message, index) => this.trace?.published(message, entries[index]!.msgId, this.group, startedMs, outcome.results?.[index], outcome.error));
    try {
      const results = await this.withRetries(topic, routing, options, (address, queue) => {
        const fields: Fields<typeof RequestCode.SEND_BATCH> = {
          producerGroup: this.group,
          topic,
          queueId: queue.queueId,
          messageCount: entries.length,
          bornTimestampMs: this.context.clock.nowMs(),
        };
        return this.context.broker.sendBatch(address, fields, body, msgIds, { timeoutMs: this.sendTimeoutMs, signal: options.signal });
      });
      if (this.trace !== undefined) traceAll({ results });
      return results;
    } catch (error) {
      if (this.trace !== undefined) traceAll({ error });
      throw error;
    } finally {
      this.inFlight.release();
    }
  }

  /** Writes the message and returns: no answer, no retry, no result (fastest, may be lost). */
  async sendOneway(message: ProducerMessage, options: SendOptions = {}): Promise<void> {
    this.checkRunning();
    const prepared = prepareMessage(message);
    await this.inFlight.acquire(options.signal);
    try {
      const queue = await this.chooseQueue(message, options.selector, undefined);
      const address = this.context.routes.brokerAddress(queue.brokerName);
      const channel = await this.context.pool.channel(address);
      await this.waitForOutputRoom(() => channel.outputBytesPending, options.signal);
      channel.oneway({ code: RequestCode.SEND_MESSAGE, fields: this.sendFields(prepared, queue, this.msgIds.next()), body: prepared.body });
    } finally {
      this.inFlight.release();
    }
  }

  /**
   * The producer as a WritableStream of one topic's messages (message-writable.ts): up to
   * `inFlight` sends at once; its writer's `write(chunk)` settles on that chunk's durable answer.
   */
  writable(options: WritableOptions): MessageWritable {
    this.checkRunning();
    return createMessageWritable(this, options);
  }

  /** Waits for sends in flight, unregisters the producer group and closes connections. */

  async shutdown(): Promise<void> {
    if (this.state === "stopped") return;
    const wasRunning = this.state === "running";
    this.state = "stopped";
    this.heartbeatTimer?.cancel();
    await this.inFlight.whenIdle();
    await this.trace?.shutdown();
    if (wasRunning) {
      await Promise.allSettled(
        this.context.routes.brokerAddresses().map((address) =>
          this.context.broker.unregisterClient(address, { clientId: this.clientId, producerGroup: this.group }),
        ),
      );
    }
    await this.context.pool.close();
  }

  private sendOne(address: string, queue: MessageQueue, send: AccumulatedSend, transactional = false): Promise<SendResult> {
    const fields = this.sendFields(send.prepared, queue, send.msgId);
    if (transactional) fields.transactionPrepared = true;
    return this.context.broker.sendMessage(address, fields, send.prepared.body, { timeoutMs: this.sendTimeoutMs });
  }

  /** Sends of one queue as one SEND_BATCH; the entries carry what sendFields carries per message. */
  private sendMany(address: string, queue: MessageQueue, sends: readonly AccumulatedSend[], transactional = false): Promise<SendResult[]> {
    const msgIds = sends.map((send) => send.msgId);
    const body = encodeBatchBody(sends.map(({ prepared, msgId }) => ({ msgId, tags: prepared.tags, keys: prepared.keys, properties: prepared.properties, dedupKey: prepared.dedupKey, deliverAtMs: prepared.deliverAtMs, delayMs: prepared.delayMs, delayLevel: prepared.delayLevel, body: prepared.body })));
    const fields: Fields<typeof RequestCode.SEND_BATCH> = { producerGroup: this.group, topic: queue.topic, queueId: queue.queueId, messageCount: sends.length, bornTimestampMs: this.context.clock.nowMs(), ...(transactional ? { transactionPrepared: true } : {}) };
    return this.context.broker.sendBatch(address, fields, body, msgIds, { timeoutMs: this.sendTimeoutMs });
  }

  private sendFields(prepared: PreparedMessage, queue: MessageQueue, msgId: string): Fields<typeof RequestCode.SEND_MESSAGE> {
    return {
      producerGroup: this.group,
      topic: prepared.topic,
      queueId: queue.queueId,
      msgId,
      bornTimestampMs: this.context.clock.nowMs(),
      tags: prepared.tags,
      keys: prepared.keys,
      properties: prepared.properties,
      delayLevel: prepared.delayLevel,
      deliverAtMs: prepared.deliverAtMs,
      delayMs: prepared.delayMs,
      dedupKey: prepared.dedupKey,
    };
  }

  private async withRetries<T>(
    topic: string,
    message: ProducerMessage,
    options: SendOptions,
    attempt: (address: string, queue: MessageQueue) => Promise<T>,
    resumed?: { from: number; failedQueue: MessageQueue; lastError: unknown },
  ): Promise<T> {
    const pinned = options.selector !== undefined || message.shardingKey !== undefined;
    let failedQueue: MessageQueue | undefined = resumed?.failedQueue;
    let lastError: unknown = resumed?.lastError;
    for (let attemptIndex = resumed?.from ?? 0; attemptIndex <= this.retries; attemptIndex++) {
      if (options.signal?.aborted) throw new MqError("ABORTED", { reason: `send to "${topic}" was cancelled` });
      let sent: { queue: MessageQueue; startedMs: number } | undefined;
      try {
        const queue = await this.chooseQueue(message, options.selector, pinned ? undefined : failedQueue);
        failedQueue = queue;
        sent = { queue, startedMs: this.context.clock.monotonicMs() };
        const result = await attempt(this.context.routes.brokerAddress(queue.brokerName), queue);
        this.faults?.record(queue.brokerName, this.context.clock.monotonicMs() - sent.startedMs);
        return result;
      } catch (error) {
        lastError = error;
        if (!this.afterFailedAttempt(topic, error, sent, attemptIndex)) throw error;
      }
    }
    throw lastError;
  }

  /**
   * What a failed attempt leaves behind: a transport failure says the broker may be gone, so it
   * is sat out and the route asked again. True when another attempt may follow (the error is
   * retriable and the producer still runs).
   */
  private afterFailedAttempt(topic: string, error: unknown, sent: { queue: MessageQueue; startedMs: number } | undefined, attemptIndex: number): boolean {
    if (!isRetriable(error)) return false;
    if (sent !== undefined) {
      this.faults?.record(sent.queue.brokerName, Math.max(this.sendTimeoutMs, this.context.clock.monotonicMs() - sent.startedMs));
      this.context.routes.invalidate(topic);
    }
    if (this.state !== "running") return false;
    const where = sent === undefined ? "" : ` on broker "${sent.queue.brokerName}"`;
    this.context.logger.debug(`Send to "${topic}"${where} failed (attempt ${attemptIndex + 1} of ${this.retries + 1}): ${(error as Error).message}`);
    return true;
  }

  private async chooseQueue(message: ProducerMessage, selector: QueueSelector | undefined, failed: MessageQueue | undefined): Promise<MessageQueue> {
    const route = await this.routeForSend(message.topic);
    const queues = route.writeQueues;
    if (queues.length === 0) throw new MqError("TOPIC_NOT_WRITABLE", { topic: message.topic, perm: route.perm });
    if (selector !== undefined) return selectWith(selector, queues, message);
    if (message.shardingKey !== undefined) return selectByShardingKey(queues, message.shardingKey);
    return this.roundRobin.next(queues, failed, this.faults === undefined ? undefined : (brokerName) => this.faults!.isAvailable(brokerName));
  }

  /**
   * The topic's route; for a topic without one, its creation route (route-resolver.ts): the
   * broker there creates the topic on this first send when its `autoCreateTopics` is on, and
   * answers TOPIC_NOT_FOUND otherwise — the same rule as for any other transport.
   */
  private async routeForSend(topic: string): Promise<TopicRoute> {
    try {
      return await this.context.routes.topicRoute(topic);
    } catch (error) {
      if (!isMqError(error, "TOPIC_NOT_FOUND") && !isMqError(error, "NO_ROUTE")) throw error;
      // No broker to try (or none listed): the missing route is the answer.
      const creation = await this.context.routes.creationRoute(topic).catch(() => undefined);
      if (creation === undefined || creation.writeQueues.length === 0) throw error;
      return creation;
    }
  }

  /**
   * The Channel offers no drain event, so a oneway sender that outruns the socket checks its
   * unsent output on a short timer; the bound, not the timer, is what matters here.
   */
  private async waitForOutputRoom(pendingBytes: () => number, signal: AbortSignal | undefined): Promise<void> {
    while (pendingBytes() > onewayOutputBytesMax) {
      if (signal?.aborted) throw new MqError("ABORTED", { reason: "oneway send was cancelled" });
      await new Promise<void>((resolve) => this.context.clock.setTimeout(resolve, 1));
    }
  }

  protected async heartbeat(rethrow: boolean): Promise<void> {
    const addresses = this.context.routes.brokerAddresses();
    const results = await Promise.allSettled(addresses.map((address) => this.context.broker.heartbeat(address, { clientId: this.clientId, producerGroups: [this.group] })));
    const failure = results.find((result) => result.status === "rejected");
    if (failure === undefined) return;
    if (rethrow && results.every((result) => result.status === "rejected")) throw failure.reason;
    this.context.logger.warn(`Heartbeat failed: ${(failure.reason as Error).message}`);
  }

  protected checkRunning(): void {
    if (this.state !== "running") throw new MqError("BAD_REQUEST", { reason: `producer cannot send: it is ${this.state === "new" ? "not started" : "shut down"}` });
  }
}
