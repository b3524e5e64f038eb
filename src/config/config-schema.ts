/**
 * Every setting of `mq start`, as one zod schema. Sources layer as file (YAML or TOML) < env
 * `MQ_*` < flags; an unknown or invalid key stops start-up with a message naming the key.
 */

import { z } from "zod";
import * as limits from "../common/limits.ts";

/**
 * Broker defaults, kept beside the schema so the broker (which may import config) and the
 * schema agree on one number each. Sandbox-friendly like RocketMQ's: topics are created on
 * first use with four queues.
 */
export const brokerDefaults = {
  autoCreateTopics: true,
  defaultTopicQueues: 4,
  /** A consumer or producer silent this long is dropped from its group (RocketMQ: 120 s). */
  clientExpiryMs: 120_000,
  /** A held pull is answered after at most this long, whatever the client asked for. */
  longPollMsMax: 15_000,
  /** Pulls held at once across all connections; more are answered at once (no hold). */
  heldPullsMax: 10_000,
  /** Consumer offsets are written to disk this often (and on shutdown). */
  offsetPersistIntervalMs: 5_000,
  /** A queue lock not renewed for this long is free for another client (RocketMQ: 60 s). */
  queueLockExpiryMs: 60_000,
} as const;

/** A boolean from a file, or "true"/"false" (and yes/no, 1/0) from the environment or a flag. */
const booleanSetting = z.union([z.boolean(), z.stringbool()]);

export const roleSchema = z.enum(["all", "namesrv", "broker", "http"]);

export const configSchema = z
  .object({
    role: z.array(roleSchema).min(1).default(["all"]),
    dataDir: z.string().min(1).default("./data"),
    listen: z.string().min(1).default("0.0.0.0"),
    advertise: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).default(10911),
    httpPort: z.number().int().min(0).max(65535).default(8080),
    flush: z.enum(["async", "sync"]).default("async"),
    flushIntervalMs: z.number().int().min(1).max(60_000).default(limits.flushIntervalMsDefault),
    commitLogFileBytes: z
      .number()
      .int()
      .min(limits.commitLogFileBytesMin)
      .max(limits.commitLogFileBytesMax)
      .refine((value) => value % limits.pageBytes === 0, `must be a multiple of ${limits.pageBytes}`)
      .default(limits.commitLogFileBytesDefault),
    consumeQueueEntriesPerFile: z.number().int().min(limits.consumeQueueEntriesPerFileMin).default(limits.consumeQueueEntriesPerFileDefault),
    fileReservedTimeHours: z.number().min(0).default(limits.fileReservedTimeHoursDefault),
    deleteWhenHour: z.number().int().min(0).max(23).default(limits.deleteWhenHourDefault),
    diskMaxUsedSpaceRatio: z.number().gt(0).max(1).default(limits.diskMaxUsedSpaceRatioDefault),
    diskFullRatio: z.number().gt(0).max(1).default(limits.diskFullRatioDefault),
    autoCreateTopics: booleanSetting.default(brokerDefaults.autoCreateTopics),
    defaultTopicQueues: z.number().int().min(1).max(limits.queuesPerTopicMax).default(brokerDefaults.defaultTopicQueues),
    clientExpiryMs: z.number().int().min(1_000).max(3_600_000).default(brokerDefaults.clientExpiryMs),
    longPollMsMax: z.number().int().min(0).max(30_000).default(brokerDefaults.longPollMsMax),
    heldPullsMax: z.number().int().min(0).max(1_000_000).default(brokerDefaults.heldPullsMax),
    offsetPersistIntervalMs: z.number().int().min(100).max(600_000).default(brokerDefaults.offsetPersistIntervalMs),
    queueLockExpiryMs: z.number().int().min(1_000).max(3_600_000).default(brokerDefaults.queueLockExpiryMs),
    logLevel: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  })
  .strict();

export type MqConfig = z.infer<typeof configSchema>;
export type MqConfigInput = z.input<typeof configSchema>;
