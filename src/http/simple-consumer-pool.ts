/**
 * The SimpleConsumers the SDK backend receives and settles with. A REST receive names its group,
 * topic and filter (tags or SQL92) per request, while a SimpleConsumer is one group with fixed subscriptions;
 * so there is one receiver per (group, topic, filter) in use, started on first use, and one settler
 * per group for acks and nacks (a receipt handle names its own topic and broker, so any consumer
 * of the group can settle it; the settler never receives and needs no start).
 *
 * Both caches are bounded: past `consumersMax` the least recently used consumer is shut down (a
 * held receive of it ends empty; its in-flight messages stay on the broker and are settled by
 * handle later). Each consumer owns its connections, so the bound also bounds sockets.
 */

import type { ClientOptions } from "../client/client-context.ts";
import { SimpleConsumer } from "../client/simple-consumer.ts";
import type { SubscriptionExpression } from "../client/subscription.ts";

/** Receivers and settlers kept at once, each. */
export const simpleConsumersMax = 256;

export class SimpleConsumerPool {
  private readonly receivers = new Map<string, Promise<SimpleConsumer>>();
  private readonly settlers = new Map<string, SimpleConsumer>();
  private closed = false;

  constructor(private readonly clientOptions: ClientOptions) {}

  /** A started consumer of `group` subscribed to `topic` with `expression`; throws for a bad expression, rejects (TOPIC_NOT_FOUND, NO_ROUTE, ...) if it cannot start. */
  receiver(group: string, topic: string, expression: SubscriptionExpression): Promise<SimpleConsumer> {
    const key = `${group}\u0000${topic}\u0000${typeof expression === "string" ? `TAG\u0000${expression}` : "sql" in expression ? `SQL92\u0000${expression.sql}` : `TAG\u0000${expression.tags}`}`;
    const cached = this.receivers.get(key);
    if (cached !== undefined) {
      this.receivers.delete(key); // re-inserted: Map order is the recency order
      this.receivers.set(key, cached);
      return cached;
    }
    const consumer = new SimpleConsumer({ ...this.clientOptions, group, topics: { [topic]: expression } });
    const started = consumer.start().then(
      () => consumer,
      async (error: unknown) => {
        if (this.receivers.get(key) === started) this.receivers.delete(key);
        await consumer.shutdown();
        throw error;
      },
    );
    this.receivers.set(key, started);
    this.evict(this.receivers, (oldest) => void oldest.then((evicted) => evicted.shutdown(), () => undefined));
    return started;
  }

  settler(group: string): SimpleConsumer {
    let settler = this.settlers.get(group);
    if (settler !== undefined) {
      this.settlers.delete(group);
      this.settlers.set(group, settler);
      return settler;
    }
    settler = new SimpleConsumer({ ...this.clientOptions, group });
    this.settlers.set(group, settler);
    this.evict(this.settlers, (oldest) => void oldest.shutdown());
    return settler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const receivers = [...this.receivers.values()];
    const settlers = [...this.settlers.values()];
    this.receivers.clear();
    this.settlers.clear();
    await Promise.allSettled([...receivers.map((started) => started.then((consumer) => consumer.shutdown())), ...settlers.map((settler) => settler.shutdown())]);
  }

  private evict<T>(cache: Map<string, T>, stop: (value: T) => void): void {
    while (cache.size > simpleConsumersMax) {
      const [key, oldest] = cache.entries().next().value as [string, T];
      cache.delete(key);
      stop(oldest);
    }
  }
}
