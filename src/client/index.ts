/**
 * The public entry point of the mq TypeScript SDK. It runs on Bun and on Node ≥ 20 and depends
 * only on src/common, src/protocol and src/net.
 *
 *   const producer = new Producer({ broker: "127.0.0.1:10911" });
 *   await producer.start();
 *   await producer.send({ topic: "orders", body: "hello", tags: "created", keys: ["order-1"] });
 *
 *   const consumer = new PushConsumer({ broker: "127.0.0.1:10911", group: "billing" });
 *   // or, against a cluster: new PushConsumer({ namesrv: "10.0.0.1:9876;10.0.0.2:9876", group: "billing" })
 *   consumer.subscribe("orders", "created || paid");
 *   for await (const message of consumer) console.log(message.text());
 *
 *   const simple = new SimpleConsumer({ broker: "127.0.0.1:10911", group: "billing", topics: "orders" });
 *   await simple.start();
 *   for (const message of await simple.receive(16, { invisibleMs: 30_000 })) await simple.ack(message);
 */

export { Producer, type ProducerOptions, type SendOptions, type BatchOptions } from "./producer.ts";
export { TransactionProducer, type TransactionProducerOptions, type TransactionCheckListener, type TransactionCheckMessage, type TransactionResolution, type TransactionSendResult } from "./transaction-producer.ts";
export { PushConsumer, type PushConsumerOptions, type ConsumeFromWhere, type MessageHandler, type ConsumeFailureMetrics } from "./push-consumer.ts";
export type { ReadableOptions, StreamMessage } from "./message-readable.ts";
export type { DurableWriter, MessageWritable, WritableOptions, WritableChunk } from "./message-writable.ts";
export { SimpleConsumer, type SimpleConsumerOptions, type ReceiveOptions } from "./simple-consumer.ts";
export type { SimpleMessage } from "./popped-message.ts";
export type { SubscriptionExpression } from "./subscription.ts";
export { Admin, type TopicOptions, type QueueOffsets, type QueueMessages, type GroupConfigSettings } from "./admin.ts";
export type { GroupConfig, BackoffPolicy } from "../protocol/group-config.ts";
export type { ClusterTopicDetail, ClusterGroupDetail, BrokerQueueStats, BrokerGroupQueue } from "./admin-cluster.ts";
export type { CancelOutcome, ScheduledListing, ScheduledListOptions, ScheduledMessageView } from "./scheduled-listing.ts";
export type { ProducerMessage, BatchMessage, ReceivedMessage, SendResult } from "./message.ts";
export type { MessageQueue } from "./message-queue.ts";
export type { QueueOffset, PhysicalOffset } from "../common/offsets.ts";
export type { QueueSelector } from "./queue-selector.ts";
export type { TraceHop, TraceHopName } from "../protocol/trace-record.ts";
export type { MessageModel } from "./rebalancer.ts";
export type { AllocationName, AllocationStrategy } from "./allocation.ts";
export { allocationStrategies } from "./allocation.ts";
export type { ClientOptions } from "./client-context.ts";
export type { RouteResolver, TopicRoute } from "./route-resolver.ts";
export { MqError, isMqError, errorCatalog, type ErrorName } from "../common/errors.ts";
export type { TopicConfig, TopicDetail, GroupDetail, TopicRouteData, ClusterInfo } from "../protocol/responses.ts";
