/**
 * Retry and dead letters of a failed message (issue 11, DESIGN §6): CONSUMER_SEND_BACK and pop's
 * failed deliveries come here. The failed record is read back from the CommitLog; with `n` its
 * failed deliveries so far (its RECONSUME_TIME before this one) and `max` the group's
 * maxReconsumeTimes (or the request's):
 *
 *   n < max   a copy goes to `%RETRY%<group>` with RECONSUME_TIME n + 1, as a scheduled message
 *             (through the message service's transforms: a timer record) due after the group's
 *             back-off for retry n (levels 3… of `messageDelayLevel`, or exponential);
 *   n ≥ max   a copy goes to `%DLQ%<group>` (perm 0) with the DLQ properties.
 *
 * So a message is delivered at most `1 + max` times. Each copy keeps the body, keys, tags, msgId
 * and user properties, and carries ORIGIN_MESSAGE_ID, RETRY_TOPIC (the origin topic), the first
 * and last failure times, the last consumer's client id and its error text.
 *
 * Idempotent, durably: a consumer that repeats a send-back (its answer was lost, or the broker
 * restarted in between) gets the first answer marked `duplicate`, and no second copy is stored.
 * The failure's key (sendBackKeyOf: CommitLog offset of the failed record, its reconsume count n,
 * the group) travels in the copy as SEND_BACK_KEY, which the index holds from the moment the copy
 * is stored (scheduled or not) and recovery rebuilds after a crash; a send-back looks it up before
 * storing. The last `sendBacksRememberedMax` answers are also kept in memory, which covers a
 * repeat that arrives while the first copy's store is still under way.
 */

