/**
 * Decides which queues this member owns and hands the answer to OwnedQueues.
 * - clustering: for each subscribed topic, the group's live members (GET_CONSUMER_LIST) and the
 *   topic's readable queues go through the allocation strategy; every member computes the same
 *   split (allocation.ts).
 * - broadcasting: every member owns every readable queue.
 * With several brokers (cluster mode) the member list is asked of the topic's brokers in name
 * order, the first that answers wins: every member asks the same broker first, so they agree on
 * the split while it is up. Before asking, `ensureHeartbeat` makes sure every broker of the
 * route has heard of this member (a broker new to the route has not). A broker that left the
 * route takes its queues with it: they are no longer among the readable queues, so they are
 * released like any other queue that stops being ours.
 * Runs are serialized and coalesced: a request during a run schedules one more run after it.
 * A run that cannot see a route or the member list changes nothing (keeping the queues we have
 * beats dropping them on a transient error); one that does not find this member in the list
 * (its heartbeat not seen yet) changes nothing either.
 */

import type { Logger } from "../common/logger.ts";
import { isMqError } from "../common/errors.ts";
import type { AllocationStrategy } from "./allocation.ts";
import type { BrokerClient } from "./broker-client.ts";
import type { MessageQueue } from "./message-queue.ts";
import type { OwnedQueues } from "./owned-queues.ts";
import type { RouteResolver, TopicRoute } from "./route-resolver.ts";

export type MessageModel = "clustering" | "broadcasting";

export interface RebalancerOptions {
  readonly broker: BrokerClient;
  readonly routes: RouteResolver;
  readonly logger: Logger;
  readonly group: string;
  readonly clientId: string;
  readonly messageModel: MessageModel;
  readonly strategy: AllocationStrategy;
  readonly owned: OwnedQueues;
  topics(): readonly string[];
  /** Heartbeats to those of `addresses` that have not had one yet. */
  ensureHeartbeat(addresses: readonly string[]): Promise<void>;
}

export class Rebalancer {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: RebalancerOptions) {}

  /** Rebalances now, or right after the run in progress; resolves when that run is done. */
  request(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No rebalance starts after this; resolves when the one running (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async runOnce(): Promise<void> {
    const { options } = this;
    const mine: MessageQueue[] = [];
    try {
      for (const topic of options.topics()) {
        options.routes.invalidate(topic); // queue counts may have changed (UPDATE_TOPIC)
        const route = await this.routeOrNone(topic);
        if (route === undefined || route.readQueues.length === 0) continue;
        if (options.messageModel === "broadcasting") {
          mine.push(...route.readQueues);
          continue;
        }
        const addresses = [...new Set(route.readQueues.map((queue) => queue.brokerName))].sort().map((name) => options.routes.brokerAddress(name));
        await options.ensureHeartbeat(addresses);
        const members = await this.memberList(addresses);
        if (!members.includes(options.clientId)) {
          options.logger.debug(`Rebalance of "${topic}" skipped: this member is not in the group's list yet`);
          return;
        }
        mine.push(...options.strategy(route.readQueues, members, options.clientId));
      }
    } catch (error) {
      options.logger.warn(`Rebalance of group "${options.group}" failed, keeping the current queues: ${(error as Error).message}`);
      return;
    }
    if (this.stopped) return;
    await options.owned.assign(mine);
  }

  /**
   * A topic that does not exist (yet) has no queues to own: it must not hold back the others —
   * the group's retry topic, say, exists only once a message was sent back.
   */
  private async routeOrNone(topic: string): Promise<TopicRoute | undefined> {
    try {
      return await this.options.routes.topicRoute(topic);
    } catch (error) {
      if (isMqError(error, "NO_ROUTE") || isMqError(error, "TOPIC_NOT_FOUND")) return undefined;
      throw error;
    }
  }

  /** GET_CONSUMER_LIST from the first of `addresses` that answers. */
  private async memberList(addresses: readonly string[]): Promise<string[]> {
    let lastError: unknown;
    for (const address of addresses) {
      try {
        return await this.options.broker.consumerList(address, this.options.group);
      } catch (error) {
        lastError = error;
        this.options.logger.debug(`Cannot get the members of "${this.options.group}" from ${address}: ${(error as Error).message}`);
      }
    }
    throw lastError;
  }
}
