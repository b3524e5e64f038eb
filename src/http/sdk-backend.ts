/**
 * The REST backend for brokers elsewhere: `mq start --role http --namesrv host:port` (or
 * `--role namesrv,http`, or `--broker host:port` for one standalone broker) serves the same REST
 * API through the client SDK — Admin for topics, groups, offsets and lookups; a Producer for
 * sends; SimpleConsumers (TCP POP_MESSAGE) for receive/ack/nack. The brokers' pop services keep
 * the in-flight state, so this process holds none: any number of REST processes (and SDK
 * SimpleConsumers) can serve one group.
 *
 * Differences from the in-process backend, all from going through clients:
 * - a send to an unknown topic goes where the SDK's Producer sends it (its creation route): a
 *   broker with autoCreateTopics creates it, others answer TOPIC_NOT_FOUND;
 * - in a cluster a topic's queue ids repeat per broker: browse takes `broker` to pick one, and
 *   views list each queue with its `brokerName`;
 * - POST /topics answers once the NameServer routes the new topic (bounded wait), so a send right
 *   after it finds the route;
 * - receipt handles name their topic and broker (popped-message.ts), so acks need no topic.
 */

import { Admin } from "../client/admin.ts";
import type { TraceHop } from "../protocol/trace-record.ts";
import type { ClientOptions } from "../client/client-context.ts";
import type { BatchMessage, ReceivedMessage } from "../client/message.ts";
import { decodeReceiptHandle } from "../client/popped-message.ts";
import { Producer } from "../client/producer.ts";
import { TransactionProducer } from "../client/transaction-producer.ts";
import { restProducerGroup } from "../common/system-topics.ts";
import { MqError, isMqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { QueueOffset } from "../common/offsets.ts";
import type { CancelOutcome, EndTransactionResult, GroupDetail, ScheduledListing, TopicConfig, TopicRouteData, TransactionListing } from "../protocol/responses.ts";
import type { ScheduledListOptions } from "../client/scheduled-listing.ts";
import type { GroupConfig, GroupConfigUpdate } from "../protocol/group-config.ts";
import type { DeadLetterListOptions, DeadLetterView, RedriveOptions, RedriveResult } from "../client/dead-letter-listing.ts";
import type { ClusterView, GroupSummary, MqBackend, NackOptions, OutgoingMessage, QueuePage, ReceiveRequest, ReceivedEntry, ResetTarget, RouteEntry, SendAnswer, TopicDescription } from "./mq-backend.ts";
import { SimpleConsumerPool } from "./simple-consumer-pool.ts";

export interface SdkBackendOptions {
  /** The cluster's NameServers, "host:port;host:port"; or `broker`. */
  readonly namesrv?: string;
  /** One broker, "host:port", when there is no NameServer. */
  readonly broker?: string;
  /** Queues of a topic created without a count (the brokers' own default is theirs to know). */
  readonly defaultTopicQueues: number;
  readonly logger?: Logger;
}

/** How long POST /topics waits for the NameServer to route a new topic. */
export const topicRouteWaitMs = 5_000;
const topicRoutePollMs = 50;

export class SdkBackend implements MqBackend {
  readonly kind = "sdk";
  private readonly clientOptions: ClientOptions;
  private readonly admin: Admin;
  private readonly consumers: SimpleConsumerPool;
  private producer: Promise<Producer> | undefined;
  private transactionProducer: Promise<TransactionProducer> | undefined;
  private closed = false;

  constructor(private readonly options: SdkBackendOptions) {
    if ((options.namesrv === undefined) === (options.broker === undefined)) {
      throw new MqError("BAD_REQUEST", { reason: `the REST API needs NameServers or one broker to talk to, not ${options.namesrv === undefined ? "neither" : "both"}` });
    }
    this.clientOptions = options.namesrv !== undefined ? { namesrv: options.namesrv, logger: options.logger } : { broker: options.broker, logger: options.logger };
    this.admin = new Admin(this.clientOptions);
    this.consumers = new SimpleConsumerPool(this.clientOptions);
  }

  /** What this process fronts, for /ready and logs. */
  get target(): string {
    return this.options.namesrv !== undefined ? `NameServers ${this.options.namesrv}` : `broker ${this.options.broker}`;
  }

  async cluster(): Promise<ClusterView> {
    if (this.options.namesrv !== undefined) return { ...(await this.admin.clusterInfo()), source: "namesrv" };
    const address = this.options.broker!;
    const topics = await this.admin.listTopics();
    // A broker does not tell its identity over TCP: only its address and topics are known here.
    return { source: "broker", brokers: [{ clusterName: "", brokerName: address, brokerId: 0, brokerAddr: address, version: "unknown", topics: topics.length }] };
  }

  listTopics(): Promise<TopicConfig[]> {
    return this.admin.listTopics();
  }

  async createTopic(input: { topic: string; queues?: number; perm: number; order: boolean; dedupWindowMs?: number }): Promise<TopicDescription> {
    await this.admin.createTopic(input.topic, { queues: input.queues ?? this.options.defaultTopicQueues, perm: input.perm, order: input.order, ...(input.dedupWindowMs === undefined ? {} : { dedupWindowMs: input.dedupWindowMs }) });
    if (this.options.namesrv !== undefined) await this.untilRouted(input.topic);
    return this.describeTopic(input.topic);
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    const detail = await this.admin.getTopic(topic);
    let route: TopicRouteData | undefined;
    try {
      route = await this.admin.getTopicRoute(topic);
    } catch (error) {
      if (!isMqError(error, "NO_ROUTE") && !isMqError(error, "TOPIC_NOT_FOUND")) throw error;
      // Created but not yet registered with the NameServer: the route follows within a heartbeat.
    }
    return { ...detail, route: { brokers: route === undefined ? [] : routeEntries(route) } };
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.admin.deleteTopic(topic);
  }

  async updateTopic(topic: string, update: { queues?: number; perm?: number; dedupWindowMs?: number }): Promise<TopicDescription> {
    const queues = update.queues === undefined ? {} : { readQueues: update.queues, writeQueues: update.queues };
    await this.admin.updateTopic(topic, { ...queues, ...(update.perm === undefined ? {} : { perm: update.perm }), ...(update.dedupWindowMs === undefined ? {} : { dedupWindowMs: update.dedupWindowMs }) });
    return this.describeTopic(topic);
  }

  offsetByTime(topic: string, queueId: number, timestampMs: number, brokerName?: string): Promise<QueueOffset> {
    return this.admin.offsetByTime(topic, queueId, timestampMs, brokerName);
  }

  /**
   * One message is one SEND_MESSAGE. A batch is one SEND_BATCH per sharding key (a batch lands in
   * one queue, and messages with a key must land in that key's queue) plus one for the rest.
   */
  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<SendAnswer[]> {
    if (messages.length === 0) throw new MqError("BATCH_EMPTY");
    if (messages.some((message) => message.transaction === true)) {
      if (messages.length > 1) throw new MqError("BAD_REQUEST", { reason: "a batch cannot hold transactional messages: send each alone" });
      const half = await (await this.startedTransactionProducer()).sendHalf({ topic, ...toBatchMessage(messages[0]!) });
      return [{ ...answer(half), transactionId: half.transactionId }];
    }
    const producer = await this.startedProducer();
    if (messages.length === 1) return [answer(await producer.send({ topic, ...toBatchMessage(messages[0]!) }))];
    const byKey = new Map<string | undefined, number[]>();
    messages.forEach((message, index) => {
      const indexes = byKey.get(message.shardingKey) ?? [];
      indexes.push(index);
      byKey.set(message.shardingKey, indexes);
    });
    const answers: SendAnswer[] = new Array(messages.length);
    for (const [shardingKey, indexes] of byKey) {
      const results = await producer.sendBatch(topic, indexes.map((index) => toBatchMessage(messages[index]!)), { shardingKey });
      results.forEach((result, position) => (answers[indexes[position]!] = answer(result)));
    }
    return answers;
  }

  async browse(topic: string, queueId: number, options: { offset?: QueueOffset; max: number; brokerName?: string }): Promise<QueuePage> {
    return this.admin.readQueue(topic, queueId, { offset: options.offset, max: options.max, brokerName: options.brokerName });
  }

  messageById(id: string): Promise<ReceivedMessage> {
    return this.admin.viewMessage(id);
  }

  messagesByKey(topic: string, key: string, max: number): Promise<ReceivedMessage[]> {
    return this.admin.queryByKey(topic, key, { maxResults: max });
  }

  trace(id: string, options: { topic?: string }): Promise<TraceHop[]> {
    return this.admin.trace(id, options);
  }

  listGroups(): Promise<GroupSummary[]> {
    return this.admin.listGroups();
  }

  group(group: string): Promise<GroupDetail> {
    return this.admin.getGroup(group);
  }

  groupConfig(group: string): Promise<GroupConfig> {
    return this.admin.getGroupConfig(group);
  }

  updateGroupConfig(update: GroupConfigUpdate): Promise<GroupConfig> {
    const { group, ...settings } = update;
    return this.admin.updateGroupConfig(group, settings);
  }

  async resetOffset(group: string, topic: string, to: ResetTarget) {
    return { queues: await this.admin.resetOffset(group, topic, to) };
  }

  async receive(request: ReceiveRequest): Promise<ReceivedEntry[]> {
    const consumer = await this.consumers.receiver(request.group, request.topic, request.sql !== undefined ? { sql: request.sql } : (request.tags ?? "*"));
    const messages = await consumer.receive(request.max, { invisibleMs: request.invisibleMs, waitMs: request.waitMs, signal: request.signal });
    return messages.map((message) => ({ message, receiptHandle: message.receiptHandle, invisibleUntilMs: message.invisibleUntilMs, deliveryAttempt: message.deliveryAttempt }));
  }

  async ack(group: string, topic: string | undefined, receiptHandle: string): Promise<void> {
    checkHandleTopic(topic, receiptHandle);
    await this.consumers.settler(group).ack(receiptHandle);
  }

  async nack(group: string, topic: string | undefined, receiptHandle: string, options: NackOptions): Promise<void> {
    checkHandleTopic(topic, receiptHandle);
    const { delayMs, errorText } = options;
    await this.consumers.settler(group).changeInvisibleTime(receiptHandle, delayMs ?? 0, { nack: delayMs === undefined, ...(errorText === undefined ? {} : { errorText }) });
  }

  listScheduled(options: ScheduledListOptions): Promise<ScheduledListing> {
    return this.admin.listScheduled(options);
  }

  listTransactions(options: { readonly state: "pending" | "exhausted"; readonly limit: number; readonly after?: string }): Promise<TransactionListing> {
    return this.admin.listTransactions(options);
  }

  endTransaction(transactionId: string, resolution: "commit" | "rollback"): Promise<EndTransactionResult> {
    return resolution === "commit" ? this.admin.commitTransaction(transactionId) : this.admin.rollbackTransaction(transactionId);
  }

  cancelScheduled(msgId: string): Promise<CancelOutcome> {
    return this.admin.cancelScheduled(msgId);
  }

  listDeadLetters(group: string, options: DeadLetterListOptions): Promise<{ entries: DeadLetterView[]; next?: string }> {
    return this.admin.listDeadLetters(group, options);
  }

  redrive(group: string, options: RedriveOptions): Promise<RedriveResult[]> {
    return this.admin.redrive(group, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const producer = this.producer;
    const transactionProducer = this.transactionProducer;
    this.producer = undefined;
    this.transactionProducer = undefined;
    await Promise.allSettled([this.consumers.close(), this.admin.close(), producer?.then((started) => started.shutdown()), transactionProducer?.then((started) => started.shutdown())]);
  }

  /** Started on first send; a failed start is forgotten so the next send tries again. */
  private startedProducer(): Promise<Producer> {
    if (this.closed) throw new MqError("STORE_NOT_READY", { reason: "the REST API is shutting down" });
    this.producer ??= (async () => {
      const producer = new Producer({ ...this.clientOptions, group: "MQ_HTTP_PRODUCER" });
      await producer.start();
      return producer;
    })().catch((error: unknown) => {
      this.producer = undefined;
      throw error;
    });
    return this.producer;
  }

  /** The producer of REST half messages: group MQ_REST_PRODUCER, which brokers never check back. */
  private startedTransactionProducer(): Promise<TransactionProducer> {
    if (this.closed) throw new MqError("STORE_NOT_READY", { reason: "the REST API is shutting down" });
    this.transactionProducer ??= (async () => {
      const producer = new TransactionProducer({ ...this.clientOptions, group: restProducerGroup, checkListener: () => "unknown" });
      await producer.start();
      return producer;
    })().catch((error: unknown) => {
      this.transactionProducer = undefined;
      throw error;
    });
    return this.transactionProducer;
  }

  /** Polls the NameServer until it routes `topic`, up to topicRouteWaitMs; then answers anyway. */
  private async untilRouted(topic: string): Promise<void> {
    const deadline = Date.now() + topicRouteWaitMs;
    for (;;) {
      try {
        await this.admin.getTopicRoute(topic);
        return;
      } catch (error) {
        if (!isMqError(error, "NO_ROUTE") && !isMqError(error, "TOPIC_NOT_FOUND")) throw error;
      }
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, topicRoutePollMs));
    }
  }
}

