/**
 * A consumer group's configuration (DESIGN §14 "groups are stored like topics"): how often a
 * failed message is consumed again before it goes to `%DLQ%<group>`, how long each retry waits,
 * whether the group may consume at all and whether it consumes in order. The one shape for the
 * TCP admin requests, REST, the Admin SDK, the CLI and the broker's file.
 *
 * Total deliveries of a failing message are exactly `1 + maxReconsumeTimes`.
 */

import { z } from "zod";
import { unreachable } from "../common/assert.ts";
import { maxReconsumeTimesDefault, retryFirstDelayLevel, topicNamePattern } from "../common/limits.ts";
import { reconsumeTimesMax } from "./limits.ts";

/** The longest back-off any policy may ask for: a day. */
export const backoffMsMax = 86_400_000;

/** RocketMQ's: retry n (0-based) waits delay level 3 + n of the broker's `messageDelayLevel`, the last level once past it. */
export const levelsBackoffSchema = z.object({ kind: z.literal("levels") });

/** Retry n (0-based) waits min(maxMs, initialMs × factor^n), then ± jitter × that, at random. */
export const exponentialBackoffSchema = z
  .object({
    kind: z.literal("exponential"),
    initialMs: z.int().min(1).max(backoffMsMax),
    factor: z.number().min(1).max(100),
    maxMs: z.int().min(1).max(backoffMsMax),
    /** A fraction 0..1 of the delay added or removed at random, so failed consumers do not retry in step. */
    jitter: z.number().min(0).max(1).default(0),
  })
  .refine((policy) => policy.maxMs >= policy.initialMs, { message: "Must be at least initialMs", path: ["maxMs"] });

export const backoffPolicySchema = z.discriminatedUnion("kind", [levelsBackoffSchema, exponentialBackoffSchema]);
export type BackoffPolicy = z.output<typeof backoffPolicySchema>;

const settings = {
  maxReconsumeTimes: z.int().min(0).max(reconsumeTimesMax),
  backoff: backoffPolicySchema,
  /** false: the broker refuses the group's pulls and pops (an admin pause). */
  consumeEnable: z.boolean(),
  /** Consumed in order: failures are retried locally by the consumer, in order, never sent back. */
  orderly: z.boolean(),
};

/** A group's full configuration, defaults applied: what the broker stores and answers. */
export const groupConfigSchema = z.object({
  group: z.string().regex(topicNamePattern),
  maxReconsumeTimes: settings.maxReconsumeTimes.default(maxReconsumeTimesDefault),
  backoff: settings.backoff.default({ kind: "levels" }),
  consumeEnable: settings.consumeEnable.default(true),
  orderly: settings.orderly.default(false),
});
export type GroupConfig = z.output<typeof groupConfigSchema>;

/** UPDATE_GROUP_CONFIG, PUT /api/v1/groups/{g}/config: the fields to change; the rest keep their value (or default, for a new group). */
export const groupConfigUpdateSchema = z.object({
  group: z.string().regex(topicNamePattern),
  maxReconsumeTimes: settings.maxReconsumeTimes.optional(),
  backoff: settings.backoff.optional(),
  consumeEnable: settings.consumeEnable.optional(),
  orderly: settings.orderly.optional(),
});
export type GroupConfigUpdate = z.output<typeof groupConfigUpdateSchema>;
/** What a caller sends (the exponential back-off's jitter may be left out: 0). */
export type GroupConfigUpdateInput = z.input<typeof groupConfigUpdateSchema>;

/** The configuration of a group nobody configured: RocketMQ's defaults. */
export function defaultGroupConfig(group: string): GroupConfig {
  return { group, maxReconsumeTimes: maxReconsumeTimesDefault, backoff: { kind: "levels" }, consumeEnable: true, orderly: false };
}

/** `config` with `update`'s fields applied. */
export function applyGroupConfigUpdate(config: GroupConfig, update: GroupConfigUpdate): GroupConfig {
  return {
    group: config.group,
    maxReconsumeTimes: update.maxReconsumeTimes ?? config.maxReconsumeTimes,
    backoff: update.backoff ?? config.backoff,
    consumeEnable: update.consumeEnable ?? config.consumeEnable,
    orderly: update.orderly ?? config.orderly,
  };
}

export interface BackoffInput {
  readonly policy: BackoffPolicy;
  /** Reconsumes already done before this retry: 0 for the first retry. */
  readonly reconsumeTimes: number;
  /** The broker's delay-level table in ms (`messageDelayLevel`). */
  readonly delayLevelsMs: readonly number[];
  /** A number in [0, 1), for the jitter (inject a seeded one in tests). */
  readonly random: () => number;
}

/** How long retry `reconsumeTimes` waits under `policy`, in ms (at least 1). */
export function backoffDelayMs(input: BackoffInput): number {
  const { policy, reconsumeTimes } = input;
  switch (policy.kind) {
    case "levels": {
      const level = Math.min(retryFirstDelayLevel + reconsumeTimes, input.delayLevelsMs.length);
      return Math.max(1, input.delayLevelsMs[level - 1] ?? 1_000);
    }
    case "exponential": {
      const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.min(reconsumeTimes, 64));
      const spread = base * policy.jitter * (2 * input.random() - 1);
      return Math.max(1, Math.round(base + spread));
    }
    default:
      return unreachable(policy);
  }
}
