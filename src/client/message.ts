/**
 * The messages users hand to a Producer and receive from a consumer.
 *
 * Outgoing: a topic, a body (a string is sent as UTF-8) and optional tags, keys, user properties,
 * a sharding key (ordered sends pick the queue by its hash) and a delay. `prepareMessage` checks
 * it by the broker's own rules before any request goes out, so a bad message fails at once with
 * the catalogue error and is never retried.
 *
 * Received: decoded from the CommitLog record the broker sent (record-stream.ts). `body` is a view
 * into the pulled response, `properties` holds every stored property (system ones included, under
 * their upper-case names), and `offsetMsgId` is derived from the record's store host and physical
 * offset exactly as the broker makes it.
 */

import { MqError } from "../common/errors.ts";
import { encodeOffsetMsgId } from "../common/ids.ts";
import { parseIpAddress, splitHostPort } from "../common/ip-address.ts";
import { type StoredMessage, numberToIpv4 } from "../common/message-record.ts";
import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";
import { propertyNames } from "../common/message-properties.ts";
import { delayLevelMax } from "../protocol/limits.ts";
import { checkMessage } from "../protocol/message-check.ts";
import { RecordView } from "../protocol/record-view.ts";

export interface ProducerMessage {
  readonly topic: string;
  readonly body: string | Uint8Array;
  readonly tags?: string;
  /** Business keys, indexed by the broker (query by key). One string is one key. */
  readonly keys?: string | readonly string[];
  readonly properties?: Readonly<Record<string, string>>;
  /** Messages with one sharding key go to one queue, in order (when no selector is given). */
  readonly shardingKey?: string;
  /**
   * A delay level of the broker's table (`messageDelayLevel`, default RocketMQ's 18 levels
   * 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); 0 or absent sends at once; above
   * the last level is the last.
   */
  readonly delayLevel?: number;
  /** The delivery time: a Date or ms since the epoch. A time already past is delivered at once. */
  readonly deliverAt?: Date | number;
  /** The delivery time as ms since the epoch (the same as `deliverAt`). */
  readonly deliverAtMs?: number;
  /** A delay the broker turns into a delivery time on its own clock (so this host's clock does not matter). */
  readonly delayMs?: number;
  /**
   * The id a broker's dedup window knows the message by, per topic, instead of its msgId: a
   * second send with the same key within the window is not stored and answers `duplicate: true`
   * with the original's ids and offsets. The SDK's own retries need none (they keep the msgId).
   */
  readonly dedupKey?: string;
}

/** A batch entry: like a message (each with its own delivery time, if any), with the topic given once for the whole batch. */
export type BatchMessage = Omit<ProducerMessage, "topic"> & { readonly topic?: string };

export interface SendResult {
  /** The producer-made id (ip + pid + instance hash + time + counter). */
  readonly msgId: string;
  /** The broker-made id (store host + CommitLog offset); finds the record directly. */
  readonly offsetMsgId: string;
  readonly topic: string;
  readonly queueId: number;
  /** The message's offset in its queue; 0 for a scheduled message (it takes one when delivered). */
  readonly queueOffset: QueueOffset;
  /** A message sent with a delivery time: that time (ms since the epoch). */
  readonly deliverAtMs?: number;
  /** A message sent with a delivery time: true while it waits for it; false when the time had passed and it was delivered at once. */
  readonly scheduled?: boolean;
  /** The broker's dedup window had this message stored already: nothing was stored, and the ids and offsets are the original's. */
  readonly duplicate?: boolean;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: QueueOffset;
  readonly msgId: string;
  readonly offsetMsgId: string;
  readonly body: Uint8Array;
  readonly tags: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly bornTimestampMs: number;
  readonly storeTimestampMs: number;
  /** Deliveries before this one that failed (0 on a first delivery; counted by the broker on each send-back). */
  readonly reconsumeTimes: number;
  /** The topic the message was sent to: differs from `topic` on a retried message (topic `%RETRY%<group>`). */
  readonly originTopic: string;
  /** The producer's msgId of the message as first sent: the same on every retry of it. */
  readonly originMsgId: string;
  /** "ip:port" of the producer that sent it. */
  readonly bornHost: string;
  /** "ip:port" of the broker that stored it. */
  readonly storeHost: string;
  /** Bytes of the whole stored record (header, body, topic, properties). */
  readonly storeSize: number;
  /** The broker group a consumer pulled it from (queue ids repeat across brokers); unset on lookups. */
  readonly brokerName?: string | undefined;
  /** The body decoded as UTF-8. */
  text(): string;
}

