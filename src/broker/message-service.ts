/**
 * The one path of every message into the store, whatever carried it (DESIGN §14): TCP
 * processors, REST routes and in-process callers all come here.
 *
 *   validate (message-check.ts, the rules the SDK runs too) and refuse what is not served yet
 *   -> the topic: existing, or auto-created when `autoCreateTopics` is on; writable; queue in range
 *   -> transforms, in order (message-transform.ts: where delay, transaction, retry and dedup
 *      rewrite a message; none by default)
 *   -> append, then await durability as the flush mode says (answered in the same turn under
 *      async flush, after the group commit under sync flush; later: replication)
 *
 * A batch is validated whole before anything is appended and stored by one all-or-nothing
 * `putBatch`, so it fails with one error and leaves nothing behind for a retry to duplicate.
 * Messages the broker routes itself (REST) get a producer-style msgId and a queue here: their
 * sharding key's (the SDK's hash), else one round-robin queue shared by the request.
 *
 * Lookups by id and key live here too, so TCP and REST find the same messages the same way.
 *
 * The single send is the hot path: it allocates nothing beyond the store input its caller built
 * and the store's result.
 */

import { MqError } from "../common/errors.ts";
import { hash32 } from "../common/hash.ts";
import { MsgIdGenerator, decodeOffsetMsgId, offsetHex, offsetMsgIdPrefix } from "../common/ids.ts";
import { batchBytesMax, batchMessagesMax } from "../common/limits.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import { propertyNames } from "../common/message-properties.ts";
import { checkMessage } from "../protocol/message-check.ts";
import type { MessageStore } from "../store/message-store.ts";
import { type PutMessageInput, type PutOk, type PutResult, putStatusError } from "../store/put-message.ts";
import { isSystemTopic, restProducerGroup, systemTopics } from "../common/system-topics.ts";
import { isTraceOff } from "../protocol/trace-record.ts";
import type { Clock } from "../common/clock.ts";
import type { StoredMessage } from "../common/message-record.ts";
import type { DedupService } from "./dedup-service.ts";
import type { Delivery, MessageTransform, OutgoingRecord, SendOk } from "./message-transform.ts";
import { timerRecord } from "./scheduled-delivery.ts";
import type { TopicConfig, TopicConfigManager } from "./topic-config-manager.ts";

export type { Delivery, OutgoingRecord, SendOk } from "./message-transform.ts";

export interface MessageServiceOptions {
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  /** Where offsetMsgIds say this broker is. */
  readonly advertisedHost: string;
  readonly port: number;
  /** Throws when this broker takes no writes (a slave); runs before anything else of a send. */
  readonly assertWritable: () => void;
  /** Applied in order to every message after validation; default none. */
  readonly transforms?: readonly MessageTransform[];
  /** The broker's clock: a mixed batch's immediate messages are due now by it. */
  readonly clock: Clock;
  /** The dedup window (dedup-service.ts): a send it has seen is answered with its original. */
  readonly dedup?: DedupService;
}

/** A message whose queue and msgId the broker chooses (REST, in-process callers). */
export interface UnroutedMessage {
  readonly body: Uint8Array;
  readonly tags?: string;
  readonly keys?: readonly string[];
  readonly properties?: Record<string, string>;
  readonly shardingKey?: string;
  /** A delivery time, a broker-side delay or a delay level (scheduled-delivery.ts). */
  readonly deliverAtMs?: number;
  readonly delayMs?: number;
  readonly delayLevel?: number;
  readonly dedupKey?: string;
  /** A half message of a transaction (transactions.ts): ended later by its transaction id. */
  readonly transaction?: boolean;
  /** The producer group a half message is checked back with; default the REST group. */
  readonly producerGroup?: string;
}

export interface StoredAnswer {
  msgId: string;
  offsetMsgId: string;
  queueId: number;
  queueOffset: QueueOffset;
  /** For a message that asked for a delivery time: that time (ms since the epoch)... */
  deliverAtMs?: number;
  /** ...and whether it is still to come (false: it had passed, and the message was delivered at once). */
  scheduled?: boolean;
  /** The dedup window had it stored already: ids and offsets are the original's. */
  duplicate?: boolean;
  /** For a half message: the id that ends it (its offsetMsgId). */
  transactionId?: string;
}

export class MessageService {
  private readonly store: MessageStore;
  private readonly topics: TopicConfigManager;
  private readonly transforms: readonly MessageTransform[];
  /** This broker's address and port as the leading hex of every offsetMsgId it makes (16 digits for IPv4, 40 for IPv6). */
  private readonly offsetMsgIdPrefix: string;
  private msgIdGenerator: MsgIdGenerator | undefined;
  private readonly options: MessageServiceOptions;
  private roundRobin = 0;

