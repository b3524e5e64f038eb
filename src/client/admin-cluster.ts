/**
 * How Admin talks to several brokers at once (cluster mode) and folds their answers into the
 * shapes a single broker gives: topic and group views sum and concatenate what each broker holds,
 * and each queue entry names its `brokerName` (queue ids repeat across brokers). In single-broker
 * mode there is one target and nothing is folded, so results look exactly as before.
 *
 * A fan-out that reads tolerates a broker that cannot be reached (a dead broker stays in the
 * NameServer's view until its registration expires) as long as one answers; a write does not.
 */

import { isMqError, type ErrorName } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { GroupDetail, TopicConfig, TopicDetail, groupSummarySchema } from "../protocol/responses.ts";
import type { z } from "zod";
import { isRetriable } from "./retry-policy.ts";

/** A broker (group) to send admin requests to: its name and its master's address. */
export interface BrokerTarget {
  readonly brokerName: string;
  readonly address: string;
}

export type BrokerQueueStats = TopicDetail["queues"][number] & { readonly brokerName?: string };
export interface ClusterTopicDetail extends TopicDetail {
  readonly queues: BrokerQueueStats[];
}

export type BrokerGroupQueue = GroupDetail["queues"][number] & { readonly brokerName?: string };
export interface ClusterGroupDetail extends GroupDetail {
  readonly queues: BrokerGroupQueue[];
}

export type GroupSummary = z.infer<typeof groupSummarySchema>;

export interface FanOutOptions {
  /** An error by this name from one broker means "not here": skipped, unless every broker says it. */
  readonly absent?: ErrorName;
  /** Reads skip unreachable brokers while one answers; writes fail if any fails. */
  readonly mode: "read" | "write";
  readonly logger: Logger;
}

/** Runs `request` on every target at once; the answers of those that had one, in target order. */
export async function fanOut<T>(targets: readonly BrokerTarget[], request: (target: BrokerTarget) => Promise<T>, options: FanOutOptions): Promise<Array<{ target: BrokerTarget; value: T }>> {
  const settled = await Promise.allSettled(targets.map((target) => request(target)));
  const answers: Array<{ target: BrokerTarget; value: T }> = [];
  let absent: unknown;
  let failure: unknown;
  settled.forEach((result, index) => {
    const target = targets[index]!;
    if (result.status === "fulfilled") answers.push({ target, value: result.value });
    else if (options.absent !== undefined && isMqError(result.reason, options.absent)) absent = result.reason;
    else if (options.mode === "read" && isRetriable(result.reason)) {
      options.logger.warn(`Skipping broker "${target.brokerName}" (${target.address}): ${(result.reason as Error).message}`);
      failure ??= result.reason;
    } else throw result.reason;
  });
  if (answers.length > 0 || targets.length === 0) return answers;
  throw failure ?? absent;
}

/** Several brokers' configs of one topic as one: queue counts add up; perm and order are the first's. */
export function mergeTopicDetails(answers: ReadonlyArray<{ target: BrokerTarget; value: TopicDetail }>, named: boolean): ClusterTopicDetail {
  if (answers.length === 1 && !named) return answers[0]!.value;
  const first = answers[0]!.value;
  return {
    ...first,
    readQueues: sum(answers.map(({ value }) => value.readQueues)),
    writeQueues: sum(answers.map(({ value }) => value.writeQueues)),
    queues: answers.flatMap(({ target, value }) => value.queues.map((queue) => (named ? { ...queue, brokerName: target.brokerName } : queue))),
  };
}

/** Topic lists of several brokers: one entry per topic, queue counts added up, sorted by name. */
export function mergeTopicLists(lists: ReadonlyArray<readonly TopicConfig[]>): TopicConfig[] {
  const byTopic = new Map<string, TopicConfig>();
  for (const list of lists) {
    for (const config of list) {
      const seen = byTopic.get(config.topic);
      byTopic.set(config.topic, seen === undefined ? { ...config } : { ...seen, readQueues: seen.readQueues + config.readQueues, writeQueues: seen.writeQueues + config.writeQueues });
    }
  }
  return [...byTopic.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/** Group lists of several brokers: members counted once (each broker sees them all), lag added up. */
export function mergeGroupLists(lists: ReadonlyArray<readonly GroupSummary[]>): GroupSummary[] {
  const byGroup = new Map<string, GroupSummary>();
  for (const list of lists) {
    for (const group of list) {
      const seen = byGroup.get(group.group);
      if (seen === undefined) {
        byGroup.set(group.group, { ...group });
        continue;
      }
      byGroup.set(group.group, {
        ...seen,
        consumeType: seen.consumeType ?? group.consumeType,
        messageModel: seen.messageModel ?? group.messageModel,
        clients: Math.max(seen.clients, group.clients),
        subscriptions: uniqueSubscriptions([...seen.subscriptions, ...group.subscriptions]),
        totalLag: seen.totalLag + group.totalLag,
        ...addInFlight(seen.inFlight, group.inFlight),
      });
    }
  }
  return [...byGroup.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** One group as several brokers see it: members united, queues concatenated (with their broker). */
export function mergeGroupDetails(answers: ReadonlyArray<{ target: BrokerTarget; value: GroupDetail }>, named: boolean): ClusterGroupDetail {
  if (answers.length === 1 && !named) return answers[0]!.value;
  const first = answers[0]!.value;
  const clientIds = [...new Set(answers.flatMap(({ value }) => value.clientIds))].sort();
  const conflict = answers.find(({ value }) => value.subscriptionConflict !== undefined)?.value.subscriptionConflict;
  return {
    ...first,
    consumeType: answers.find(({ value }) => value.consumeType !== undefined)?.value.consumeType,
    messageModel: answers.find(({ value }) => value.messageModel !== undefined)?.value.messageModel,
    clients: clientIds.length,
    clientIds,
    ...mergeMembers(answers.map(({ value }) => value.members)),
    subscriptions: uniqueSubscriptions(answers.flatMap(({ value }) => value.subscriptions)),
    totalLag: sum(answers.map(({ value }) => value.totalLag)),
    ...answers.reduce<{ inFlight?: number }>((total, { value }) => addInFlight(total.inFlight, value.inFlight), {}),
    ...(conflict === undefined ? {} : { subscriptionConflict: conflict }),
    queues: answers.flatMap(({ target, value }) => value.queues.map((queue) => (named ? { ...queue, brokerName: target.brokerName } : queue))),
  };
}

/** A client connected to several brokers is one member: the first broker's view of it stands; absent when no broker lists members. */
function mergeMembers(lists: ReadonlyArray<GroupDetail["members"]>): Pick<GroupDetail, "members"> {
  if (lists.every((list) => list === undefined)) return {};
  const byClientId = new Map<string, NonNullable<GroupDetail["members"]>[number]>();
  for (const list of lists) for (const member of list ?? []) if (!byClientId.has(member.clientId)) byClientId.set(member.clientId, member);
  return { members: [...byClientId.values()].sort((a, b) => a.clientId.localeCompare(b.clientId)) };
}

/** In-flight counts add up; absent (a broker without pop) stays absent unless another has one. */
function addInFlight(a: number | undefined, b: number | undefined): { inFlight?: number } {
  return a === undefined && b === undefined ? {} : { inFlight: (a ?? 0) + (b ?? 0) };
}

function uniqueSubscriptions<T extends { topic: string; expressionType: string; expression: string }>(subscriptions: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const subscription of subscriptions) seen.set(`${subscription.topic}\u0000${subscription.expressionType}\u0000${subscription.expression}`, subscription);
  return [...seen.values()];
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
