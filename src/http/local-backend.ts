/**
 * The REST backend when the broker runs in this process: every admin action runs the broker's
 * own processor in-process (`callProcessor`), so REST and TCP share one implementation of each
 * rule and error; sends go through the MessageSender, browsing and lookups read the store, and
 * HTTP consumption uses the broker's one PopService — the same one its TCP POP_MESSAGE serves, so
 * HTTP and SDK consumers of a group see one set of in-flight messages.
 */

import type { BrokerContext } from "../broker/broker-context.ts";
import { PopService } from "../broker/pop-service.ts";
import * as admin from "../broker/processors/admin-processor.ts";
import * as offsets from "../broker/processors/offset-processor.ts";
import { type ReceivedMessage, toReceivedMessage } from "../client/message.ts";
import { MqError } from "../common/errors.ts";
import { decodeOffsetMsgId, encodeOffsetMsgId } from "../common/ids.ts";
import { decodeRecord, type StoredMessage } from "../common/message-record.ts";
import type { Reply } from "../net/handlers.ts";
import { readResult } from "../protocol/response-body.ts";
import type { ClusterInfo, GroupDetail, TopicConfig } from "../protocol/responses.ts";
import { MessageSender } from "./message-sender.ts";
import type { ClusterBroker, ClusterView, GroupSummary, MqBackend, OutgoingMessage, QueuePage, ReceiveRequest, ReceivedEntry, ResetTarget, SendAnswer, TopicDescription } from "./mq-backend.ts";

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

const emptyBody = new Uint8Array(0);

export class LocalBackend implements MqBackend {
  readonly kind = "local";
  readonly pop: PopService;
  private readonly broker: BrokerContext;
  private readonly sender: MessageSender;

  constructor(private readonly options: LocalBackendOptions) {
    this.broker = options.broker;
    this.pop = PopService.of(options.broker);
    this.sender = new MessageSender(options.broker);
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
      brokerAddr: `${this.broker.advertisedHost}:${this.broker.port}`,
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

  createTopic(input: { topic: string; queues?: number; perm: number; order: boolean }): TopicDescription {
    const queues = input.queues ?? this.broker.config.defaultTopicQueues;
    this.call(admin.createTopic, { topic: input.topic, readQueues: queues, writeQueues: queues, perm: input.perm, order: input.order });
    return this.describeTopic(input.topic);
  }

  /** A topic's settings, where it lives (this broker) and each queue's offsets. */
  describeTopic(topic: string): TopicDescription {
    const detail = this.call(admin.getTopic, { topic }) as unknown as Omit<TopicDescription, "route">;
    const address = `${this.broker.advertisedHost}:${this.broker.port}`;
    const { brokerName, brokerId } = this.options.identity;
    return { ...detail, route: { brokers: [{ brokerName, brokerId, address, readQueues: detail.readQueues, writeQueues: detail.writeQueues, perm: detail.perm }] } };
  }

  deleteTopic(topic: string): void {
    this.call(admin.deleteTopic, { topic });
  }

  send(topic: string, messages: readonly OutgoingMessage[]): SendAnswer[] | Promise<SendAnswer[]> {
    return this.sender.send(topic, messages);
  }

  browse(topic: string, queueId: number, options: { offset?: number; max: number }): QueuePage {
    const config = this.broker.topics.require(topic);
    const queues = Math.max(config.readQueues, config.writeQueues);
    if (queueId >= queues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues });
    const store = this.broker.store;
    const minOffset = store.minOffset(topic, queueId);
    const maxOffset = store.maxOffset(topic, queueId);
    const offset = options.offset ?? minOffset;
    if (offset < minOffset || offset > maxOffset) throw new MqError("OFFSET_OUT_OF_RANGE", { topic, queueId, offset, min: minOffset, max: maxOffset });
    const result = store.getMessages({ topic, queueId, offset, maxCount: options.max });
    const messages = result.status === "found" ? result.messages.map((read) => toReceivedMessage(decodeRecord(result.buffer, read.position))) : [];
    // Past damaged entries too: the reader's nextOffset always moves past what it examined.
    const moved = result.status === "found" || result.status === "no_matched_message";
    return { minOffset, maxOffset, nextOffset: moved ? result.nextOffset : offset, messages };
  }

  /** An offsetMsgId of this broker is read at its CommitLog offset; anything else is tried as a producer msgId. */
  messageById(id: string): ReceivedMessage {
    const { store, advertisedHost, port } = this.broker;
    let found: StoredMessage | undefined;
    const thisBroker = encodeOffsetMsgId({ host: advertisedHost, port, physicalOffset: 0 }).slice(0, 16);
    if (id.slice(0, 16).toUpperCase() === thisBroker) {
      try {
        const { physicalOffset } = decodeOffsetMsgId(id);
        found = physicalOffset < store.commitLog.writePosition ? store.getByPhysicalOffset(physicalOffset) : undefined;
      } catch {
        // Not a valid offset of this broker: it may still be a msgId.
      }
    }
    found ??= store.queryByMsgId(id);
    if (found === undefined) throw new MqError("MESSAGE_NOT_FOUND", { id });
    return toReceivedMessage(found);
  }

  messagesByKey(topic: string, key: string, max: number): ReceivedMessage[] {
    this.broker.topics.require(topic);
    return this.broker.store.queryByKey(topic, key, max).map(toReceivedMessage);
  }

  listGroups(): GroupSummary[] {
    return (this.call(admin.listGroups, {}) as { groups: GroupSummary[] }).groups;
  }

  group(group: string): GroupDetail {
    return this.call(admin.getGroup, { consumerGroup: group }) as unknown as GroupDetail;
  }

  resetOffset(group: string, topic: string, to: ResetTarget): { queues: Array<{ topic: string; queueId: number; queueOffset: number }> } {
    const target = typeof to === "number" ? { to: "timestamp", timestampMs: to } : { to };
    return this.call(offsets.resetOffset, { consumerGroup: group, topic, force: true, ...target }) as { queues: Array<{ topic: string; queueId: number; queueOffset: number }> };
  }

  async receive(request: ReceiveRequest): Promise<ReceivedEntry[]> {
    const popped = await this.pop.receive({
      group: request.group,
      topic: request.topic,
      maxMessages: request.max,
      invisibleMs: request.invisibleMs,
      waitMs: request.waitMs,
      filter: request.tags === undefined ? undefined : { expressionType: "TAG", expression: request.tags },
      signal: request.signal,
    });
    return popped.map((item) => ({ message: toReceivedMessage(item.message), receiptHandle: item.receiptHandle, invisibleUntilMs: item.invisibleUntilMs, deliveryAttempt: item.deliveryAttempt }));
  }

  ack(group: string, topic: string | undefined, receiptHandle: string): void {
    this.pop.ack(group, topic, receiptHandle);
  }

  nack(group: string, topic: string | undefined, receiptHandle: string, delayMs: number): void {
    this.pop.changeInvisibleTime(group, topic, receiptHandle, delayMs);
  }

  /** Answers held receives (empty), so closing the HTTP server waits for nothing. */
  async close(): Promise<void> {
    this.pop.stop();
  }

  /**
   * Runs a broker processor in-process and returns its result map, so REST and TCP share one
   * implementation of each admin action (and its errors) instead of two that could drift.
   */
  private call(handler: (context: BrokerContext, request: never) => Reply, fields: Record<string, unknown>): Record<string, unknown> {
    const reply = handler(this.broker, { fields } as never);
    return readResult({ header: reply.fields ?? {}, body: reply.body ?? emptyBody });
  }
}
