/**
 * Admin: topics, consumer groups, offsets, message lookup and (cluster mode) routes and brokers.
 * Needs no `start`: connections open on first use; `close()` ends them. Results are the broker's
 * response shapes (protocol/responses.ts); messages come back as ReceivedMessage, like a consumer's.
 *
 * With one broker every request goes to it. With NameServers (`namesrv`) Admin works on the
 * cluster: the masters come from GET_CLUSTER_INFO, a topic is created on every one of them unless
 * `brokerNames` picks some, and views (topics, groups, offsets, lookups) ask every master and fold
 * the answers into one (admin-cluster.ts), each queue entry naming its `brokerName`. Asking the
 * brokers rather than the (up to 30 s old) route makes a topic visible right after its creation.
 */

import { MqError } from "../common/errors.ts";
import { deadLetterPageDefault, redriveAnswerWaitMsMin, redriveMessagesMax, traceQueryHopsMax } from "../common/limits.ts";
import { messageKeyLengthMax } from "../protocol/limits.ts";
import { type TraceHop, completePublishHops, sortTimeline, uniqueHops } from "../protocol/trace-record.ts";
import { isMessageIdShape } from "../common/ids.ts";
import type { QueueOffset } from "../common/offsets.ts";
import type { ClusterInfo, TopicConfig, TopicRouteData } from "../protocol/responses.ts";
import type { GroupConfig, GroupConfigUpdateInput } from "../protocol/group-config.ts";
import { type BrokerTarget, type ClusterGroupDetail, type ClusterTopicDetail, type GroupSummary, fanOut, mergeGroupDetails, mergeGroupLists, mergeTopicDetails, mergeTopicLists } from "./admin-cluster.ts";
import { type ClientContext, type ClientOptions, checkGroupName, createClientContext } from "./client-context.ts";
import { type ReceivedMessage, toReceivedMessage } from "./message.ts";
import { masterBrokerId } from "./namesrv-route-resolver.ts";
import { type DeadLetterListOptions, type DeadLetterView, formatDeadLetterCursor, parseDeadLetterCursor, type RedriveOptions, type RedriveResult } from "./dead-letter-listing.ts";
import { type EndTransactionResult, mergeTransactionListings, type TransactionListing, type TransactionListOptions, transactionPageDefault } from "./transaction-listing.ts";
import { type CancelOutcome, mergeCancelOutcomes, mergeScheduledListings, type ScheduledListing, type ScheduledListOptions, scheduledPageDefault } from "./scheduled-listing.ts";

/** What `updateGroupConfig` may change (protocol/group-config.ts); what is left out keeps its value. */
export type GroupConfigSettings = Omit<GroupConfigUpdateInput, "group">;

export interface TopicOptions {
  /** Sets both queue counts; default 8. */
  readonly queues?: number;
  readonly readQueues?: number;
  readonly writeQueues?: number;
  /** Read 4, write 2, inherit 1; default 6. */
  readonly perm?: number;
  readonly order?: boolean;
  /** The topic's own dedup window in ms (exactly-once produce); 0: none even when the broker has one; absent: the broker's. */
  readonly dedupWindowMs?: number;
  /** Cluster mode: create on these broker groups only (default: every master of the cluster). */
  readonly brokerNames?: readonly string[];
}

export interface QueueOffsets {
  readonly queueId: number;
  readonly minOffset: QueueOffset;
  readonly maxOffset: QueueOffset;
  /** Cluster mode: the broker group holding the queue. */
  readonly brokerName?: string;
}

export interface QueueMessages {
  readonly minOffset: QueueOffset;
  readonly maxOffset: QueueOffset;
  /** Where the next read continues. */
  readonly nextOffset: QueueOffset;
  readonly messages: ReceivedMessage[];
}

export const topicQueuesDefault = 8;
export const readQueueMaxDefault = 32;
/** Named in readQueue's pulls, which commit nothing: the broker needs a group name, not a group. */
const browseGroup = "MQ_ADMIN_BROWSE";