/** The handle names its topic: a request naming another is refused as the broker would. */
function checkHandleTopic(topic: string | undefined, receiptHandle: string): void {
  const parts = decodeReceiptHandle(receiptHandle);
  if (topic !== undefined && parts.topic !== topic) throw new MqError("RECEIPT_HANDLE_INVALID", { handle: receiptHandle.slice(0, 64) });
}

function toBatchMessage(message: OutgoingMessage): BatchMessage {
  const { deliverAtMs, delayMs, delayLevel, dedupKey } = message;
  return {
    body: message.body,
    tags: message.tags === "" ? undefined : message.tags,
    keys: message.keys,
    properties: message.properties,
    shardingKey: message.shardingKey,
    ...(deliverAtMs === undefined ? {} : { deliverAtMs }),
    ...(delayMs === undefined ? {} : { delayMs }),
    ...(delayLevel === undefined ? {} : { delayLevel }),
    ...(dedupKey === undefined ? {} : { dedupKey }),
  };
}

function answer(result: { msgId: string; offsetMsgId: string; queueId: number; queueOffset: QueueOffset; deliverAtMs?: number; scheduled?: boolean; duplicate?: boolean }): SendAnswer {
  const sent: SendAnswer = { msgId: result.msgId, offsetMsgId: result.offsetMsgId, queueId: result.queueId, queueOffset: result.queueOffset };
  if (result.duplicate === true) sent.duplicate = true;
  if (result.deliverAtMs !== undefined) {
    sent.deliverAtMs = result.deliverAtMs;
    sent.scheduled = result.scheduled ?? true;
  }
  return sent;
}

/** Each broker group's members, with the topic's queue counts on that group. */
function routeEntries(route: TopicRouteData): RouteEntry[] {
  const entries: RouteEntry[] = [];
  for (const queueData of route.queueDatas) {
    const addresses = route.brokerDatas.find((broker) => broker.brokerName === queueData.brokerName)?.brokerAddrs ?? {};
    for (const [brokerId, address] of Object.entries(addresses)) {
      entries.push({ brokerName: queueData.brokerName, brokerId: Number(brokerId), address, readQueues: queueData.readQueues, writeQueues: queueData.writeQueues, perm: queueData.perm });
    }
  }
  return entries;
}
