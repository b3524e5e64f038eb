/**
 * The SimpleConsumer (RocketMQ 5's): the application asks for messages when it wants them,
 * acks each one it has processed, and may postpone one (`changeInvisibleTime`). The broker
 * decides who gets which message (POP_MESSAGE): each message received is hidden from the
 * group's other consumers for `invisibleMs`, and delivered again if it is not acked by then. So
 * any number of SimpleConsumers (and REST receivers, which share the broker's view) may share a
 * group with no queue assignment, rebalance or heartbeat.
 *
 *   const consumer = new SimpleConsumer({ broker: "127.0.0.1:10911", group: "billing", topics: "orders" });
 *   await consumer.start();
 *   for (const message of await consumer.receive(16)) { handle(message); await consumer.ack(message); }
 *
 * Across a cluster a topic's queues live on several brokers; each broker pops its own queues. A
 * receive asks them in turn without waiting and returns the first non-empty answer; when none has
 * anything it holds a pop on every one of them at once and returns the first non-empty answer.
 * A held pop that answers after the receive was settled (another broker won, or the caller
 * aborted) hands its messages straight back (CHANGE_INVISIBLE_TIME 0), so they are not hidden
 * from the group for nothing.
 *
 * Filters run on the broker: tags by tag hash, SQL92 over each record's properties. Two tags can
 * share a hash, so a received message that does not match exactly is acked here and not handed
 * on (as RocketMQ re-checks).
 */

import { MqError } from "../common/errors.ts";
import { pullMessagesMax } from "../common/limits.ts";
import { invisibleTimeMsMax, longPollMsDefault, longPollMsMax, requestTimeoutMsDefault } from "../protocol/limits.ts";
import { type ClientContext, type ClientOptions, checkGroupName, createClientContext } from "./client-context.ts";
import { PoppedMessage, type SimpleMessage, decodeReceiptHandle, encodeReceiptHandle } from "./popped-message.ts";
import { acceptsEveryMessage, type MessageFilter } from "../protocol/filter/filter-expression.ts";
import { type SubscriptionExpression, compileSubscription, wireFilter } from "./subscription.ts";

export interface SimpleConsumerOptions extends ClientOptions {
  readonly group: string;
  /** Topics to receive from: a name, names, or topic → tag expression (`*`, `a || b`) or `{ sql }`. Or call `subscribe`. */
  readonly topics?: string | readonly string[] | Readonly<Record<string, SubscriptionExpression>>;
  /** How long a received message stays hidden from the group unless acked; default 30000 (RocketMQ 5's). */
  readonly invisibleMs?: number;
  /** How long a receive waits when nothing is available (long poll, capped by the broker's longPollMsMax); default 15000, 0 answers at once. */
  readonly awaitMs?: number;
}

export interface ReceiveOptions {
  readonly invisibleMs?: number;
  readonly waitMs?: number;
  /** Aborting ends the receive with ABORTED; messages the brokers hand out later are handed back. */
  readonly signal?: AbortSignal;
}

export const simpleInvisibleMsDefault = 30_000;
export const simpleReceiveMaxDefault = 16;

interface Target {
  readonly topic: string;
  readonly filter: MessageFilter;
  readonly brokerName: string;
}

type State = "new" | "running" | "stopped";

export class SimpleConsumer {
  readonly group: string;
  private readonly context: ClientContext;
  private readonly subscriptions = new Map<string, MessageFilter>();
  private readonly invisibleMs: number;
  private readonly awaitMs: number;
  /** Hand-backs and filtered-out acks still running: shutdown waits for them before closing. */
  private readonly background = new Set<Promise<unknown>>();
  private rotation = 0;
  private state: State = "new";

  constructor(options: SimpleConsumerOptions) {
    checkGroupName(options.group, "group");
    this.group = options.group;
    this.invisibleMs = checkDuration(options.invisibleMs, "invisibleMs", simpleInvisibleMsDefault, 1, invisibleTimeMsMax);
    this.awaitMs = checkDuration(options.awaitMs, "awaitMs", longPollMsDefault, 0, longPollMsMax);
    const topics = options.topics;
    if (typeof topics === "string") this.subscribe(topics);
    else if (Array.isArray(topics)) for (const topic of topics as readonly string[]) this.subscribe(topic);
    else if (topics !== undefined) for (const [topic, expression] of Object.entries(topics)) this.subscribe(topic, expression);
    this.context = createClientContext(options, `simple-consumer.${options.group}`);
  }

  get clientId(): string {
    return this.context.identity.clientId;
  }