export class Admin {
  private readonly context: ClientContext;

  constructor(options: ClientOptions = {}) {
    this.context = createClientContext(options, "admin");
  }

  /** Creates (or updates) the topic on every master of the cluster, or on `brokerNames`. */
  async createTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    checkGroupName(topic, "topic");
    const all = await this.targets();
    const names = options.brokerNames;
    for (const name of names ?? []) if (!all.some((target) => target.brokerName === name)) throw new MqError("BROKER_NOT_FOUND", { broker: name });
    const targets = names === undefined || names.length === 0 ? all : all.filter((target) => names.includes(target.brokerName));
    await fanOut(targets, (target) => this.context.broker.createTopic(target.address, topicFields(topic, options)), this.write());
    this.context.routes.invalidate(topic);
  }

  /** Changes the topic on every broker that has it; options not given keep each broker's value. */
  async updateTopic(topic: string, options: TopicOptions): Promise<void> {
    checkGroupName(topic, "topic");
    const holders = await fanOut(await this.targets(), (target) => this.context.broker.getTopic(target.address, topic), this.read("TOPIC_NOT_FOUND"));
    await fanOut(
      holders.map(({ target }) => target),
      (target) => {
        const current = holders.find((holder) => holder.target === target)!.value;
        const kept = { readQueues: current.readQueues, writeQueues: current.writeQueues, perm: current.perm, order: current.order, ...(current.dedupWindowMs === undefined ? {} : { dedupWindowMs: current.dedupWindowMs }) };
        return this.context.broker.updateTopic(target.address, topicFields(topic, { ...kept, ...options }));
      },
      this.write(),
    );
    this.context.routes.invalidate(topic);
  }

  async deleteTopic(topic: string): Promise<void> {
    await fanOut(await this.targets(), (target) => this.context.broker.deleteTopic(target.address, topic), { ...this.write(), absent: "TOPIC_NOT_FOUND" });
    this.context.routes.invalidate(topic);
  }

  /** The topic's config and per-queue offsets; in a cluster, queue counts of all its brokers added up. */
  async getTopic(topic: string): Promise<ClusterTopicDetail> {
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.getTopic(target.address, topic), this.read("TOPIC_NOT_FOUND"));
    return mergeTopicDetails(answers, this.clustered);
  }

  async listTopics(): Promise<TopicConfig[]> {
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.listTopics(target.address), this.read());
    return answers.length === 1 ? answers[0]!.value : mergeTopicLists(answers.map(({ value }) => value));
  }

  async listGroups(): Promise<GroupSummary[]> {
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.listGroups(target.address), this.read());
    return answers.length === 1 ? answers[0]!.value : mergeGroupLists(answers.map(({ value }) => value));
  }

  /** Members, subscriptions and, per queue, broker offset, group offset and lag. */
  async getGroup(group: string): Promise<ClusterGroupDetail> {
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.getGroup(target.address, group), this.read("GROUP_NOT_FOUND"));
    return mergeGroupDetails(answers, this.clustered);
  }

  /**
   * Creates or changes the group's configuration (maxReconsumeTimes, back-off, consumeEnable,
   * orderly) on every master; settings not given keep each broker's value. Answers the first
   * broker's result, durable there.
   */
  async updateGroupConfig(group: string, settings: GroupConfigSettings): Promise<GroupConfig> {
    checkGroupName(group, "group");
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.updateGroupConfig(target.address, { ...settings, group }), this.write());
    if (answers.length === 0) throw new MqError("BROKER_NOT_FOUND", { broker: "any master" });
    return answers[0]!.value;
  }

  /** The group's configuration (the defaults for a group nobody configured), as the first broker answering has it. */
  async getGroupConfig(group: string): Promise<GroupConfig> {
    checkGroupName(group, "group");
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.getGroupConfig(target.address, group), this.read());
    if (answers.length === 0) throw new MqError("BROKER_NOT_FOUND", { broker: "any master" });
    return answers[0]!.value;
  }

  /**
   * Moves the group's offsets on every queue of `topic` (on every broker that has it): to the
   * first message stored at or after a time (a number, ms since the epoch), to the oldest kept
   * message ("first") or past the last ("last"). Running members re-read their offsets.
   */
  async resetOffset(group: string, topic: string, to: number | "first" | "last"): Promise<Array<{ topic: string; queueId: number; queueOffset: QueueOffset; brokerName?: string }>> {
    const target = typeof to === "number" ? { to: "timestamp" as const, timestampMs: to } : { to };
    const answers = await fanOut(await this.targets(), (broker) => this.context.broker.resetOffset(broker.address, { consumerGroup: group, topic, ...target }), {
      ...this.write(),
      absent: "TOPIC_NOT_FOUND",
    });
    return answers.flatMap(({ target: broker, value }) => value.map((queue) => (this.clustered ? { ...queue, brokerName: broker.brokerName } : queue)));
  }

  /** In a cluster, `brokerName` picks the broker when the topic is on more than one. */
  async minOffset(topic: string, queueId: number, brokerName?: string): Promise<QueueOffset> {
    return this.context.broker.minOffset(await this.queueAddress(topic, brokerName), topic, queueId);
  }

  async maxOffset(topic: string, queueId: number, brokerName?: string): Promise<QueueOffset> {
    return this.context.broker.maxOffset(await this.queueAddress(topic, brokerName), topic, queueId);
  }

  /** The offset of the first message stored at or after `timestampMs`. */
  async offsetByTime(topic: string, queueId: number, timestampMs: number, brokerName?: string): Promise<QueueOffset> {
    return this.context.broker.searchOffset(await this.queueAddress(topic, brokerName), { topic, queueId, timestampMs });
  }

  /** min/max offsets of every queue of a topic (in a cluster, of every broker's queues). */
  async topicOffsets(topic: string): Promise<QueueOffsets[]> {
    return (await this.getTopic(topic)).queues.map(({ queueId, minOffset, maxOffset, brokerName }) => (brokerName === undefined ? { queueId, minOffset, maxOffset } : { brokerName, queueId, minOffset, maxOffset }));
  }

  /**
   * Up to `max` messages of one queue from `offset` (default: its oldest kept), read with no group
   * (nothing is committed): for browsing. An offset outside the queue is OFFSET_OUT_OF_RANGE.
   */
  async readQueue(topic: string, queueId: number, options: { offset?: number; max?: number; brokerName?: string } = {}): Promise<QueueMessages> {
    const address = await this.queueAddress(topic, options.brokerName);
    const offset = options.offset ?? (await this.context.broker.minOffset(address, topic, queueId));
    const pulled = await this.context.broker.pull(address, { consumerGroup: browseGroup, topic, queueId, queueOffset: offset, maxMessages: options.max ?? readQueueMaxDefault });
    if (pulled.status === "offset_moved") throw new MqError("OFFSET_OUT_OF_RANGE", { topic, queueId, offset, min: pulled.minOffset, max: pulled.maxOffset });
    return {
      minOffset: pulled.minOffset,
      maxOffset: pulled.maxOffset,
      // The broker moves nextOffset past entries it skipped (filtered or damaged): keep it.
      nextOffset: pulled.nextOffset,
      messages: pulled.messages.map(toReceivedMessage),
    };
  }

  /** A message by its msgId (producer-made) or offsetMsgId (broker-made); MESSAGE_NOT_FOUND if absent. */
  async viewMessage(id: string): Promise<ReceivedMessage> {
    if (!isMessageIdShape(id)) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "expected 32 hex characters, or 56 for an IPv6 broker's offsetMsgId" });
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.viewMessage(target.address, id.toUpperCase()), this.read("MESSAGE_NOT_FOUND"));
    const found = answers.find(({ value }) => value.length > 0);
    if (found === undefined) throw new MqError("MESSAGE_NOT_FOUND", { id });
    return toReceivedMessage(found.value[0]!);
  }

  /** Messages of `topic` carrying `key` (newest first, at most maxResults over all brokers). */
  async queryByKey(topic: string, key: string, options: { maxResults?: number; beginTimestampMs?: number; endTimestampMs?: number } = {}): Promise<ReceivedMessage[]> {
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.queryByKey(target.address, { topic, key, ...options }), this.read("TOPIC_NOT_FOUND"));
    if (answers.length === 1) return answers[0]!.value.map(toReceivedMessage);
    const found = answers.flatMap(({ value }) => value).sort((a, b) => b.storeTimestampMs - a.storeTimestampMs);
    return (options.maxResults === undefined ? found : found.slice(0, options.maxResults)).map(toReceivedMessage);
  }

  /**
   * A message's trace: every hop the brokers hold about it (published, stored, scheduled,
   * delivered, retried, dead-lettered, redriven, popped, acked, consumed, transaction end),
   * oldest first. `id` is a msgId, an offsetMsgId or a message key; `topic` names a trace topic
   * besides the brokers' own (where SDK clients were told to write). Empty when none is found.
   */
  async trace(id: string, options: { topic?: string } = {}): Promise<TraceHop[]> {
    if (id.length === 0 || id.length > messageKeyLengthMax) throw new MqError("INVALID_FIELD", { field: "id", reason: `must be 1..${messageKeyLengthMax} characters, got ${id.length}` });
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.queryTrace(target.address, { id, ...(options.topic === undefined ? {} : { topic: options.topic }) }), this.read());
    const hops = uniqueHops(answers.flatMap(({ value }) => value));
    // A publish hop read on one broker, its message stored on another: named by that one's stored hop.
    completePublishHops(hops, hops.flatMap((hop) => (hop.hop === "stored" && hop.offsetMsgId !== undefined ? [{ msgId: hop.msgId, offsetMsgId: hop.offsetMsgId, order: hop.storeTimeMs ?? hop.timeMs }] : [])));
    return sortTimeline(hops).slice(0, traceQueryHopsMax);
  }

  /**
   * Scheduled messages waiting for their delivery time, on every broker: counts per time bucket
   * and one page, earliest delivery first. Pass the answer's `next` as `after` for the next page.
   */
  async listScheduled(options: ScheduledListOptions = {}): Promise<ScheduledListing> {
    const { after, ...rest } = options;
    const fields = { ...rest, ...(after === undefined ? {} : { afterDeliverAtMs: after.deliverAtMs, afterMsgId: after.msgId.toUpperCase() }) };
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.listScheduled(target.address, fields), this.read());
    return mergeScheduledListings(answers.map(({ value }) => value), options.limit ?? scheduledPageDefault);
  }

  /**
   * Cancels a scheduled message by msgId before it is delivered: `cancelled` (durably: it will
   * not be delivered, even after a crash), `already-delivered`, or `unknown` to every broker.
   */
  async cancelScheduled(msgId: string): Promise<CancelOutcome> {
    if (!/^[0-9A-Fa-f]{32}$/.test(msgId)) throw new MqError("MESSAGE_ID_INVALID", { id: msgId, reason: "a msgId is 32 hex characters" });
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.cancelScheduled(target.address, msgId.toUpperCase()), this.write());
    return mergeCancelOutcomes(answers.map(({ value }) => value));
  }

  /**
   * Transactions left unresolved on every broker, oldest first, with producer group, topic, age
   * and check-backs: "pending" (default) or "exhausted" (checked transactionCheckMax times).
   * Pass the answer's `next` as `after` for the next page.
   */
  async listTransactions(options: TransactionListOptions = {}): Promise<TransactionListing> {
    const limit = options.limit ?? transactionPageDefault;
    const fields = { state: options.state ?? "pending", limit, ...(options.after === undefined ? {} : { afterTransactionId: options.after.toUpperCase() }) };
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.listTransactions(target.address, fields), this.read());
    return mergeTransactionListings(answers.map(({ value }) => value), limit);
  }

  /** Commits a pending or exhausted transaction by id: its message appears in its topic. Committing one already committed answers `already`. */
  commitTransaction(transactionId: string): Promise<EndTransactionResult> {
    return this.endTransaction(transactionId, "commit");
  }

  /** Rolls a pending or exhausted transaction back by id: its message is discarded. */
  rollbackTransaction(transactionId: string): Promise<EndTransactionResult> {
    return this.endTransaction(transactionId, "rollback");
  }

  private async endTransaction(transactionId: string, resolution: "commit" | "rollback"): Promise<EndTransactionResult> {
    const id = transactionId.toUpperCase();
    const answers = await fanOut(await this.targets(), (target) => this.context.broker.endTransaction(target.address, { transactionId: id, resolution }), { mode: "write", absent: "TRANSACTION_NOT_FOUND", logger: this.context.logger });
    return answers[0]!.value;
  }

  /**
   * One page of a group's dead letters (`%DLQ%<group>`), oldest first, each with why it failed:
   * origin topic and msgId, reconsume count, first and last failure time, the last consumer's
   * client id and error text. Pass the answer's `next` as `after` for the next page.
   */
  async listDeadLetters(group: string, options: DeadLetterListOptions = {}): Promise<{ entries: Array<DeadLetterView & { brokerName?: string }>; next?: string }> {
    checkGroupName(group, "group");
    const limit = options.limit ?? deadLetterPageDefault;
    const after = options.after === undefined ? undefined : parseDeadLetterCursor(options.after);
    const targets = await this.targets();
    const start = after?.brokerName === undefined || !this.clustered ? 0 : Math.max(0, targets.findIndex((target) => target.brokerName === after.brokerName));
    const entries: Array<DeadLetterView & { brokerName?: string }> = [];
    for (let index = start; index < targets.length; index++) {
      const target = targets[index]!;
      if (entries.length === limit) return { entries, next: formatDeadLetterCursor({ brokerName: target.brokerName, queueId: 0, queueOffset: 0 }) };
      const position = index === start && after !== undefined ? { afterQueueId: after.queueId, afterQueueOffset: after.queueOffset } : {};
      const { fromMs, toMs, msgId } = options;
      const page = await this.context.broker.listDeadLetters(target.address, { consumerGroup: group, fromMs, toMs, msgId, ...position, limit: limit - entries.length });
      entries.push(...page.entries.map((entry) => (this.clustered ? { ...entry, brokerName: target.brokerName } : entry)));
      if (page.next !== undefined) return { entries, next: formatDeadLetterCursor({ ...(this.clustered ? { brokerName: target.brokerName } : {}), ...page.next }) };
    }
    return { entries };
  }

  /**
   * Resends a group's dead letters — by id, by the time they entered the DLQ, or all — to their
   * origin topic or `toTopic`, at `ratePerSecond` at most; one result per entry: `resent` (with
   * the new msgId) or `failed` with the reason. An entry already redriven is not resent again
   * (its result says so) unless `force`; brokers remember this across restarts.
   */
  async redrive(group: string, options: RedriveOptions): Promise<RedriveResult[]> {
    checkGroupName(group, "group");
    const { ids, fromMs, toMs, all, toTopic, ratePerSecond, force } = options;
    if (ids === undefined && fromMs === undefined && toMs === undefined && all !== true) throw new MqError("INVALID_FIELD", { field: "ids", reason: "is required: name ids, a time range, or all" });
    const waitMs = redriveAnswerWaitMsMin + (ratePerSecond === undefined ? 0 : Math.ceil((redriveMessagesMax / ratePerSecond) * 1000));
    const results: Array<RedriveResult & { brokerName?: string }> = [];
    const missing = new Set(ids?.map((id) => id.toUpperCase()));
    // One broker after the other, so the rate holds for the whole redrive.
    for (const target of await this.targets()) {
      const answer = await this.context.broker.redriveDeadLetters(target.address, { consumerGroup: group, ids: ids === undefined ? undefined : [...ids], fromMs, toMs, all, toTopic, ratePerSecond, force }, waitMs);
      results.push(...answer.results.map((result) => (this.clustered ? { ...result, brokerName: target.brokerName } : result)));
      const stillMissing = new Set(answer.missing.map((id) => id.toUpperCase()));
      for (const id of [...missing]) if (!stillMissing.has(id)) missing.delete(id);
    }
    for (const id of missing) results.push({ id, status: "failed", reason: `not in the DLQ of group "${group}"` });
    return results;
  }

  /**
   * Where a topic lives, fresh from a NameServer (no cache). With one broker, the same shape
   * describing that broker (named by its address).
   */
  async getTopicRoute(topic: string): Promise<TopicRouteData> {
    if (this.context.namesrv !== undefined) return this.context.namesrv.topicRoute(topic);
    const [target] = await this.targets();
    const detail = await this.context.broker.getTopic(target!.address, topic);
    return {
      topic,
      queueDatas: [{ brokerName: target!.brokerName, readQueues: detail.readQueues, writeQueues: detail.writeQueues, perm: detail.perm, order: detail.order }],
      brokerDatas: [{ clusterName: "", brokerName: target!.brokerName, brokerAddrs: { [masterBrokerId]: target!.address } }],
    };
  }

  /** Every live broker as the NameServer sees it (cluster mode only). */
  async clusterInfo(): Promise<ClusterInfo> {
    if (this.context.namesrv === undefined) throw new MqError("BAD_REQUEST", { reason: "cluster info comes from a NameServer: connect with namesrv, not broker" });
    return this.context.namesrv.clusterInfo();
  }

  async close(): Promise<void> {
    await this.context.pool.close();
  }

  private get clustered(): boolean {
    return this.context.namesrv !== undefined;
  }

  /** The masters of the cluster (by name), or the one broker. */
  private async targets(): Promise<BrokerTarget[]> {
    if (this.context.namesrv === undefined) {
      const address = this.context.routes.brokerAddresses()[0];
      if (address === undefined) throw new MqError("BAD_REQUEST", { reason: "admin needs a broker address" });
      return [{ brokerName: address, address }];
    }
    const { brokers } = await this.context.namesrv.clusterInfo();
    return brokers
      .filter((broker) => broker.brokerId === Number(masterBrokerId))
      .map((broker) => ({ brokerName: broker.brokerName, address: broker.brokerAddr }))
      .sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  }

  /** The broker answering offset questions about one queue of `topic`. */
  private async queueAddress(topic: string, brokerName: string | undefined): Promise<string> {
    if (this.context.namesrv === undefined) return (await this.targets())[0]!.address;
    const route = await this.context.namesrv.topicRoute(topic);
    const names = route.queueDatas.map((queueData) => queueData.brokerName);
    const name = brokerName ?? (names.length === 1 ? names[0] : undefined);
    if (name === undefined) throw new MqError("BAD_REQUEST", { reason: `topic "${topic}" is on ${names.length} brokers (${names.join(", ")}): name one` });
    const addresses = route.brokerDatas.find((broker) => broker.brokerName === name)?.brokerAddrs;
    const address = addresses?.[masterBrokerId];
    if (address === undefined) throw new MqError("BROKER_NOT_FOUND", { broker: name });
    return address;
  }

  private read(absent?: "TOPIC_NOT_FOUND" | "GROUP_NOT_FOUND" | "MESSAGE_NOT_FOUND") {
    return { mode: "read" as const, absent, logger: this.context.logger };
  }

  private write() {
    return { mode: "write" as const, logger: this.context.logger };
  }
}

function topicFields(topic: string, options: TopicOptions) {
  const queues = options.queues ?? topicQueuesDefault;
  return {
    topic,
    readQueues: options.readQueues ?? queues,
    writeQueues: options.writeQueues ?? queues,
    perm: options.perm,
    order: options.order,
    ...(options.dedupWindowMs === undefined ? {} : { dedupWindowMs: options.dedupWindowMs }),
  };
}