  constructor(options: MessageServiceOptions) {
    this.options = options;
    this.store = options.store;
    this.topics = options.topics;
    this.transforms = options.transforms ?? [];
    this.offsetMsgIdPrefix = offsetMsgIdPrefix(options.advertisedHost, options.port);
  }

  /** One message whose queue the sender chose; the store's result now or once durable. Throws catalogue errors. */
  send(message: OutgoingRecord): SendOk | Promise<SendOk> {
    this.options.assertWritable();
    this.admit(message);
    this.writableQueue(message.topic, message.queueId);
    const original = this.options.dedup?.originalOf(message);
    if (original !== undefined) return this.duplicate(original);
    const record = this.transform(message);
    const stored = this.appendAndAwait(record);
    return stored instanceof Promise ? stored.then((result) => withDelivery(result, record)) : withDelivery(stored, record);
  }

  /**
   * A message the broker writes itself (a retry, a dead letter): its transforms apply (a retry's
   * delivery time makes it a timer record) but not the user's rules, so it may carry reserved
   * properties and go to a topic clients may not write (a DLQ). The caller made the topic.
   */
  storeOwn(message: OutgoingRecord): SendOk | Promise<SendOk> {
    this.options.assertWritable();
    const record = this.transform(message);
    const stored = this.appendAndAwait(record);
    return stored instanceof Promise ? stored.then((result) => withDelivery(result, record)) : withDelivery(stored, record);
  }

  /**
   * The one append-and-await of whatever the broker stores, sends and its own deliveries (a due
   * scheduled message) alike: the store's result now under async flush, once durable under sync
   * flush (later: once replicated). Nothing is checked here. Throws catalogue errors.
   */
  appendAndAwait(record: PutMessageInput): PutOk | Promise<PutOk> {
    if (this.store.options.flush === "sync") return this.store.put(record).then(okOrThrow);
    return okOrThrow(this.store.append(record));
  }

  /** Messages of one topic stored whole or not at all; one result each, in order. */
  async sendBatch(messages: readonly OutgoingRecord[]): Promise<SendOk[]> {
    this.options.assertWritable();
    if (messages.length === 0) throw new MqError("BATCH_EMPTY");
    const topic = messages[0]!.topic;
    let bytes = 0;
    for (const message of messages) {
      if (message.topic !== topic) throw new MqError("BATCH_MIXED_TOPICS", { first: topic, other: message.topic });
      bytes += message.body.byteLength;
    }
    if (messages.length > batchMessagesMax || bytes > batchBytesMax) throw new MqError("BATCH_TOO_LARGE", { bytes, messages: messages.length, limit: batchBytesMax });
    for (const message of messages) this.admit(message);
    for (const message of messages) this.writableQueue(topic, message.queueId);
    const originals = this.options.dedup?.originalsOf(messages);
    const fresh = originals === undefined ? messages : messages.filter((_, index) => originals[index] === undefined);
    let stored: SendOk[] = [];
    if (fresh.length > 0) {
      const records = sameTopic(fresh.map((message) => this.transform(message)), this.options.clock.nowMs());
      const batch = await this.store.putBatch(records);
      if (batch.status !== "ok") throw putStatusError(batch);
      stored = batch.results.map((result, index) => withDelivery(result, records[index]!));
    }
    if (originals === undefined) return stored;
    return this.withDuplicates(messages, originals, stored);
  }

  /** A batch's answers in order: stored ones from `stored`, the others from their originals (stored earlier or earlier in the batch). */
  private async withDuplicates(messages: readonly OutgoingRecord[], originals: readonly (StoredMessage | number | undefined)[], stored: readonly SendOk[]): Promise<SendOk[]> {
    const results: SendOk[] = [];
    let next = 0;
    for (let index = 0; index < messages.length; index++) {
      const original = originals[index];
      if (original === undefined) results.push(stored[next++]!);
      else if (typeof original === "number") results.push({ ...results[original]!, duplicate: { msgId: results[original]!.duplicate?.msgId ?? messages[original]!.msgId ?? "", queueId: results[original]!.duplicate?.queueId ?? messages[original]!.queueId } });
      else results.push(await this.duplicate(original));
    }
    return results;
  }

