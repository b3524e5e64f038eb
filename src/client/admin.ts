/**
 * Admin: topics, consumer groups, offsets and message lookup, one request each. Needs no
 * `start`: connections open on first use; `close()` ends them. Results are the broker's response
 * shapes (protocol/responses.ts); messages come back as ReceivedMessage, like a consumer's.
 */

import { MqError } from "../common/errors.ts";
import { isMessageIdShape } from "../common/ids.ts";
import type { GroupDetail, TopicConfig, TopicDetail } from "../protocol/responses.ts";
import { type ClientContext, type ClientOptions, checkGroupName, createClientContext } from "./client-context.ts";
import { type ReceivedMessage, toReceivedMessage } from "./message.ts";

export interface TopicOptions {
  /** Sets both queue counts; default 8. */
  readonly queues?: number;
  readonly readQueues?: number;
  readonly writeQueues?: number;
  /** Read 4, write 2, inherit 1; default 6. */
  readonly perm?: number;
  readonly order?: boolean;
}

export interface QueueOffsets {
  readonly queueId: number;
  readonly minOffset: number;
  readonly maxOffset: number;
}

export const topicQueuesDefault = 8;

export class Admin {
  private readonly context: ClientContext;
  private readonly address: string;

  constructor(options: ClientOptions = {}) {
    this.context = createClientContext(options, "admin");
    // Admin requests go to one broker until the NameServer lets them fan out to a cluster.
    const addresses = this.context.routes.brokerAddresses();
    if (addresses.length === 0) throw new MqError("BAD_REQUEST", { reason: "admin needs a broker address" });
    this.address = addresses[0]!;
  }

  async createTopic(topic: string, options: TopicOptions = {}): Promise<void> {
    checkGroupName(topic, "topic");
    await this.context.broker.createTopic(this.address, topicFields(topic, options));
  }

  async updateTopic(topic: string, options: TopicOptions): Promise<void> {
    checkGroupName(topic, "topic");
    const current = await this.getTopic(topic);
    await this.context.broker.updateTopic(this.address, topicFields(topic, { readQueues: current.readQueues, writeQueues: current.writeQueues, perm: current.perm, order: current.order, ...options }));
    this.context.routes.invalidate(topic);
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.context.broker.deleteTopic(this.address, topic);
    this.context.routes.invalidate(topic);
  }

  getTopic(topic: string): Promise<TopicDetail> {
    return this.context.broker.getTopic(this.address, topic);
  }

  listTopics(): Promise<TopicConfig[]> {
    return this.context.broker.listTopics(this.address);
  }

  listGroups() {
    return this.context.broker.listGroups(this.address);
  }

  /** Members, subscriptions and, per queue, broker offset, group offset and lag. */
  getGroup(group: string): Promise<GroupDetail> {
    return this.context.broker.getGroup(this.address, group);
  }

  /**
   * Moves the group's offsets on every queue of `topic`: to the first message stored at or after
   * a time (a number, ms since the epoch), to the oldest kept message ("first") or past the last
   * ("last"). Running members of the group are told to re-read their offsets.
   */
  resetOffset(group: string, topic: string, to: number | "first" | "last") {
    const target = typeof to === "number" ? { to: "timestamp" as const, timestampMs: to } : { to };
    return this.context.broker.resetOffset(this.address, { consumerGroup: group, topic, ...target });
  }

  minOffset(topic: string, queueId: number): Promise<number> {
    return this.context.broker.minOffset(this.address, topic, queueId);
  }

  maxOffset(topic: string, queueId: number): Promise<number> {
    return this.context.broker.maxOffset(this.address, topic, queueId);
  }

  /** The offset of the first message stored at or after `timestampMs`. */
  offsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.context.broker.searchOffset(this.address, { topic, queueId, timestampMs });
  }

  /** min/max offsets of every queue of a topic. */
  async topicOffsets(topic: string): Promise<QueueOffsets[]> {
    return (await this.getTopic(topic)).queues.map(({ queueId, minOffset, maxOffset }) => ({ queueId, minOffset, maxOffset }));
  }

  /** A message by its msgId (producer-made) or offsetMsgId (broker-made); MESSAGE_NOT_FOUND if absent. */
  async viewMessage(id: string): Promise<ReceivedMessage> {
    if (!isMessageIdShape(id)) throw new MqError("MESSAGE_ID_INVALID", { id, reason: "expected 32 hex characters" });
    const found = await this.context.broker.viewMessage(this.address, id.toUpperCase());
    if (found.length === 0) throw new MqError("MESSAGE_NOT_FOUND", { id });
    return toReceivedMessage(found[0]!);
  }

  /** Messages of `topic` carrying `key` (newest index entries first, at most maxResults). */
  async queryByKey(topic: string, key: string, options: { maxResults?: number; beginTimestampMs?: number; endTimestampMs?: number } = {}): Promise<ReceivedMessage[]> {
    const found = await this.context.broker.queryByKey(this.address, { topic, key, ...options });
    return found.map(toReceivedMessage);
  }

  async close(): Promise<void> {
    await this.context.pool.close();
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
  };
}
