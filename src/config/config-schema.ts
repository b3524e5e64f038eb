/**
 * Every setting of `mq start`, as one zod schema. Sources layer as file (YAML or TOML) < env
 * `MQ_*` < flags; an unknown or invalid key stops start-up with a message naming the key.
 */

import { z } from "zod";
import * as limits from "../common/limits.ts";

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
    logLevel: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  })
  .strict();

export type MqConfig = z.infer<typeof configSchema>;
export type MqConfigInput = z.input<typeof configSchema>;