  /**
   * Receives from `topic` too, filtered on the broker by a tag expression (`"*"`, `"a || b"`) or
   * SQL92 over properties (`{ sql: "region = 'eu'" }`); before or after start. A bad expression
   * throws here (FILTER_EXPRESSION_INVALID names line and column).
   */
  subscribe(topic: string, expression: SubscriptionExpression = "*"): this {
    checkGroupName(topic, "topic");
    this.subscriptions.set(topic, compileSubscription(expression));
    return this;
  }

  unsubscribe(topic: string): this {
    this.subscriptions.delete(topic);
    return this;
  }

  /** Finds where each subscribed topic lives; rejects (NO_ROUTE, TOPIC_NOT_FOUND, ...) if one cannot be found. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new MqError("BAD_REQUEST", { reason: `simple consumer cannot start: it is ${this.state}` });
    if (this.subscriptions.size === 0) throw new MqError("BAD_REQUEST", { reason: "simple consumer cannot start: it subscribes no topic" });
    await Promise.all([...this.subscriptions.keys()].map((topic) => this.context.routes.topicRoute(topic)));
    this.state = "running";
  }

  /** Up to `max` messages (1..1024) of the subscribed topics; empty when none came within the wait. */
  async receive(max = simpleReceiveMaxDefault, options: ReceiveOptions = {}): Promise<SimpleMessage[]> {
    this.checkRunning();
    if (!Number.isInteger(max) || max < 1 || max > pullMessagesMax) throw new MqError("INVALID_FIELD", { field: "max", reason: `must be an integer in 1..${pullMessagesMax}, got ${max}` });
    const invisibleMs = checkDuration(options.invisibleMs, "invisibleMs", this.invisibleMs, 1, invisibleTimeMsMax);
    const waitMs = checkDuration(options.waitMs, "waitMs", this.awaitMs, 0, longPollMsMax);
    const signal = options.signal;
    const targets = await this.targets();
    for (const target of targets) {
      checkAborted(signal);
      const messages = await this.pop(target, max, invisibleMs, 0);
      if (messages.length > 0) return messages;
    }
    checkAborted(signal);
    if (waitMs === 0) return [];
    return this.holdAll(targets, max, invisibleMs, waitMs, signal);
  }

  /** Settles a received message (or its handle); RECEIPT_HANDLE_INVALID once its invisible time passed and it was delivered again. */
  async ack(message: SimpleMessage | string): Promise<void> {
    const handle = typeof message === "string" ? message : message.receiptHandle;
    const { topic, brokerName, brokerHandle } = decodeReceiptHandle(handle);
    const address = await this.addressOf(topic, brokerName);
    await this.context.broker.ackMessage(address, { consumerGroup: this.group, topic, receiptHandle: brokerHandle });
  }

  /**
   * Hides the message for `invisibleMs` from now (0: visible again at once — a nack; more: a nack
   * with a delay, or more time to finish). The broker issues a new handle: a message object passed
   * here is updated in place; the new handle is returned either way.
   */
  /**
   * With `nack`, the delivery failed: the group's back-off follows invisibleMs, and past its
   * maxReconsumeTimes the broker moves the message to the group's DLQ with `errorText`.
   */
  async changeInvisibleTime(message: SimpleMessage | string, invisibleMs: number, failure: { nack?: boolean; errorText?: string } = {}): Promise<{ receiptHandle: string; invisibleUntilMs: number }> {
    checkDuration(invisibleMs, "invisibleMs", 0, 0, invisibleTimeMsMax);
    const handle = typeof message === "string" ? message : message.receiptHandle;
    const { topic, brokerName, brokerHandle } = decodeReceiptHandle(handle);
    const address = await this.addressOf(topic, brokerName);
    const result = await this.context.broker.changeInvisibleTime(address, { consumerGroup: this.group, topic, receiptHandle: brokerHandle, invisibleTimeMs: invisibleMs, ...failure });
    const renewed = { receiptHandle: encodeReceiptHandle({ topic, brokerName, brokerHandle: result.receiptHandle }), invisibleUntilMs: result.invisibleUntilMs };
    if (message instanceof PoppedMessage) {
      message.receiptHandle = renewed.receiptHandle;
      message.invisibleUntilMs = renewed.invisibleUntilMs;
    }
    return renewed;
  }

  /**
   * The delivery failed: the message comes back after the group's back-off (the broker counts
   * deliveries), and past the group's maxReconsumeTimes goes to `%DLQ%<group>` with `errorText`.
   */
  async nack(message: SimpleMessage | string, options: { errorText?: string } = {}): Promise<{ receiptHandle: string; invisibleUntilMs: number }> {
    return this.changeInvisibleTime(message, 0, { nack: true, ...(options.errorText === undefined ? {} : { errorText: options.errorText }) });
  }