/** A message checked and encoded for the wire: what SEND_MESSAGE and SEND_BATCH carry. */
export interface PreparedMessage {
  readonly topic: string;
  readonly body: Uint8Array;
  readonly tags: string | undefined;
  readonly keys: string[] | undefined;
  readonly properties: Record<string, string> | undefined;
  readonly shardingKey: string | undefined;
  readonly delayLevel: number | undefined;
  readonly deliverAtMs: number | undefined;
  readonly delayMs: number | undefined;
  readonly dedupKey: string | undefined;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Checks a message by the broker's own rules (protocol/message-check.ts); throws the catalogue error the broker would. */
export function prepareMessage(message: ProducerMessage | BatchMessage, topic = message.topic): PreparedMessage {
  const body = typeof message.body === "string" ? textEncoder.encode(message.body) : message.body;
  const keys = message.keys === undefined ? undefined : typeof message.keys === "string" ? [message.keys] : [...message.keys];
  let properties = message.properties === undefined ? undefined : { ...message.properties };
  if (message.shardingKey !== undefined) properties = { ...properties, [propertyNames.shardingKey]: message.shardingKey };
  const tags = message.tags;
  const dedupKey = message.dedupKey;
  checkMessage({ topic: topic as string, body, tags, keys, properties, dedupKey });
  const delayLevel = "delayLevel" in message ? message.delayLevel : undefined;
  if (delayLevel !== undefined && (!Number.isInteger(delayLevel) || delayLevel < 0 || delayLevel > delayLevelMax)) {
    throw new MqError("INVALID_FIELD", { field: "delayLevel", reason: `must be an integer in 0..${delayLevelMax}, got ${delayLevel}` });
  }
  const deliverAt = message.deliverAt ?? message.deliverAtMs;
  const deliverAtMs = deliverAt instanceof Date ? deliverAt.getTime() : deliverAt;
  if (deliverAtMs !== undefined && (!Number.isSafeInteger(deliverAtMs) || deliverAtMs < 0)) {
    throw new MqError("INVALID_FIELD", { field: "deliverAt", reason: `must be a Date or a time in ms since the epoch, got ${String(deliverAt)}` });
  }
  const delayMs = message.delayMs;
  if (delayMs !== undefined && (!Number.isSafeInteger(delayMs) || delayMs < 1)) {
    throw new MqError("INVALID_FIELD", { field: "delayMs", reason: `must be an integer of at least 1 (ms), got ${delayMs}` });
  }
  return { topic: topic as string, body, tags, keys, properties, shardingKey: message.shardingKey, delayLevel, deliverAtMs, delayMs, dedupKey };
}

/**
 * The message handed to users, built from a decoded record. A class of getters over the record
 * rather than an object literal: the record is read lazily (protocol/record-view.ts), so what the
 * application never reads — properties, tags, keys, the offsetMsgId's hex — is never decoded,
 * and `text()` is shared. This runs once per consumed message.
 */
export class ConsumedMessage implements ReceivedMessage {
  readonly brokerName: string | undefined;
  private readonly stored: StoredMessage;
  /** "host:port" the message was pulled from: the id host of a record whose store host is 0.0.0.0 (an IPv6 broker). */
  private readonly brokerAddress: string | undefined;
  private offsetMsgIdCache: string | undefined;

  constructor(stored: StoredMessage, pulledFrom?: { brokerName: string; brokerAddress: string }) {
    this.stored = stored;
    this.brokerName = pulledFrom?.brokerName;
    this.brokerAddress = pulledFrom?.brokerAddress;
  }