  /** The answer to a send the dedup window found stored: the original's, once the original is durable under the flush policy. */
  private duplicate(original: StoredMessage): SendOk | Promise<SendOk> {
    const result: SendOk = {
      status: "ok",
      physicalOffset: original.physicalOffset,
      queueOffset: original.queueOffset,
      size: original.storeSize,
      storeTimestampMs: original.storeTimestampMs,
      duplicate: { msgId: original.msgId ?? "", queueId: original.queueId },
    };
    if (this.store.options.flush !== "sync") return result;
    return this.store.commitLog.waitDurable(toPhysicalOffset(original.physicalOffset + original.storeSize)).then(() => result);
  }

  /** Stores messages the broker routes itself (one, or a batch stored whole); one answer each, in order. */
  publish(topic: string, messages: readonly UnroutedMessage[]): StoredAnswer[] | Promise<StoredAnswer[]> {
    this.options.assertWritable();
    if (messages.length === 0) throw new MqError("BATCH_EMPTY");
    const config = this.topics.forWrite(topic);
    this.roundRobin = (this.roundRobin + 1) >>> 0;
    const sharedQueueId = this.roundRobin % config.writeQueues;
    const records = messages.map((message): OutgoingRecord => {
      const sharded = message.shardingKey !== undefined;
      return {
        topic,
        queueId: sharded ? hash32(message.shardingKey!) % config.writeQueues : sharedQueueId,
        body: message.body,
        tags: message.tags === "" ? undefined : message.tags,
        keys: message.keys,
        msgId: this.msgIds().next(),
        properties: sharded ? { ...message.properties, [propertyNames.shardingKey]: message.shardingKey! } : message.properties,
        ...(message.deliverAtMs === undefined ? {} : { deliverAtMs: message.deliverAtMs }),
        ...(message.delayMs === undefined ? {} : { delayMs: message.delayMs }),
        ...(message.delayLevel === undefined ? {} : { delayLevel: message.delayLevel }),
        ...(message.dedupKey === undefined ? {} : { dedupKey: message.dedupKey }),
        ...(message.transaction === true ? { transactionPrepared: true, producerGroup: message.producerGroup ?? restProducerGroup } : {}),
      };
    });
    if (records.length > 1 && records.some((record) => record.transactionPrepared === true)) throw new MqError("BAD_REQUEST", { reason: "a batch cannot hold transactional messages: send each alone" });
    const answers = (results: readonly SendOk[]) => results.map((result, index) => this.answer(records[index]!, result));
    if (records.length > 1) return this.sendBatch(records).then(answers);
    const stored = this.send(records[0]!);
    return stored instanceof Promise ? stored.then((result) => answers([result])) : answers([stored]);
  }

  /**
   * A message the broker resends on an admin's behalf (a DLQ redrive): routed like `publish`,
   * validated and transformed like any send, then given the broker's own properties (which no
   * sender may set), and answered once stored under the flush policy.
   */
  async resend(topic: string, message: UnroutedMessage, brokerProperties: Readonly<Record<string, string>>): Promise<StoredAnswer> {
    this.options.assertWritable();
    const config = this.topics.forWrite(topic);
    this.roundRobin = (this.roundRobin + 1) >>> 0;
    const record: OutgoingRecord = { topic, queueId: this.roundRobin % config.writeQueues, body: message.body, tags: message.tags, keys: message.keys, msgId: this.msgIds().next(), properties: message.properties };
    this.admit(record);
    const stored = this.transform({ ...record, properties: { ...record.properties, ...brokerProperties } });
    return this.answer(record, okOrThrow(await this.store.put(stored)));
  }

  /** The offsetMsgId of the record at `physicalOffset` on this broker. */
  offsetMsgId(physicalOffset: PhysicalOffset): string {
    // Same as encodeOffsetMsgId, without its per-id buffers: the prefix is fixed, the offset < 2^53.
    return this.offsetMsgIdPrefix + offsetHex(physicalOffset);
  }

  /**
   * The stored record an id names: an offsetMsgId of this broker is read at its CommitLog
   * offset (verified); any id that finds nothing there is tried as a producer msgId through the
   * index. MESSAGE_NOT_FOUND when neither finds it; an offsetMsgId of this broker that cannot be
   * decoded and is no msgId either is MESSAGE_ID_INVALID.
   */
  findRecord(ids: { readonly offsetMsgId?: string; readonly msgId?: string }): Uint8Array {
    let record: Uint8Array | undefined;
    let invalidId: unknown;
    const { offsetMsgId, msgId } = ids;
    // Only this broker's own ids are read by offset: another broker's offset means nothing here.
    if (offsetMsgId !== undefined && offsetMsgId.length === this.offsetMsgIdPrefix.length + 16 && offsetMsgId.slice(0, this.offsetMsgIdPrefix.length).toUpperCase() === this.offsetMsgIdPrefix) {
      try {
        record = this.store.recordAt(decodeOffsetMsgId(offsetMsgId).physicalOffset);
      } catch (error) {
        invalidId = error; // not an offsetMsgId of any broker: it may still be a msgId
      }
    }
    for (const id of [msgId, offsetMsgId]) {
      if (record !== undefined || id === undefined) continue;
      const found = this.store.queryByMsgId(id);
      if (found !== undefined) record = this.store.recordAt(found.physicalOffset);
    }
    if (record === undefined && invalidId !== undefined) throw invalidId;
    if (record === undefined) throw new MqError("MESSAGE_NOT_FOUND", { id: msgId ?? offsetMsgId ?? "" });
    return record;
  }

