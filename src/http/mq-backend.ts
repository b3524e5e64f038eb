/**
 * What the REST routes ask of "the message queue", whichever way it is reached:
 * - `LocalBackend` (local-backend.ts): the broker runs in this process; calls go straight to its
 *   processors, store and pop service (no serialization, no TCP hop);
 * - `SdkBackend` (sdk-backend.ts): brokers run elsewhere (`mq start --role http --namesrv ...`);
 *   calls go through the client SDK (Admin, Producer, SimpleConsumer) over TCP.
 *
 * Routes parse and shape HTTP; backends do the work and throw catalogue errors (MqError), which
 * reach the client with their code and HTTP status either way. Results are the JSON the routes
 * return; messages are SDK ReceivedMessages so one view (message-view.ts) serves both.
 */

import type { StoredAnswer, UnroutedMessage } from "../broker/message-service.ts";
import type { TraceHop } from "../protocol/trace-record.ts";
import type { ReceivedMessage } from "../client/message.ts";
import type { QueueOffset } from "../common/offsets.ts";
import type { ScheduledListOptions } from "../client/scheduled-listing.ts";
import type { GroupConfig, GroupConfigUpdate } from "../protocol/group-config.ts";
import type { DeadLetterListOptions, DeadLetterView, RedriveOptions, RedriveResult } from "../client/dead-letter-listing.ts";
import type { CancelOutcome, ClusterInfo, EndTransactionResult, GroupDetail, ScheduledListing, TopicConfig, TransactionListing, groupSummarySchema } from "../protocol/responses.ts";
import type { z } from "zod";

/** What the REST API sends and answers are the message service's own: the broker picks queue and msgId. */
export type OutgoingMessage = UnroutedMessage;
export type SendAnswer = StoredAnswer;

/** A broker of the cluster view: `lastHeartbeatAgeMs` is absent when no NameServer has heard from it. */
export type ClusterBroker = Omit<ClusterInfo["brokers"][number], "lastHeartbeatAgeMs"> & { lastHeartbeatAgeMs?: number };

export interface ClusterView {
  source: "namesrv" | "local" | "broker";
  brokers: ClusterBroker[];
}

export interface RouteEntry {
  brokerName: string;
  brokerId: number;
  address: string;
  readQueues: number;
  writeQueues: number;
  perm: number;
}

/** A topic's settings, each queue's offsets (with its broker in a cluster) and where it lives. */
export interface TopicDescription extends TopicConfig {
  queues: Array<{ queueId: number; minOffset: QueueOffset; maxOffset: QueueOffset; brokerName?: string }>;
  route: { brokers: RouteEntry[] };
}

export interface QueuePage {
  minOffset: QueueOffset;
  maxOffset: QueueOffset;
  nextOffset: QueueOffset;
  messages: ReceivedMessage[];
}

export interface ReceiveRequest {
  readonly group: string;
  readonly topic: string;
  readonly max: number;
  readonly invisibleMs: number;
  readonly waitMs: number;
  /** A tag expression (`*`, `a || b`); absent takes every message. */
  readonly tags?: string;
  /** A SQL92 expression over properties (instead of tags). */
  readonly sql?: string;
  /** Aborted when the HTTP client goes away: a held receive then takes no message. */
  readonly signal?: AbortSignal;
}

export interface ReceivedEntry {
  readonly message: ReceivedMessage;
  readonly receiptHandle: string;
  readonly invisibleUntilMs: number;
  readonly deliveryAttempt: number;
}

export interface NackOptions {
  readonly delayMs?: number;
  readonly errorText?: string;
}

export type GroupSummary = z.infer<typeof groupSummarySchema>;
export type ResetTarget = "first" | "last" | number;

/** A value now or later: the local backend answers most calls synchronously, and stays that cheap. */
export type Answer<T> = T | Promise<T>;