  get topic(): string {
    return this.stored.topic;
  }

  get queueId(): number {
    return this.stored.queueId;
  }

  get queueOffset(): QueueOffset {
    return this.stored.queueOffset;
  }

  get body(): Uint8Array {
    return this.stored.body;
  }

  get tags(): string | undefined {
    return this.stored.tags;
  }

  get keys(): readonly string[] {
    return this.stored.keys;
  }

  get properties(): Readonly<Record<string, string>> {
    return this.stored.properties;
  }

  get bornTimestampMs(): number {
    return this.stored.bornTimestampMs;
  }

  get storeTimestampMs(): number {
    return this.stored.storeTimestampMs;
  }

  get reconsumeTimes(): number {
    return this.stored.reconsumeTimes;
  }

  get bornHost(): string {
    return `${numberToIpv4(this.stored.bornHost.ip)}:${this.stored.bornHost.port}`;
  }

  get storeHost(): string {
    return `${numberToIpv4(this.stored.storeHost.ip)}:${this.stored.storeHost.port}`;
  }

  get storeSize(): number {
    return this.stored.storeSize;
  }

  get originTopic(): string {
    return this.property(propertyNames.retryTopic) ?? this.topic;
  }

  get originMsgId(): string {
    return this.property(propertyNames.originMsgId) ?? this.msgId;
  }

  /** One property, read alone from a lazy record (record-view.ts) without decoding the others. */
  property(name: string): string | undefined {
    const stored = this.stored;
    return stored instanceof RecordView ? stored.property(name) : stored.properties[name];
  }

  /** The values of `names` into `out` at their indexes, in one pass over a lazy record's properties. */
  readProperties(names: readonly string[], out: Array<string | undefined>): void {
    const stored = this.stored;
    if (stored instanceof RecordView) stored.readProperties(names, out);
    else for (let index = 0; index < names.length; index++) out[index] = stored.properties[names[index]!];
  }

  /** The record's CommitLog offset: what a send-back names the failed message by. */
  get physicalOffset(): PhysicalOffset {
    return this.stored.physicalOffset;
  }

  get offsetMsgId(): string {
    this.offsetMsgIdCache ??= encodeOffsetMsgId({ host: this.idHost(), port: this.stored.storeHost.port, physicalOffset: this.stored.physicalOffset });
    return this.offsetMsgIdCache;
  }

  /** The record's store host; for 0.0.0.0 (an IPv6 broker's records) the IP of the broker it was pulled from. */
  private idHost(): string {
    const recorded = numberToIpv4(this.stored.storeHost.ip);
    if (this.stored.storeHost.ip !== 0 || this.brokerAddress === undefined) return recorded;
    const pulledFrom = splitHostPort(this.brokerAddress);
    return pulledFrom !== undefined && parseIpAddress(pulledFrom.host) !== undefined ? pulledFrom.host : recorded;
  }

  /** The producer's msgId; a record stored without one (another client) falls back to its offsetMsgId. */
  get msgId(): string {
    return this.stored.msgId ?? this.offsetMsgId;
  }

  text(): string {
    return textDecoder.decode(this.body);
  }

  toJSON(): Record<string, unknown> {
    const { topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, properties, bornTimestampMs, storeTimestampMs, reconsumeTimes, originTopic, originMsgId } = this;
    return { topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, properties, bornTimestampMs, storeTimestampMs, reconsumeTimes, originTopic, originMsgId, bodyBytes: this.body.byteLength };
  }
}

/** Turns a decoded record into the message handed to users. */
export function toReceivedMessage(stored: StoredMessage): ReceivedMessage {
  return new ConsumedMessage(stored);
}

/** A message a consumer pulled from a queue of broker group `brokerName`, at `brokerAddress`. */
export function toPulledMessage(stored: StoredMessage, pulledFrom: { brokerName: string; brokerAddress: string }): ReceivedMessage {
  return new ConsumedMessage(stored, pulledFrom);
}
