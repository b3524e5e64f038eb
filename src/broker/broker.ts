/**
 * The Broker: request processors over a MessageStore, served on a net Server. It owns the
 * topic table, consumer offsets, group membership, queue locks and held long-poll pulls, and
 * wires each request code to its processor.
 *
 * Life cycle: `Broker.start()` loads the topic table and offsets from `<dataDir>/config/`,
 * registers the handlers, starts the timers and, in a cluster, starts registering with the
 * NameServers (namesrv-registrar.ts; never waiting for them); `stop()` unregisters first (so
 * clients stop routing here), answers held pulls and pops, closes the server (so no request arrives
 * after) and writes offsets and topics one last time. The caller closes
 * the store after `stop()`: offsets never name messages the store has not made durable first.
 */

import { join } from "node:path";
import { BrokerStats } from "./broker-stats.ts";
import { type Clock, systemClock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { acquireHeapValve } from "../common/heap-valve.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import type { Channel } from "../net/channel.ts";
import type { Reply } from "../net/handlers.ts";
import type { Server } from "../net/server.ts";
import { refuseRequestsFor } from "../net/wrong-service.ts";
import { brokerRoleOf } from "../protocol/broker-role.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import type { MessageStore } from "../store/message-store.ts";
import { Scheduler } from "../store/scheduler.ts";
import { type BrokerConfig, type BrokerContext, resolveBrokerConfig } from "./broker-context.ts";
import { ConsumerManager } from "./consumer-manager.ts";
import { ConsumerOffsetManager } from "./consumer-offset-manager.ts";
import { GroupConfigManager } from "./group-config-manager.ts";
import { SendBackService } from "./send-back-service.ts";
import * as groupConfig from "./processors/group-config-processor.ts";
import { consumerSendBack, consumerSendBackBatch } from "./processors/send-back-processor.ts";
import type { BrokerJobKinds } from "./job-kinds.ts";
import { LongPollService } from "./long-poll-service.ts";
import { MessageService } from "./message-service.ts";
import { DedupService, dedupKeyTransform } from "./dedup-service.ts";
import { DeadLetters } from "./dead-letters.ts";
import { RedriveLedger } from "./redrive-ledger.ts";
import type { MessageTransform } from "./message-transform.ts";
import { PopService } from "./pop-service.ts";
import { scheduledDeliveryTransform } from "./scheduled-delivery.ts";
import { ScheduledMessages } from "./scheduled-messages.ts";
import { TimerDelivery } from "./timer-delivery.ts";
import { TransactionChecks } from "./transaction-check.ts";
import { transactionHalfTransform } from "./transaction-half.ts";
import { Transactions } from "./transactions.ts";
import * as transactions from "./processors/transaction-processor.ts";
import { isSystemTopic } from "../common/system-topics.ts";
import { TraceWriter } from "./trace-writer.ts";
import type { EventBus } from "../common/bus.ts";
import type { BrokerBusEvents } from "./broker-events.ts";
import { parseDelayLevels } from "../common/delay-levels.ts";
import { groupConfigsMax } from "../common/limits.ts";
import type { NamesrvLink } from "./namesrv-link.ts";
import { NamesrvRegistrar, type RegistrarDiskUse, type RegistrarIdentity } from "./namesrv-registrar.ts";
import * as admin from "./processors/admin-processor.ts";
import * as clients from "./processors/client-processor.ts";
import * as offsets from "./processors/offset-processor.ts";
import * as pop from "./processors/pop-processor.ts";
import { pullMessage } from "./processors/pull-processor.ts";
import * as query from "./processors/query-processor.ts";
import * as scheduled from "./processors/scheduled-processor.ts";
import * as deadLetters from "./processors/dead-letter-processor.ts";
import { sendBatch, sendMessage } from "./processors/send-processor.ts";
import { QueueLockManager } from "./queue-lock-manager.ts";
import { TopicConfigManager, permDefault } from "./topic-config-manager.ts";

export type { BrokerConfig } from "./broker-context.ts";

export interface BrokerOptions {
  readonly store: MessageStore;
  /** A listening server; the broker registers its handlers and closes it on stop. */
  readonly server: Server;
  readonly config?: Partial<BrokerConfig>;
  /** The IPv4 address clients reach this broker at; it goes into every offsetMsgId. */
  readonly advertisedHost: string;
  /** The port put into offsetMsgIds; default the server's bound port. */
  readonly advertisedPort?: number;
  /** NameServers to register with; absent or without links: a standalone broker. */
  readonly registration?: BrokerRegistrationOptions;
  /** Rewrites applied to every message before it is stored (message-transform.ts); default none. */
  readonly transforms?: readonly MessageTransform[];
  readonly clock?: Clock;
  /** A number in [0, 1) for the retry back-off's jitter; default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
  readonly logger?: Logger;
  /** Trace hops queued at most before they are dropped (default traceQueueHopsMax; tests make it tiny). */
  readonly traceQueueHopsMax?: number;
}

export interface BrokerRegistrationOptions {
  readonly identity: RegistrarIdentity;
  readonly links: readonly NamesrvLink[];
  readonly heartbeatIntervalMs: number;
  readonly unregisterTimeoutMs?: number;
}

export class Broker {
  readonly context: BrokerContext;
  /** Registration with the NameServers; undefined for a standalone broker. */
  readonly registrar: NamesrvRegistrar | undefined;
  private stopping: Promise<void> | undefined;
  /** Bounds the garbage the heap may hold while the broker runs (common/heap-valve.ts). */
  private releaseHeapValve: () => void = () => {};

  private constructor(
    private readonly options: BrokerOptions,
    context: BrokerContext,
  ) {
    this.context = context;
    const registration = options.registration;
    this.registrar =
      registration === undefined || registration.links.length === 0
        ? undefined
        : new NamesrvRegistrar({ ...registration, topics: context.topics, clock: context.clock, logger: context.logger.child("registrar"), diskUse: () => diskUseOf(context) });
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    const config = resolveBrokerConfig(options.config);
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    const store = options.store;
    // The process bus carries every module's events; the store knows only its own.
    const bus = store.options.bus as EventBus<BrokerBusEvents> | undefined;
    if (bus === undefined) throw new MqError("INTERNAL", { reason: "the broker needs a store opened with an event bus (long polling listens to it)" });
    const dataDir = store.options.dataDir;
    const topics = new TopicConfigManager({ dataDir, autoCreateTopics: config.autoCreateTopics, defaultTopicQueues: config.defaultTopicQueues, topicsMax: config.topicsMax, logger });
    const groupConfigs = new GroupConfigManager({ dataDir, groupsMax: groupConfigsMax, logger });
    const consumerOffsets = new ConsumerOffsetManager({
      dataDir,
      persistIntervalMs: config.offsetPersistIntervalMs,
      clock,
      logger,
      // A group with live members was created by its heartbeat: the cap is for commits out of nowhere.
      isLive: (group) => consumers.clientIds(group).length > 0,
      onGroupAdded: (group) => groupConfigs.ensure(group),
    });
    const locks = new QueueLockManager({ clock, expiryMs: config.queueLockExpiryMs });
    const consumers = new ConsumerManager({
      clock,
      expiryMs: config.clientExpiryMs,
      logger,
      onChange: (change) => {
        for (const clientId of change.left) locks.releaseClient(change.group, clientId);
      },
    });
    const longPoll = new LongPollService<Reply>({ bus, clock, heldMax: config.heldPullsMax, logger });
    const scheduler = Scheduler.open<BrokerJobKinds>({ dir: join(dataDir, "schedule"), clock, logger: logger.child("scheduler") });
    const role = brokerRoleOf(config.brokerId);
    const assertWritable = (): void => {
      if (role !== "master") throw new MqError("BROKER_NOT_MASTER", { broker: config.brokerName, brokerId: config.brokerId });
    };
    const port = options.advertisedPort ?? options.server.port;
    const delayLevels = parseDelayLevels(config.messageDelayLevel);
    if (!delayLevels.ok) throw new MqError("INVALID_CONFIG", { key: "messageDelayLevel", reason: delayLevels.reason });
    // The transaction transform first: it refuses a half message that also asks for a delivery time.
    const transforms = [transactionHalfTransform, dedupKeyTransform, scheduledDeliveryTransform({ levelsMs: delayLevels.levelsMs, maxDelayMs: config.timerMaxDelayMs, clock }), ...(options.transforms ?? [])];
    const dedup = new DedupService({ store, topics, clock, logger, enabled: config.dedup, windowMs: config.dedupWindowMs });
    // Kept by the dispatcher from every append from now on; what was stored before is read in the background (dedup-service.ts).
    store.registerDispatcher("dedup", dedup);
    dedup.startRebuild();
    const messages = new MessageService({ store, topics, advertisedHost: options.advertisedHost, port, assertWritable, transforms, clock, dedup });
    const context: BrokerContext = {
      store,
      bus,
      stats: new BrokerStats(),
      topics,
      messages,
      dedup,
      deadLetters: new DeadLetters(store, messages, new RedriveLedger(dataDir), clock, bus),
      offsets: consumerOffsets,
      consumers,
      groupConfigs,
      delayLevelsMs: delayLevels.levelsMs,
      random: options.random ?? Math.random,
      locks,
      scheduler,
      longPoll,
      config,
      clock,
      logger,
      advertisedHost: options.advertisedHost,
      port,
      role,
      assertWritable,
      notifyOffsetReset: offsetResetNotifier(consumers, logger),
    };
    const broker = new Broker(options, context);
    broker.startServices();
    logger.info(`Broker "${config.brokerName}" (id ${config.brokerId}, ${role}) serving on port ${options.server.port}: ${topics.list().length} topics, offsets of ${consumerOffsets.groups().size} groups`);
    if (role === "slave") logger.warn(`Broker id ${config.brokerId} is a slave: it refuses sends until replication exists, and clients neither send to nor read from it`);
    return broker;
  }

  /** Starts what serves requests and fires jobs, once the context is whole. */
  private startServices(): void {
    const context = this.context;
    // Kinds register before the scheduler starts, so no due job fires without its handler.
    PopService.start(context);
    SendBackService.start(context);
    ScheduledMessages.registerKinds(context.scheduler);
    TimerDelivery.start(context);
    TransactionChecks.start(context, Transactions.start(context));
    TraceWriter.start(context, { queueHopsMax: this.options.traceQueueHopsMax });
    context.scheduler.start();
    this.adoptStoredTopics();
    this.register();
    context.offsets.start();
    context.locks.start();
    this.registrar?.start();
    this.releaseHeapValve = acquireHeapValve();
  }

  get port(): number {
    return this.options.server.port;
  }

  /** Unregisters, answers held pulls, closes the server, and writes offsets and topics. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { longPoll, consumers, offsets: consumerOffsets, topics, scheduler, locks } = this.context;
      await this.registrar?.stop();
      this.releaseHeapValve();
      longPoll.stop();
      PopService.of(this.context).stop(); // answers held pops (TCP and REST) empty
      consumers.stop();
      locks.stop();
      await this.options.server.close();
      await this.context.dedup.stop(); // its rebuild reads the store, which closes after this
      TraceWriter.of(this.context)?.stop(); // the store is still open: queued hops are written
      Transactions.of(this.context).stop(); // unjournaled check-backs into the journal while it is open
      scheduler.close(); // synced: what is scheduled waits in the journal for the next start
      await consumerOffsets.stop();
      await topics.flush();
      await this.context.groupConfigs.flush();
    })();
    return this.stopping;
  }

  /**
   * The topic table is the truth about which topics exist. A topic the store holds but the table
   * lacks was either deleted (the table remembers the name: its queues, rebuilt by recovery's
   * replay, are dropped so the name stays deleted and a re-created topic starts empty) or lost
   * its settings (a crash before the table was written, an older data dir): then it is adopted
   * with the queues found, so acknowledged messages stay reachable.
   */
  private adoptStoredTopics(): void {
    const { store, topics, logger } = this.context;
    for (const info of store.topics()) {
      // The transaction state records' topic has queues of its own, but it is the broker's, not a user topic.
      if (topics.get(info.topic) !== undefined || info.queues.length === 0 || isSystemTopic(info.topic)) continue;
      if (topics.wasDeleted(info.topic)) {
        store.deleteTopic(info.topic);
        logger.info(`Dropped the replayed queues of deleted topic "${info.topic}"`);
        continue;
      }
      const queues = Math.max(...info.queues.map((queue) => queue.queueId)) + 1;
      topics.adopt({ topic: info.topic, readQueues: queues, writeQueues: queues, perm: permDefault, order: false });
      logger.warn(`Topic "${info.topic}" has stored messages but no settings: adopted with ${queues} queues`);
    }
  }

  private register(): void {
    const server = this.options.server;
    const context = this.context;
    server.onConnection((channel: Channel) =>
      channel.onClose(() => {
        context.consumers.channelClosed(channel);
        context.longPoll.channelClosed(channel);
      }),
    );
    refuseRequestsFor(server, "→namesrv", { service: "an mq broker, not a NameServer", hint: "give it as a broker address (--broker, or the SDK's broker option)" });
    server.handle(RequestCode.SEND_MESSAGE, (request) => sendMessage(context, request));
    server.handle(RequestCode.SEND_BATCH, (request) => sendBatch(context, request));
    server.handle(RequestCode.PULL_MESSAGE, (request) => pullMessage(context, request));
    server.handle(RequestCode.POP_MESSAGE, (request) => pop.popMessage(context, request));
    server.handle(RequestCode.ACK_MESSAGE, (request) => pop.ackMessage(context, request));
    server.handle(RequestCode.CHANGE_INVISIBLE_TIME, (request) => pop.changeInvisibleTime(context, request));
    server.handle(RequestCode.QUERY_CONSUMER_OFFSET, (request) => offsets.queryConsumerOffset(context, request));
    server.handle(RequestCode.UPDATE_CONSUMER_OFFSET, (request) => offsets.updateConsumerOffset(context, request));
    server.handle(RequestCode.GET_MIN_OFFSET, (request) => offsets.getMinOffset(context, request));
    server.handle(RequestCode.GET_MAX_OFFSET, (request) => offsets.getMaxOffset(context, request));
    server.handle(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (request) => offsets.searchOffsetByTimestamp(context, request));
    server.handle(RequestCode.RESET_OFFSET, (request) => offsets.resetOffset(context, request));
    server.handle(RequestCode.VIEW_MESSAGE_BY_ID, (request) => query.viewMessageById(context, request));
    server.handle(RequestCode.QUERY_MESSAGE_BY_KEY, (request) => query.queryMessageByKey(context, request));
    server.handle(RequestCode.HEARTBEAT, (request) => clients.heartbeat(context, request));
    server.handle(RequestCode.UNREGISTER_CLIENT, (request) => clients.unregisterClient(context, request));
    server.handle(RequestCode.GET_CONSUMER_LIST, (request) => clients.getConsumerList(context, request));
    server.handle(RequestCode.LOCK_BATCH_MQ, (request) => clients.lockBatch(context, request));
    server.handle(RequestCode.UNLOCK_BATCH_MQ, (request) => clients.unlockBatch(context, request));
    server.handle(RequestCode.CREATE_TOPIC, (request) => admin.createTopic(context, request));
    server.handle(RequestCode.UPDATE_TOPIC, (request) => admin.updateTopic(context, request));
    server.handle(RequestCode.DELETE_TOPIC, (request) => admin.deleteTopic(context, request));
    server.handle(RequestCode.GET_TOPIC, (request) => admin.getTopic(context, request));
    server.handle(RequestCode.LIST_TOPICS, () => admin.listTopics(context));
    server.handle(RequestCode.LIST_GROUPS, () => admin.listGroups(context));
    server.handle(RequestCode.GET_GROUP, (request) => admin.getGroup(context, request));
    server.handle(RequestCode.UPDATE_GROUP_CONFIG, (request) => groupConfig.updateGroupConfig(context, request));
    server.handle(RequestCode.GET_GROUP_CONFIG, (request) => groupConfig.getGroupConfig(context, request));
    server.handle(RequestCode.CONSUMER_SEND_BACK, (request) => consumerSendBack(context, request));
    server.handle(RequestCode.CONSUMER_SEND_BACK_BATCH, (request) => consumerSendBackBatch(context, request));
    server.handle(RequestCode.LIST_SCHEDULED_MESSAGES, (request) => scheduled.listScheduledMessages(context, request));
    server.handle(RequestCode.CANCEL_SCHEDULED_MESSAGE, (request) => scheduled.cancelScheduledMessage(context, request));
    server.handle(RequestCode.END_TRANSACTION, (request) => transactions.endTransaction(context, request));
    server.handle(RequestCode.LIST_TRANSACTIONS, (request) => transactions.listTransactions(context, request));
    server.handle(RequestCode.END_TRANSACTION_BATCH, (request) => transactions.endTransactionBatch(context, request));
    server.handle(RequestCode.LIST_DEAD_LETTERS, (request) => deadLetters.listDeadLetters(context, request));
    server.handle(RequestCode.REDRIVE_DEAD_LETTERS, (request) => deadLetters.redriveDeadLetters(context, request));
    server.handle(RequestCode.QUERY_MESSAGE_TRACE, (request) => query.queryMessageTrace(context, request));
  }
}

/** Tells a group's running clients that its offsets were reset (broker→client oneway); a client that cannot be told finds out at its next pull. */
function offsetResetNotifier(consumers: ConsumerManager, logger: Logger): BrokerContext["notifyOffsetReset"] {
  return (group, topic, queues) => {
    for (const member of consumers.describe(group).members) {
      if (member.channel.isClosed) continue;
      try {
        member.channel.oneway({ code: RequestCode.RESET_CONSUMER_CLIENT_OFFSET, fields: { consumerGroup: group, topic, queues: [...queues] } });
      } catch (error) {
        logger.debug(`Cannot tell "${member.clientId}" of the offset reset: ${(error as Error).message}`);
      }
    }
  };
}

/** What a registration reports of the store: its size and its disk's used share (clamped: a probe may overshoot). */
function diskUseOf(context: BrokerContext): RegistrarDiskUse {
  const stats = context.store.stats();
  return { storeBytes: Math.max(0, stats.commitLogMaxOffset - stats.commitLogMinOffset), diskUsedRatio: Math.min(1, Math.max(0, stats.diskUsedRatio)) };
}
