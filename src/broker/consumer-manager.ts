/**
 * Who is connected: consumer groups and their members (client id, channel, subscriptions,
 * consume settings), and producer groups (for transaction check-back later). Fed by HEARTBEAT
 * and UNREGISTER_CLIENT; a member leaves when its channel closes or after `expiryMs` without a
 * heartbeat (checked on the injected clock, so tests advance time instead of waiting).
 *
 * When a group's member set changes, every remaining member gets NOTIFY_CONSUMER_IDS_CHANGED
 * (oneway) so it re-balances at once instead of at its next periodic re-balance.
 *
 * Members of one group are meant to subscribe identically. When they do not, the group keeps
 * every member's own subscriptions and `describe()` reports the difference as a conflict —
 * never one member's subscription silently replacing another's (a classic RocketMQ pitfall).
 */

import type { Clock, TimerHandle } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { Channel } from "../net/channel.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import type { GroupMember } from "../protocol/responses.ts";
import type { RequestFields } from "../protocol/schemas.ts";

type HeartbeatFields = RequestFields<typeof RequestCode.HEARTBEAT>;
export type ConsumerSettings = HeartbeatFields["consumers"][number];
export type Subscription = ConsumerSettings["subscriptions"][number];

export interface ConsumerMember {
  readonly clientId: string;
  channel: Channel;
  settings: ConsumerSettings;
  /** The client's mq version from its last heartbeat; undefined for clients that send none. */
  version: string | undefined;
  lastHeartbeatMs: number;
  readonly joinedMs: number;
}

interface ProducerMember {
  readonly clientId: string;
  channel: Channel;
  lastHeartbeatMs: number;
}

export interface GroupDescription {
  readonly group: string;
  readonly members: readonly ConsumerMember[];
  /** The earliest member's settings stand for the group; undefined when it has no members. */
  readonly settings: ConsumerSettings | undefined;
  /** Topics any member subscribes to. */
  readonly topics: readonly string[];
  readonly subscriptionConflict: string | undefined;
}

export interface MembershipChange {
  readonly group: string;
  readonly joined: readonly string[];
  readonly left: readonly string[];
}

export interface ConsumerManagerOptions {
  readonly clock: Clock;
  readonly expiryMs: number;
  readonly logger: Logger;
  /** Runs after a group's member set changed (and its members were notified). */
  readonly onChange?: (change: MembershipChange) => void;
}

export class ConsumerManager {
  private readonly consumers = new Map<string, Map<string, ConsumerMember>>();
  private readonly producers = new Map<string, Map<string, ProducerMember>>();
  private readonly sweep: TimerHandle;

  constructor(private readonly options: ConsumerManagerOptions) {
    const sweepMs = Math.max(250, Math.min(options.expiryMs / 4, 10_000));
    this.sweep = options.clock.setInterval(() => this.expire(), sweepMs);
  }

  stop(): void {
    this.sweep.cancel();
  }

  heartbeat(channel: Channel, fields: HeartbeatFields): void {
    const now = this.options.clock.monotonicMs();
    for (const group of fields.producerGroups) {
      const members = getOrCreate(this.producers, group);
      const member = members.get(fields.clientId);
      if (member === undefined) members.set(fields.clientId, { clientId: fields.clientId, channel, lastHeartbeatMs: now });
      else {
        member.channel = channel;
        member.lastHeartbeatMs = now;
      }
    }
    for (const settings of fields.consumers) {
      const members = getOrCreate(this.consumers, settings.consumerGroup);
      const member = members.get(fields.clientId);
      if (member !== undefined) {
        member.channel = channel;
        member.settings = settings;
        member.version = fields.version;
        member.lastHeartbeatMs = now;
        continue;
      }
      members.set(fields.clientId, { clientId: fields.clientId, channel, settings, version: fields.version, lastHeartbeatMs: now, joinedMs: now });
      this.options.logger.info(`Client "${fields.clientId}" joined consumer group "${settings.consumerGroup}" (${members.size} members)`);
      this.changed({ group: settings.consumerGroup, joined: [fields.clientId], left: [] });
    }
  }

  /** Removes a client from the named groups, or from every group when none is named. */
  unregister(clientId: string, groups: { producerGroup?: string; consumerGroup?: string }): void {
    const all = groups.producerGroup === undefined && groups.consumerGroup === undefined;
    for (const [group, members] of this.producers) if (all || group === groups.producerGroup) removeFrom(this.producers, group, members, clientId);
    for (const [group, members] of this.consumers) {
      if ((all || group === groups.consumerGroup) && members.has(clientId)) this.removeConsumer(group, members, [clientId], "unregistered");
    }
  }

  /** Drops every registration made over a closed channel. */
  channelClosed(channel: Channel): void {
    for (const [group, members] of this.producers) {
      for (const member of [...members.values()]) if (member.channel === channel) removeFrom(this.producers, group, members, member.clientId);
    }
    for (const [group, members] of this.consumers) {
      const gone = [...members.values()].filter((member) => member.channel === channel).map((member) => member.clientId);
      if (gone.length > 0) this.removeConsumer(group, members, gone, "connection closed");
    }
  }

