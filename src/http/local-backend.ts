/**
 * The REST backend when the broker runs in this process: admin actions call the same functions
 * the broker's request handlers wrap (admin-processor.ts, offset-processor.ts), sends and lookups
 * go through the broker's message service (message-service.ts) — so REST and TCP share one
 * implementation of each rule and error, with no request encoded or decoded in between — and
 * HTTP consumption uses the broker's one PopService, the same one its TCP POP_MESSAGE serves, so
 * HTTP and SDK consumers of a group see one set of in-flight messages.
 */

import { formatHostPort } from "../common/ip-address.ts";
import type { BrokerContext } from "../broker/broker-context.ts";
import { changeGroupConfig } from "../broker/processors/group-config-processor.ts";
import type { GroupConfig, GroupConfigUpdate } from "../protocol/group-config.ts";
import { PopService } from "../broker/pop-service.ts";
import * as admin from "../broker/processors/admin-processor.ts";
import * as offsets from "../broker/processors/offset-processor.ts";
import { type ReceivedMessage, toPulledMessage } from "../client/message.ts";
import { MqError } from "../common/errors.ts";
import { decodeRecord, type StoredMessage } from "../common/message-record.ts";
import type { QueueOffset } from "../common/offsets.ts";
import { brokerRoleOf } from "../protocol/broker-role.ts";
import type { CancelOutcome, ClusterInfo, EndTransactionResult, GroupDetail, ScheduledListing, TopicConfig, TransactionListing } from "../protocol/responses.ts";
import { Transactions } from "../broker/transactions.ts";
import { ScheduledMessages } from "../broker/scheduled-messages.ts";
import type { ScheduledListOptions } from "../client/scheduled-listing.ts";
import { type DeadLetterListOptions, type DeadLetterView, formatDeadLetterCursor, parseDeadLetterCursor, type RedriveOptions, type RedriveResult } from "../client/dead-letter-listing.ts";
import { redriveMessagesMax } from "../common/limits.ts";
import { findTrace } from "../broker/trace-query.ts";
import type { TraceHop } from "../protocol/trace-record.ts";
import type { ClusterBroker, ClusterView, GroupSummary, MqBackend, NackOptions, OutgoingMessage, QueuePage, ReceiveRequest, ReceivedEntry, ResetTarget, SendAnswer, TopicDescription } from "./mq-backend.ts";

/** Who the local broker is, as it registers with NameServers (its settings). */
export interface LocalBrokerIdentity {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: number;
  readonly haAddr?: string;
}

export interface LocalBackendOptions {
  readonly broker: BrokerContext;
  /** Shown in routes and the single-broker cluster view. */
  readonly identity: LocalBrokerIdentity;
  readonly version: string;
  /** The cluster as a co-located NameServer sees it; without one, the cluster is this broker alone. */
  readonly cluster?: () => ClusterInfo | Promise<ClusterInfo>;
  /** Ms since a NameServer last took this broker's registration; undefined while none has. */
  readonly registrationAgeMs?: () => number | undefined;
}

export class LocalBackend implements MqBackend {
  readonly kind = "local";
  readonly pop: PopService;
  private readonly broker: BrokerContext;
  private readonly scheduled: ScheduledMessages;

  constructor(private readonly options: LocalBackendOptions) {
    this.broker = options.broker;
    this.pop = PopService.of(options.broker);
    this.scheduled = new ScheduledMessages(options.broker.scheduler, options.broker.store, options.broker.clock);
  }

  /**
   * The co-located NameServer's view when there is one; else this broker alone, with its own
   * settings and, when it registers with NameServers elsewhere, the age of its last registration
   * (absent while none has taken one: no NameServer has heard from it).
   */
  async cluster(): Promise<ClusterView> {
    if (this.options.cluster !== undefined) return { ...(await this.options.cluster()), source: "namesrv" };
    const { clusterName, brokerName, brokerId, haAddr } = this.options.identity;
    const lastHeartbeatAgeMs = this.options.registrationAgeMs?.();
    const broker: ClusterBroker = {
      clusterName,
      brokerName,
      brokerId,
      role: brokerRoleOf(brokerId),
      brokerAddr: formatHostPort(this.broker.advertisedHost, this.broker.port),
      ...(haAddr === undefined ? {} : { haAddr }),
      version: this.options.version,
      ...(lastHeartbeatAgeMs === undefined ? {} : { lastHeartbeatAgeMs }),
      topics: this.broker.topics.list().length,
    };
    return { source: "local", brokers: [broker] };
  }