  /** The stored records of `topic` carrying `key`, newest first, optionally within a store-time range. */
  findRecordsByKey(query: { readonly topic: string; readonly key: string; readonly max: number; readonly beginMs?: number; readonly endMs?: number }): Uint8Array[] {
    this.topics.require(query.topic);
    const records: Uint8Array[] = [];
    for (const message of this.store.queryByKey(query.topic, query.key, query.max, query.beginMs ?? 0, query.endMs ?? Number.MAX_SAFE_INTEGER)) {
      const record = this.store.recordAt(message.physicalOffset);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Validation, and the refusal of the system topics (their records are written by transforms and the broker only; the trace topic takes trace messages). */
  private admit(message: OutgoingRecord): void {
    checkMessage(message);
    // Timer records are written by the scheduled-delivery transform only: one sent there directly would never be delivered.
    if (message.topic === systemTopics.wheelTimer) throw new MqError("TOPIC_INVALID", { topic: message.topic, reason: "it is the system topic of scheduled messages; send with a delay or a delivery time instead" });
    // The trace topic takes trace messages (TRACE_ON=false, trace-record.ts): SDK clients record their hops there.
    if (message.topic === systemTopics.trace && isTraceOff(message.properties)) return;
    if (isSystemTopic(message.topic)) throw new MqError("TOPIC_INVALID", { topic: message.topic, reason: "it is a system topic of the broker; send to your own topic (with the transaction flag for a half message)" });
  }

  private writableQueue(topic: string, queueId: number): TopicConfig {
    const config = this.topics.forWrite(topic);
    if (queueId >= config.writeQueues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues: config.writeQueues });
    return config;
  }

  private transform(message: OutgoingRecord): OutgoingRecord {
    let record = message;
    for (const transform of this.transforms) record = transform(record);
    return record;
  }

  private answer(record: OutgoingRecord, result: SendOk): StoredAnswer {
    const answer: StoredAnswer = { msgId: result.duplicate?.msgId ?? record.msgId!, offsetMsgId: this.offsetMsgId(result.physicalOffset), queueId: result.duplicate?.queueId ?? record.queueId, queueOffset: result.queueOffset };
    if (result.duplicate !== undefined) answer.duplicate = true;
    if (result.delivery !== undefined) {
      answer.deliverAtMs = result.delivery.deliverAtMs;
      answer.scheduled = result.delivery.scheduled;
    }
    if (record.transactionPrepared === true) answer.transactionId = answer.offsetMsgId;
    return answer;
  }

  /** Made on first use: TCP senders bring their own msgIds. */
  private msgIds(): MsgIdGenerator {
    this.msgIdGenerator ??= new MsgIdGenerator({ ip: this.options.advertisedHost, pid: process.pid, instanceHash: (Math.random() * 2 ** 32) >>> 0 });
    return this.msgIdGenerator;
  }
}

/**
 * A batch is stored by one all-or-nothing putBatch, which takes one topic. When some of its
 * messages became timer records and others did not, the others become timer records due now:
 * the batch stays whole in rmq_sys_wheel_timer, and those are delivered at once by the timer
 * path (their answer says so: not scheduled).
 */
function sameTopic(records: OutgoingRecord[], nowMs: number): OutgoingRecord[] {
  const timers = records.filter((record) => record.topic === systemTopics.wheelTimer).length;
  if (timers === 0 || timers === records.length) return records;
  return records.map((record) => (record.topic === systemTopics.wheelTimer ? record : { ...timerRecord(record, nowMs), delivery: record.delivery ?? { deliverAtMs: nowMs, scheduled: false } }));
}

function withDelivery(result: PutOk, record: OutgoingRecord): SendOk {
  return record.delivery === undefined ? result : { ...result, delivery: record.delivery };
}

function okOrThrow(result: PutResult): PutOk {
  if (result.status !== "ok") throw putStatusError(result);
  return result;
}
