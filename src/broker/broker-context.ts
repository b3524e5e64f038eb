/**
 * What every processor shares: the store, the broker's managers, its settings and identity.
 * Processors are plain functions of (context, request), so each is testable on its own and
 * the Broker class only wires them to request codes.
 */

import type { BrokerStats } from "./broker-stats.ts";
import type { EventBus } from "../common/bus.ts";
import type { BrokerBusEvents } from "./broker-events.ts";
import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { QueueOffset } from "../common/offsets.ts";
import { brokerDefaults, clusterDefaults, type MqConfig } from "../config/config-schema.ts";
import type { Reply } from "../net/handlers.ts";
import type { BrokerRole } from "../protocol/broker-role.ts";
import type { MessageStore } from "../store/message-store.ts";
import type { ConsumerManager } from "./consumer-manager.ts";
import type { GroupConfigManager } from "./group-config-manager.ts";
import type { BrokerScheduler } from "./job-kinds.ts";
import type { ConsumerOffsetManager } from "./consumer-offset-manager.ts";
import type { LongPollService } from "./long-poll-service.ts";
import type { DeadLetters } from "./dead-letters.ts";
import type { DedupService } from "./dedup-service.ts";
import type { MessageService } from "./message-service.ts";
import type { QueueLockManager } from "./queue-lock-manager.ts";
import type { TopicConfigManager } from "./topic-config-manager.ts";

export type BrokerConfig = Pick<
  MqConfig,
  "autoCreateTopics" | "defaultTopicQueues" | "topicsMax" | "clientExpiryMs" | "longPollMsMax" | "heldPullsMax" | "offsetPersistIntervalMs" | "queueLockExpiryMs" | "messageDelayLevel" | "timerMaxDelayMs" | "dedup" | "dedupWindowMs" | "transactionTimeoutMs" | "transactionCheckMax" | "brokerName" | "brokerId"
  | "traceEnabled"
  | "traceTopic"
>;

export function resolveBrokerConfig(config: Partial<BrokerConfig> | undefined): BrokerConfig {
  return { brokerName: clusterDefaults.brokerName, brokerId: clusterDefaults.brokerId, ...brokerDefaults, ...stripUndefined(config ?? {}) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter((entry) => entry[1] !== undefined)) as Partial<T>;
}

export interface BrokerContext {
  readonly store: MessageStore;
  /** The process bus (the store's): the store's events and the broker's own (broker-events.ts). */
  readonly bus: EventBus<BrokerBusEvents>;
  /** What metrics count (deliveries over TCP, send latency); hooks set by the metrics exporter. */
  readonly stats: BrokerStats;
  readonly topics: TopicConfigManager;
  /** The one path of messages into the store, and lookups by id and key. */
  readonly messages: MessageService;
  /** The dedup window of exactly-once produce (dedup-service.ts). */
  readonly dedup: DedupService;
  /** Dead letters for admins: list with why they failed, and redrive (dead-letters.ts). */
  readonly deadLetters: DeadLetters;
  readonly offsets: ConsumerOffsetManager;
  readonly consumers: ConsumerManager;
  /** Each consumer group's retry max, back-off, consumeEnable and orderly flag, stored durably. */
  readonly groupConfigs: GroupConfigManager;
  /** The delay-level table (`messageDelayLevel`) in ms: level n waits delayLevelsMs[n - 1]. */
  readonly delayLevelsMs: readonly number[];
  /** A number in [0, 1): the back-off's jitter (seeded in tests). */
  readonly random: () => number;
  readonly locks: QueueLockManager;
  /** The one scheduler of timers that survive restarts (pop redelivery; delay, retry, check-back next). */
  readonly scheduler: BrokerScheduler;
  readonly longPoll: LongPollService<Reply>;
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The address put into offsetMsgIds: how clients reach this broker. */
  readonly advertisedHost: string;
  readonly port: number;
  /** Master for broker id 0, slave otherwise (broker-role.ts). */
  readonly role: BrokerRole;
  /**
   * Throws BROKER_NOT_MASTER on a slave. The message service runs it first in every send, so
   * every path that appends a message (TCP send, batch and oneway; REST send and batch;
   * in-process callers) is refused the same way.
   */
  assertWritable(): void;
  /** Tells a group's running clients that its offsets were reset (broker→client oneway). */
  notifyOffsetReset(group: string, topic: string, queues: readonly { queueId: number; queueOffset: QueueOffset }[]): void;
}