  /** Drops members silent for longer than the expiry; runs on the clock's interval. */
  expire(): void {
    const now = this.options.clock.monotonicMs();
    for (const [group, members] of this.producers) {
      for (const member of [...members.values()]) if (now - member.lastHeartbeatMs > this.options.expiryMs) removeFrom(this.producers, group, members, member.clientId);
    }
    for (const [group, members] of this.consumers) {
      const gone = [...members.values()].filter((member) => now - member.lastHeartbeatMs > this.options.expiryMs).map((member) => member.clientId);
      if (gone.length > 0) this.removeConsumer(group, members, gone, `no heartbeat for ${this.options.expiryMs} ms`);
    }
  }

  /** Live members' client ids, sorted (every member computes the same re-balance from it). */
  clientIds(group: string): string[] {
    return [...(this.consumers.get(group)?.keys() ?? [])].sort();
  }

  groups(): string[] {
    return [...this.consumers.keys()];
  }

  /** Live members described for operators (client id, address, version, subscriptions), by client id. */
  memberViews(group: string): GroupMember[] {
    const members = [...(this.consumers.get(group)?.values() ?? [])].sort((a, b) => a.clientId.localeCompare(b.clientId));
    return members.map((member) => ({
      clientId: member.clientId,
      host: member.channel.address,
      ...(member.version === undefined ? {} : { version: member.version }),
      subscriptions: member.settings.subscriptions.map(({ topic, expressionType, expression }) => ({ topic, expressionType, expression })),
    }));
  }

  /** A producer group's live channel, for broker→producer requests (transaction check-back). */
  producerChannel(group: string): Channel | undefined {
    const members = this.producers.get(group);
    if (members === undefined) return undefined;
    for (const member of members.values()) if (!member.channel.isClosed) return member.channel;
    return undefined;
  }

  /** Every live channel of a producer group, for a check-back that tries the next when one fails. */
  producerChannels(group: string): Channel[] {
    const members = this.producers.get(group);
    if (members === undefined) return [];
    return [...members.values()].filter((member) => !member.channel.isClosed).map((member) => member.channel);
  }

  describe(group: string): GroupDescription {
    const members = [...(this.consumers.get(group)?.values() ?? [])].sort((a, b) => a.joinedMs - b.joinedMs || a.clientId.localeCompare(b.clientId));
    const topics = new Set<string>();
    for (const member of members) for (const subscription of member.settings.subscriptions) topics.add(subscription.topic);
    return { group, members, settings: members[0]?.settings, topics: [...topics].sort(), subscriptionConflict: findConflict(members) };
  }

  private removeConsumer(group: string, members: Map<string, ConsumerMember>, clientIds: string[], reason: string): void {
    for (const clientId of clientIds) members.delete(clientId);
    if (members.size === 0) this.consumers.delete(group);
    this.options.logger.info(`Client(s) ${clientIds.map((id) => `"${id}"`).join(", ")} left consumer group "${group}": ${reason} (${members.size} members)`);
    this.changed({ group, joined: [], left: clientIds });
  }

  private changed(change: MembershipChange): void {
    for (const member of this.consumers.get(change.group)?.values() ?? []) {
      if (member.channel.isClosed) continue;
      try {
        member.channel.oneway({ code: RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, fields: { consumerGroup: change.group } });
      } catch (error) {
        this.options.logger.debug(`Cannot notify "${member.clientId}" of group "${change.group}": ${(error as Error).message}`);
      }
    }
    this.options.onChange?.(change);
  }
}

/** One line naming how members differ, or undefined when they all agree. */
function findConflict(members: readonly ConsumerMember[]): string | undefined {
  if (members.length < 2) return undefined;
  const shapes = new Map<string, string[]>();
  for (const member of members) {
    const shape = describeSettings(member.settings);
    const holders = shapes.get(shape);
    if (holders === undefined) shapes.set(shape, [member.clientId]);
    else holders.push(member.clientId);
  }
  if (shapes.size < 2) return undefined;
  return [...shapes].map(([shape, holders]) => `${holders.map((id) => `"${id}"`).join(", ")} ${holders.length === 1 ? "has" : "have"} ${shape}`).join("; ");
}

function describeSettings(settings: ConsumerSettings): string {
  const subscriptions = [...settings.subscriptions]
    .map((subscription) => `${subscription.topic} ${subscription.expressionType} "${subscription.expression}"`)
    .sort()
    .join(", ");
  return `${settings.messageModel} ${settings.consumeType} [${subscriptions}]`;
}

function getOrCreate<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (inner === undefined) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

function removeFrom<V>(map: Map<string, Map<string, V>>, group: string, members: Map<string, V>, clientId: string): void {
  members.delete(clientId);
  if (members.size === 0) map.delete(group);
}
