/**
 * Helpers for client integration tests: clients that are always shut down after each test,
 * a bounded `waitFor` (polls a condition, never a sleep standing in for an event), and a
 * topic-creation shortcut.
 */

import { Admin } from "../../../src/client/admin.ts";
import { Producer, type ProducerOptions } from "../../../src/client/producer.ts";
import { PushConsumer, type PushConsumerOptions } from "../../../src/client/push-consumer.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { waitTimeoutMs, waitUntil } from "../../helpers/wait-for.ts";

const cleanups: Array<() => Promise<void>> = [];

afterEachTest(async () => {
  // Clients first (they commit and unregister), then the broker helper's own afterEach.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

export function track<T extends { shutdown(): Promise<void> } | { close(): Promise<void> }>(client: T): T {
  cleanups.push(() => ("shutdown" in client ? client.shutdown() : client.close()));
  return client;
}

export async function startProducer(broker: string, options: Partial<ProducerOptions> = {}): Promise<Producer> {
  const producer = track(new Producer({ broker, ...options }));
  await producer.start();
  return producer;
}

export function consumer(broker: string, options: Partial<PushConsumerOptions> & { group: string }): PushConsumer {
  return track(new PushConsumer({ broker, ...options }));
}

export async function createTopic(broker: string, topic: string, queues = 8): Promise<void> {
  const admin = new Admin({ broker });
  try {
    await admin.createTopic(topic, { queues });
  } finally {
    await admin.close();
  }
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export function waitFor(what: string, condition: () => boolean, timeoutMs = waitTimeoutMs): Promise<void> {
  return waitUntil(what, condition, timeoutMs, 5);
}

let topicCounter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++topicCounter}`;
}