  listTopics(): TopicConfig[] {
    return this.broker.topics.list().map((config) => ({ ...config }));
  }

  createTopic(input: { topic: string; queues?: number; perm: number; order: boolean; dedupWindowMs?: number }): TopicDescription {
    const queues = input.queues ?? this.broker.config.defaultTopicQueues;
    admin.createTopicConfig(this.broker, { topic: input.topic, readQueues: queues, writeQueues: queues, perm: input.perm, order: input.order, ...(input.dedupWindowMs === undefined ? {} : { dedupWindowMs: input.dedupWindowMs }) });
    return this.describeTopic(input.topic);
  }

  /** A stored message of this broker as the API shows it (its offsetMsgId made from this broker's address). */
  private received(stored: StoredMessage): ReceivedMessage {
    return toPulledMessage(stored, { brokerName: this.options.identity.brokerName, brokerAddress: formatHostPort(this.broker.advertisedHost, this.broker.port) });
  }

  /** A topic's settings, where it lives (this broker) and each queue's offsets. */
  describeTopic(topic: string): TopicDescription {
    const detail = admin.describeTopic(this.broker, topic);
    const address = formatHostPort(this.broker.advertisedHost, this.broker.port);
    const { brokerName, brokerId } = this.options.identity;
    return { ...detail, route: { brokers: [{ brokerName, brokerId, address, readQueues: detail.readQueues, writeQueues: detail.writeQueues, perm: detail.perm }] } };
  }

  deleteTopic(topic: string): void {
    admin.removeTopic(this.broker, topic);
  }

  updateTopic(topic: string, update: { queues?: number; perm?: number; dedupWindowMs?: number }): TopicDescription {
    const current = this.broker.topics.require(topic);
    const queues = update.queues === undefined ? {} : { readQueues: update.queues, writeQueues: update.queues };
    admin.changeTopicConfig(this.broker, { ...current, ...queues, ...(update.perm === undefined ? {} : { perm: update.perm }), ...(update.dedupWindowMs === undefined ? {} : { dedupWindowMs: update.dedupWindowMs }) });
    return this.describeTopic(topic);
  }

