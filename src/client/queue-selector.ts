/**
 * How a send picks its queue among the topic's writable queues:
 * - a user `selector(queues, message)` (ordered sends by any rule), else
 * - the message's `shardingKey`: hash modulo queue count, so one key always lands on one queue
 *   and keeps its order (as long as the queue count does not change), else
 * - round-robin, skipping the queue (and, with several brokers, the broker) that just failed.
 */

import { MqError } from "../common/errors.ts";
import { hash32 } from "../common/hash.ts";
import type { ProducerMessage } from "./message.ts";
import type { MessageQueue } from "./message-queue.ts";

export type QueueSelector = (queues: readonly MessageQueue[], message: ProducerMessage) => MessageQueue;

export function selectByShardingKey(queues: readonly MessageQueue[], shardingKey: string): MessageQueue {
  return queues[hash32(shardingKey) % queues.length]!;
}

/** Runs a user selector and checks it returned one of the queues offered. */
export function selectWith(selector: QueueSelector, queues: readonly MessageQueue[], message: ProducerMessage): MessageQueue {
  const chosen = selector(queues, message);
  const found = queues.find((queue) => queue.topic === chosen?.topic && queue.brokerName === chosen.brokerName && queue.queueId === chosen.queueId);
  if (found === undefined) {
    throw new MqError("BAD_REQUEST", { reason: `queue selector returned a queue not among the ${queues.length} writable queues of "${message.topic}"` });
  }
  return found;
}

/** Round-robin over the queues; one counter per producer, shared by its topics as RocketMQ does. */
export class RoundRobinSelector {
  private counter: number;

  constructor(start = Math.floor(Math.random() * 1024)) {
    this.counter = start;
  }

  /**
   * The next queue, avoiding `failed` (the last attempt's queue) when another is available.
   * With `available`, queues of brokers it rejects (latency-fault-tolerance.ts) are skipped too;
   * when it rejects every broker, the choice falls back to the plain rotation.
   */
  next(queues: readonly MessageQueue[], failed?: MessageQueue, available?: (brokerName: string) => boolean): MessageQueue {
    if (queues.length === 0) throw new Error("RoundRobinSelector.next needs at least one queue");
    if (available !== undefined) {
      for (let tries = 0; tries < queues.length; tries++) {
        const queue = queues[this.counter++ % queues.length]!;
        this.counter %= 1 << 30;
        if (available(queue.brokerName) && (failed === undefined || queue.brokerName !== failed.brokerName)) return queue;
      }
    }
    for (let tries = 0; tries < queues.length; tries++) {
      const queue = queues[this.counter++ % queues.length]!;
      this.counter %= 1 << 30;
      if (failed === undefined) return queue;
      // Prefer another broker first (the failed one may be down), then merely another queue.
      if (queue.brokerName !== failed.brokerName) return queue;
    }
    for (let tries = 0; tries < queues.length; tries++) {
      const queue = queues[this.counter++ % queues.length]!;
      if (failed === undefined || queue.queueId !== failed.queueId || queue.brokerName !== failed.brokerName) return queue;
    }
    return queues[this.counter++ % queues.length]!;
  }
}