export interface MqBackend {
  readonly kind: "local" | "sdk";
  cluster(): Answer<ClusterView>;
  listTopics(): Answer<TopicConfig[]>;
  /** `queues` absent: the broker's default. */
  createTopic(input: { topic: string; queues?: number; perm: number; order: boolean; dedupWindowMs?: number }): Answer<TopicDescription>;
  describeTopic(topic: string): Answer<TopicDescription>;
  deleteTopic(topic: string): Answer<void>;
  /** Changes queue counts (read and write alike) and permission; fields left out keep their value. TOPIC_NOT_FOUND when absent. */
  updateTopic(topic: string, update: { queues?: number; perm?: number; dedupWindowMs?: number }): Answer<TopicDescription>;
  /** Resolves once stored under the broker's flush policy; one answer per message, in order. */
  send(topic: string, messages: readonly OutgoingMessage[]): Answer<SendAnswer[]>;
  /** `brokerName` picks the broker in a cluster where queue ids repeat. */
  browse(topic: string, queueId: number, options: { offset?: QueueOffset; max: number; brokerName?: string }): Answer<QueuePage>;
  /** The offset of the first message of the queue stored at or after `timestampMs` (its max offset when none is). */
  offsetByTime(topic: string, queueId: number, timestampMs: number, brokerName?: string): Answer<QueueOffset>;
  /** MESSAGE_NOT_FOUND when no broker has it. */
  messageById(id: string): Answer<ReceivedMessage>;
  messagesByKey(topic: string, key: string, max: number): Answer<ReceivedMessage[]>;
  /** A message's trace hops (by msgId, offsetMsgId or key), oldest first; `topic` a trace topic to search besides the brokers'. */
  trace(id: string, options: { topic?: string }): Answer<TraceHop[]>;
  listGroups(): Answer<GroupSummary[]>;
  group(group: string): Answer<GroupDetail & { queues: Array<GroupDetail["queues"][number] & { brokerName?: string }> }>;
  resetOffset(group: string, topic: string, to: ResetTarget): Answer<{ queues: Array<{ topic: string; queueId: number; queueOffset: QueueOffset; brokerName?: string }> }>;
  /** The group's configuration (the defaults if nobody set it). */
  groupConfig(group: string): Answer<GroupConfig>;
  /** Creates or changes the group's configuration; answered once stored. */
  updateGroupConfig(update: GroupConfigUpdate): Answer<GroupConfig>;
  receive(request: ReceiveRequest): Answer<ReceivedEntry[]>;
  /** A handle that is unknown, stale, or of another group or topic is RECEIPT_HANDLE_INVALID. */
  ack(group: string, topic: string | undefined, receiptHandle: string): Answer<void>;
  /**
   * A failed delivery: visible again after `delayMs` (0: at once), or after the group's back-off
   * when absent; past the group's maxReconsumeTimes the message goes to its DLQ with errorText.
   */
  nack(group: string, topic: string | undefined, receiptHandle: string, options: NackOptions): Answer<void>;
  /** Pending scheduled messages: counts per time bucket and one page (every broker's). */
  listScheduled(options: ScheduledListOptions): Answer<ScheduledListing>;
  cancelScheduled(msgId: string): Answer<CancelOutcome>;
  /** Pending or exhausted transactions, oldest first, one page after `after` (a transaction id). */
  listTransactions(options: { readonly state: "pending" | "exhausted"; readonly limit: number; readonly after?: string }): Answer<TransactionListing>;
  /** Commits or rolls back a transaction by id (an operator's action). */
  endTransaction(transactionId: string, resolution: "commit" | "rollback"): Answer<EndTransactionResult>;
  /** One page of a group's DLQ entries, oldest first; `next` continues. */
  listDeadLetters(group: string, options: DeadLetterListOptions): Answer<{ entries: DeadLetterView[]; next?: string }>;
  /** One result per entry taken up; ids naming no entry are `failed`. */
  redrive(group: string, options: RedriveOptions): Answer<RedriveResult[]>;
  /** Stops what the backend started (held receives answered, client connections closed). */
  close(): Promise<void>;
}