  offsetByTime(topic: string, queueId: number, timestampMs: number): QueueOffset {
    const config = this.broker.topics.require(topic);
    const queues = Math.max(config.readQueues, config.writeQueues);
    if (queueId >= queues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues });
    return this.broker.store.offsetForTimestamp(topic, queueId, timestampMs);
  }

  send(topic: string, messages: readonly OutgoingMessage[]): SendAnswer[] | Promise<SendAnswer[]> {
    return this.broker.messages.publish(topic, messages);
  }

  browse(topic: string, queueId: number, options: { offset?: QueueOffset; max: number }): QueuePage {
    const config = this.broker.topics.require(topic);
    const queues = Math.max(config.readQueues, config.writeQueues);
    if (queueId >= queues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues });
    const store = this.broker.store;
    const minOffset = store.minOffset(topic, queueId);
    const maxOffset = store.maxOffset(topic, queueId);
    const offset = options.offset ?? minOffset;
    if (offset < minOffset || offset > maxOffset) throw new MqError("OFFSET_OUT_OF_RANGE", { topic, queueId, offset, min: minOffset, max: maxOffset });
    const result = store.getMessages({ topic, queueId, offset, maxCount: options.max });
    const messages = result.status === "found" ? result.messages.map((read) => this.received(decodeRecord(result.buffer, read.position))) : [];
    // Past damaged entries too: the reader's nextOffset always moves past what it examined.
    const moved = result.status === "found" || result.status === "no_matched_message";
    return { minOffset, maxOffset, nextOffset: moved ? result.nextOffset : offset, messages };
  }

  /** An offsetMsgId of this broker is read at its CommitLog offset; anything else is tried as a producer msgId. */
  messageById(id: string): ReceivedMessage {
    return this.received(decodeRecord(this.broker.messages.findRecord({ offsetMsgId: id })));
  }

  messagesByKey(topic: string, key: string, max: number): ReceivedMessage[] {
    return this.broker.messages.findRecordsByKey({ topic, key, max }).map((record) => this.received(decodeRecord(record)));
  }

  trace(id: string, options: { topic?: string }): TraceHop[] {
    return findTrace(this.broker, { id, ...options });
  }

  listGroups(): GroupSummary[] {
    return admin.groupSummaries(this.broker);
  }

  group(group: string): GroupDetail {
    return admin.describeGroup(this.broker, group);
  }

  groupConfig(group: string): GroupConfig {
    return this.broker.groupConfigs.get(group);
  }

  updateGroupConfig(update: GroupConfigUpdate): Promise<GroupConfig> {
    return changeGroupConfig(this.broker, update);
  }

  resetOffset(group: string, topic: string, to: ResetTarget): { queues: Array<{ topic: string; queueId: number; queueOffset: QueueOffset }> } {
    const target = typeof to === "number" ? { to: "timestamp" as const, timestampMs: to } : { to };
    return { queues: offsets.resetGroupOffsets(this.broker, { consumerGroup: group, topic, ...target }) };
  }

  async receive(request: ReceiveRequest): Promise<ReceivedEntry[]> {
    const popped = await this.pop.receive({
      group: request.group,
      topic: request.topic,
      maxMessages: request.max,
      invisibleMs: request.invisibleMs,
      waitMs: request.waitMs,
      filter: request.sql !== undefined ? { expressionType: "SQL92", expression: request.sql } : request.tags === undefined ? undefined : { expressionType: "TAG", expression: request.tags },
      signal: request.signal,
    });
    return popped.map((item) => ({ message: this.received(item.message), receiptHandle: item.receiptHandle, invisibleUntilMs: item.invisibleUntilMs, deliveryAttempt: item.deliveryAttempt }));
  }

  ack(group: string, topic: string | undefined, receiptHandle: string): void {
    this.pop.ack(group, topic, receiptHandle);
  }

  nack(group: string, topic: string | undefined, receiptHandle: string, options: NackOptions): void {
    const { delayMs, errorText } = options;
    this.pop.changeInvisibleTime(group, topic, receiptHandle, delayMs ?? 0, { nack: delayMs === undefined, ...(errorText === undefined ? {} : { errorText }) });
  }

  /** Answers held receives (empty), so closing the HTTP server waits for nothing. */
  listScheduled(options: ScheduledListOptions): ScheduledListing {
    return this.scheduled.list(options);
  }

  listTransactions(options: { readonly state: "pending" | "exhausted"; readonly limit: number; readonly after?: string }): TransactionListing {
    return Transactions.of(this.broker).list({ state: options.state, limit: options.limit, ...(options.after === undefined ? {} : { afterTransactionId: options.after }) });
  }

  endTransaction(transactionId: string, resolution: "commit" | "rollback"): EndTransactionResult | Promise<EndTransactionResult> {
    return Transactions.of(this.broker).end(transactionId, resolution, "operator");
  }

  cancelScheduled(msgId: string): CancelOutcome {
    this.broker.assertWritable();
    return this.scheduled.cancel(msgId.toUpperCase());
  }

  listDeadLetters(group: string, options: DeadLetterListOptions): { entries: DeadLetterView[]; next?: string } {
    const after = options.after === undefined ? undefined : parseDeadLetterCursor(options.after);
    const page = this.broker.deadLetters.list(group, { fromMs: options.fromMs, toMs: options.toMs, msgId: options.msgId, after, limit: options.limit });
    return { entries: page.entries, ...(page.next === undefined ? {} : { next: formatDeadLetterCursor(page.next) }) };
  }

  async redrive(group: string, options: RedriveOptions): Promise<RedriveResult[]> {
    this.broker.assertWritable();
    const { ids, fromMs, toMs, toTopic, ratePerSecond, force } = options;
    const answer = await this.broker.deadLetters.redrive(group, { ids, fromMs, toMs, toTopic, ratePerSecond, force, max: redriveMessagesMax });
    return [...answer.results, ...answer.missing.map((id): RedriveResult => ({ id, status: "failed", reason: `not in the DLQ of group "${group}"` }))];
  }

  async close(): Promise<void> {
    this.pop.stop();
  }
}