import type { Clock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { sendBacksRememberedMax } from "../common/limits.ts";
import type { StoredMessage } from "../common/message-record.ts";
import type { PhysicalOffset } from "../common/offsets.ts";
import { backoffDelayMs } from "../protocol/group-config.ts";
import type { SendBackResult } from "../protocol/responses.ts";
import type { BrokerContext } from "./broker-context.ts";
import type { OutgoingRecord } from "./message-transform.ts";
import { propertyNames } from "../common/message-properties.ts";
import { deadLetterTopicPrefix, systemTopics } from "../common/system-topics.ts";
import { type Failure, assertRetryOfGroup, deadLetterProperties, ensureDeadLetterTopic, ensureRetryTopic, failureProperties, sendBackKeyOf } from "./retry-topics.ts";

export interface SendBackRequest {
  readonly group: string;
  readonly physicalOffset: PhysicalOffset;
  readonly originMsgId: string;
  readonly originTopic: string;
  /** A delay level for this retry instead of the group's back-off. */
  readonly delayLevel?: number;
  readonly maxReconsumeTimes?: number;
  readonly clientId?: string;
  readonly errorText?: string;
}

/** A failure the broker itself saw (pop): the stored message, and how many deliveries failed. */
export interface DeadLetterRequest {
  readonly group: string;
  readonly message: StoredMessage;
  readonly originTopic: string;
  /** Failed deliveries, this one included. */
  readonly reconsumeTimes: number;
  readonly firstFailureMs?: number;
  readonly clientId?: string;
  readonly errorText: string;
}

const services = new WeakMap<BrokerContext, SendBackService>();

export class SendBackService {
  readonly counters = { retried: 0, deadLettered: 0, duplicates: 0 };
  /** Answers by "group|offset|n", oldest first (a Map keeps insertion order). */
  private readonly answered = new Map<string, SendBackResult | Promise<SendBackResult>>();
  private readonly clock: Clock;
  /**
   * The latest delivery time given to a retry copy of each msgId (bounded like `answered`). A
   * copy keeps its msgId, and a scheduled message's job is keyed by (msgId, delivery time): two
   * groups failing one message in the same millisecond would share a key, so the later is moved
   * on by a millisecond.
   */
  private readonly lastDueByMsgId = new Map<string, number>();

  private constructor(private readonly context: BrokerContext) {
    this.clock = context.clock;
  }

  static start(context: BrokerContext): SendBackService {
    const service = new SendBackService(context);
    services.set(context, service);
    return service;
  }

  static of(context: BrokerContext): SendBackService {
    const service = services.get(context);
    if (service === undefined) throw new MqError("INTERNAL", { reason: "the broker has no send-back service: SendBackService.start runs at broker start" });
    return service;
  }

  /** Stores the failed message's next copy (retry or DLQ) and answers where it went. Throws catalogue errors. */
  sendBack(request: SendBackRequest): SendBackResult | Promise<SendBackResult> {
    this.context.assertWritable();
    const message = this.context.store.getByPhysicalOffset(request.physicalOffset);
    if (message === undefined || message.msgId?.toUpperCase() !== request.originMsgId.toUpperCase()) {
      throw new MqError("MESSAGE_NOT_FOUND", { id: `${request.originMsgId} at offset ${request.physicalOffset}` });
    }
    assertRetryOfGroup(message, request.group);
    const key = sendBackKeyOf(request.group, request.physicalOffset, message.reconsumeTimes);
    const earlier = this.answered.get(key);
    if (earlier !== undefined) {
      this.counters.duplicates += 1;
      return earlier instanceof Promise ? earlier.then(duplicate) : duplicate(earlier);
    }
    const stored = this.context.store.queryBySendBackKey(key);
    if (stored !== undefined) {
      this.counters.duplicates += 1;
      return duplicate(answerOfCopy(stored, request.originMsgId));
    }
    const max = request.maxReconsumeTimes ?? this.context.groupConfigs.get(request.group).maxReconsumeTimes;
    const failure: Failure = {
      group: request.group,
      originTopic: request.originTopic,
      originMsgId: request.originMsgId,
      reconsumeTimes: message.reconsumeTimes + 1,
      nowMs: this.clock.nowMs(),
      sendBackKey: key,
      ...(request.clientId === undefined ? {} : { clientId: request.clientId }),
      ...(request.errorText === undefined ? {} : { errorText: request.errorText }),
    };
    const answer = message.reconsumeTimes >= max ? this.deadLetterCopy(message, failure) : this.retryCopy(message, failure, request.delayLevel);
    this.remember(key, answer);
    return answer;
  }

  /** Moves a message the broker saw fail (pop) to the group's DLQ. */
  deadLetter(request: DeadLetterRequest): SendBackResult | Promise<SendBackResult> {
    this.context.assertWritable();
    const failure: Failure = {
      group: request.group,
      originTopic: request.originTopic,
      originMsgId: request.message.msgId ?? "",
      reconsumeTimes: request.reconsumeTimes,
      nowMs: this.clock.nowMs(),
      errorText: request.errorText,
      ...(request.firstFailureMs === undefined ? {} : { firstFailureMs: request.firstFailureMs }),
      ...(request.clientId === undefined ? {} : { clientId: request.clientId }),
    };
    return this.deadLetterCopy(request.message, failure);
  }

  /** How long retry `reconsumeTimes` (0-based) of the group waits, in ms. */
  backoffMs(group: string, reconsumeTimes: number): number {
    return backoffDelayMs({ policy: this.context.groupConfigs.get(group).backoff, reconsumeTimes, delayLevelsMs: this.context.delayLevelsMs, random: this.context.random });
  }

  private retryCopy(message: StoredMessage, failure: Failure, delayLevel: number | undefined): SendBackResult | Promise<SendBackResult> {
    const topic = ensureRetryTopic(this.context, failure.group).topic;
    const dueMs = failure.nowMs + (delayLevel === undefined ? this.backoffMs(failure.group, failure.reconsumeTimes - 1) : this.context.delayLevelsMs[Math.min(delayLevel, this.context.delayLevelsMs.length) - 1]!);
    const delay = { deliverAtMs: this.uniqueDue(failure.originMsgId, dueMs) };
    const record: OutgoingRecord = { ...copyOf(message, topic, failureProperties(message, failure), failure.reconsumeTimes), ...delay };
    const stored = this.context.messages.storeOwn(record);
    const answer = (deliverAtMs: number | undefined): SendBackResult => {
      this.counters.retried += 1;
      return { outcome: "retry", topic, msgId: failure.originMsgId, reconsumeTimes: failure.reconsumeTimes, ...(deliverAtMs === undefined ? {} : { deliverAtMs }) };
    };
    return stored instanceof Promise ? stored.then((result) => answer(result.delivery?.deliverAtMs)) : answer(stored.delivery?.deliverAtMs);
  }

  private deadLetterCopy(message: StoredMessage, failure: Failure): SendBackResult | Promise<SendBackResult> {
    const topic = ensureDeadLetterTopic(this.context, failure.group).topic;
    const record = copyOf(message, topic, deadLetterProperties(message, failure), failure.reconsumeTimes);
    const stored = this.context.messages.storeOwn(record);
    const answer = (): SendBackResult => {
      this.counters.deadLettered += 1;
      this.context.logger.info(`Message "${failure.originMsgId}" of "${failure.originTopic}" failed ${failure.reconsumeTimes} times in group "${failure.group}": moved to "${topic}"`);
      return { outcome: "dead-letter", topic, msgId: failure.originMsgId, reconsumeTimes: failure.reconsumeTimes };
    };
    return stored instanceof Promise ? stored.then(answer) : answer();
  }

  private uniqueDue(msgId: string, dueMs: number): number {
    const last = this.lastDueByMsgId.get(msgId);
    const unique = last !== undefined && dueMs <= last ? last + 1 : dueMs;
    this.lastDueByMsgId.delete(msgId);
    this.lastDueByMsgId.set(msgId, unique);
    if (this.lastDueByMsgId.size > sendBacksRememberedMax) this.lastDueByMsgId.delete(this.lastDueByMsgId.keys().next().value!);
    return unique;
  }

  private remember(key: string, answer: SendBackResult | Promise<SendBackResult>): void {
    this.answered.set(key, answer);
    // A failed store is forgotten, so that the consumer's retry of it is tried again.
    if (answer instanceof Promise) answer.then((result) => this.answered.set(key, result), () => this.answered.delete(key));
    if (this.answered.size > sendBacksRememberedMax) this.answered.delete(this.answered.keys().next().value!);
  }
}

function duplicate(answer: SendBackResult): SendBackResult {
  return { ...answer, duplicate: true };
}

/** The answer a send-back gave when it stored `copy`: a retry copy (its timer record, or delivered) or a DLQ entry. */
function answerOfCopy(copy: StoredMessage, originMsgId: string): SendBackResult {
  const scheduled = copy.topic === systemTopics.wheelTimer;
  const topic = scheduled ? (copy.properties[propertyNames.realTopic] ?? copy.topic) : copy.topic;
  if (topic.startsWith(deadLetterTopicPrefix)) return { outcome: "dead-letter", topic, msgId: originMsgId, reconsumeTimes: copy.reconsumeTimes };
  const deliverAt = copy.properties[scheduled ? propertyNames.timerDeliverMs : propertyNames.timerOutMs];
  return { outcome: "retry", topic, msgId: originMsgId, reconsumeTimes: copy.reconsumeTimes, ...(deliverAt === undefined ? {} : { deliverAtMs: Number(deliverAt) }) };
}

/** The next copy of a stored message in `topic` queue 0. */
function copyOf(message: StoredMessage, topic: string, properties: Record<string, string>, reconsumeTimes: number): OutgoingRecord {
  return {
    topic,
    queueId: 0,
    body: message.body,
    ...(message.tags === undefined ? {} : { tags: message.tags }),
    ...(message.keys.length === 0 ? {} : { keys: message.keys }),
    ...(message.msgId === undefined ? {} : { msgId: message.msgId }),
    properties,
    flag: message.flag,
    bornTimestampMs: message.bornTimestampMs,
    bornHost: message.bornHost,
    reconsumeTimes,
  };
}