  /** Stops receiving and closes connections (brokers drop pops still held for them). Idempotent. */
  async shutdown(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    await Promise.allSettled([...this.background]);
    await this.context.pool.close();
  }

  /** Every (topic, broker) pair to pop from, rotated so successive receives start at the next one. */
  private async targets(): Promise<Target[]> {
    const targets: Target[] = [];
    for (const [topic, filter] of this.subscriptions) {
      const route = await this.context.routes.topicRoute(topic);
      const brokerNames = [...new Set(route.readQueues.map((queue) => queue.brokerName))];
      if (brokerNames.length === 0) throw new MqError("TOPIC_NOT_READABLE", { topic, perm: route.perm });
      for (const brokerName of brokerNames) targets.push({ topic, filter, brokerName });
    }
    if (targets.length === 0) throw new MqError("BAD_REQUEST", { reason: "simple consumer cannot receive: it subscribes no topic" });
    this.rotation = (this.rotation + 1) % targets.length;
    return [...targets.slice(this.rotation), ...targets.slice(0, this.rotation)];
  }

  private async pop(target: Target, max: number, invisibleMs: number, pollTimeMs: number): Promise<PoppedMessage[]> {
    const address = this.context.routes.brokerAddress(target.brokerName);
    const filter = wireFilter(target.filter);
    const answer = await this.context.broker.pop(
      address,
      { consumerGroup: this.group, topic: target.topic, maxMessages: max, invisibleTimeMs: invisibleMs, pollTimeMs, filter },
      { timeoutMs: pollTimeMs + requestTimeoutMsDefault },
    );
    const messages: PoppedMessage[] = [];
    for (const { message, receiptHandle, deliveryAttempt } of answer.messages) {
      const handle = encodeReceiptHandle({ topic: target.topic, brokerName: target.brokerName, brokerHandle: receiptHandle });
      if (acceptsEveryMessage(target.filter) || target.filter.matches(message.tags, message.properties)) {
        messages.push(new PoppedMessage(message, { receiptHandle: handle, invisibleUntilMs: answer.invisibleUntilMs, deliveryAttempt, brokerName: target.brokerName, brokerAddress: address }));
      } else {
        this.inBackground(this.ack(handle)); // its tag only shares a hash with ours: not for this group's filter
      }
    }
    return messages;
  }

  /** Holds a pop on every target; the first non-empty answer wins, later ones are handed back. */
  private holdAll(targets: readonly Target[], max: number, invisibleMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<SimpleMessage[]> {
    return new Promise<SimpleMessage[]>((resolve, reject) => {
      let settled = false;
      let outstanding = targets.length;
      let failure: unknown;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        finish();
      };
      const onAbort = () => settle(() => reject(new MqError("ABORTED", { reason: "the receive's signal was aborted" })));
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const target of targets) {
        // The caller's signal is not passed on: a pop abandoned locally could still take messages at the broker.
        this.pop(target, max, invisibleMs, waitMs).then(
          (messages) => {
            outstanding -= 1;
            if (messages.length > 0 && settled) this.handBack(messages);
            else if (messages.length > 0) settle(() => resolve(messages));
            else if (outstanding === 0) settle(() => (failure === undefined ? resolve([]) : reject(failure)));
          },
          (error: unknown) => {
            outstanding -= 1;
            failure ??= error;
            if (outstanding === 0) settle(() => reject(failure));
          },
        );
      }
    });
  }

  /** Makes messages nobody will process visible to the group again at once. */
  private handBack(messages: readonly PoppedMessage[]): void {
    for (const message of messages) this.inBackground(this.changeInvisibleTime(message, 0));
  }

  private inBackground(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.context.logger.warn(`Cannot settle a message for group "${this.group}": ${(error as Error).message}`));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** A handle may come from another consumer of the group: learn its topic's route when its broker is unknown here. */
  private async addressOf(topic: string, brokerName: string): Promise<string> {
    try {
      return this.context.routes.brokerAddress(brokerName);
    } catch {
      await this.context.routes.topicRoute(topic);
      return this.context.routes.brokerAddress(brokerName);
    }
  }

  private checkRunning(): void {
    if (this.state !== "running") throw new MqError("BAD_REQUEST", { reason: `simple consumer cannot receive: it is ${this.state === "new" ? "not started" : "shut down"}` });
  }
}

function checkDuration(value: number | undefined, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new MqError("INVALID_FIELD", { field, reason: `must be an integer in ${min}..${max}, got ${value}` });
  return value;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new MqError("ABORTED", { reason: "the receive's signal was aborted" });
}
