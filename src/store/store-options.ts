/**
 * Settings of one MessageStore with their defaults. Values come already validated (the config
 * layer's zod schema, or a test); dependencies that are not deterministic — the clock, the disk
 * usage probe, the storage — are injected here.
 */

import { statfsSync } from "node:fs";
import type { Clock } from "../common/clock.ts";
import { systemClock } from "../common/clock.ts";
import type { EventBus } from "../common/bus.ts";
import * as limits from "../common/limits.ts";
import { createLogger, type Logger } from "../common/logger.ts";
import type { Dispatcher, DispatcherSlot } from "./dispatch/record-dispatch.ts";
import type { PhysicalOffset, QueueOffset } from "../common/offsets.ts";
import { FaultPoints } from "./fault-points.ts";
import type { FileStorage } from "./mapped-file.ts";
import { MemoryStorage } from "./memory-storage.ts";
import { MmapStorage } from "./mmap-storage.ts";
import { newRecoveryProgress, type RecoveryProgress } from "./store-recovery.ts";

export type FlushMode = "async" | "sync";

/** Events the store publishes on the in-process bus. */
export type StoreEvents = {
  /**
   * After each record is appended (live only, not replayed). msgId, keys, properties and
   * reconsumeTimes are the writer's own objects, handed on without a copy (the trace writer
   * reads them): listeners must not change them.
   */
  "message.stored": {
    topic: string;
    queueId: number;
    queueOffset: QueueOffset;
    physicalOffset: PhysicalOffset;
    /** The whole record's bytes in the CommitLog. */
    size: number;
    storeTimestampMs: number;
    msgId: string | undefined;
    keys: readonly string[] | undefined;
    tags: string | undefined;
    properties: Readonly<Record<string, string>> | undefined;
    reconsumeTimes: number | undefined;
  };
  /** After each background flush + checkpoint; durationMs is how long the whole run took. */
  "store.flushed": { commitLogFlushed: number; durationMs: number };
};

/**
 * How full the file system holding `dir` is, 0..1. `usedRatio` counts as `df` does: blocks
 * reserved for root are neither used nor available (used / (used + available)); it drives the
 * thresholds. `usedRatioCountingReserved` counts them as used (1 - available / total): shown
 * alongside, since an unprivileged writer hits the disk's end there.
 */
export interface DiskUsage {
  usedRatio: number;
  usedRatioCountingReserved: number;
}

/** A probe returns the ratio alone (tests) or both. */
export type DiskUsageProbe = (dir: string) => number | DiskUsage;

export const statfsDiskUsage: DiskUsageProbe = (dir) => {
  const stats = statfsSync(dir);
  const used = stats.blocks - stats.bfree;
  const usable = used + stats.bavail;
  return {
    usedRatio: usable === 0 ? 0 : used / usable,
    usedRatioCountingReserved: stats.blocks === 0 ? 0 : 1 - stats.bavail / stats.blocks,
  };
};

export interface MessageStoreOptions {
  dataDir: string;
  commitLogFileBytes?: number;
  consumeQueueEntriesPerFile?: number;
  indexSlotsPerFile?: number;
  indexEntriesPerFile?: number;
  flush?: FlushMode;
  flushIntervalMs?: number;
  /** Most bytes of the CommitLog kept faulted in ahead of the write position (default 256 MiB). */
  warmAheadBytes?: number;
  fileReservedTimeHours?: number;
  deleteWhenHour?: number;
  diskMaxUsedSpaceRatio?: number;
  diskCleanForciblyRatio?: number;
  diskFullRatio?: number;
  retentionCheckIntervalMs?: number;
  storeHost?: { ip: string; port: number };
  storage?: FileStorage | "mmap" | "memory";
  clock?: Clock;
  logger?: Logger;
  faults?: FaultPoints;
  diskUsage?: DiskUsageProbe;
  bus?: EventBus<StoreEvents>;
  /** Dispatchers for the slots after the store's own, receiving replayed records too. */
  dispatchers?: Partial<Record<Exclude<DispatcherSlot, "consume_queue" | "index">, Dispatcher>>;
  /**
   * Keep every CommitLog file until a sink of scheduled records is attached (a broker serving
   * timers): retention must not delete a pending timer's record before anyone knows which it is.
   */
  holdRetentionForTimers?: boolean;
  /** Filled in while the store recovers, for a readiness probe served meanwhile. */
  recoveryProgress?: RecoveryProgress;
  /** Test knob: pause this long after each recovery step, to observe a recovery in progress. */
  recoveryStepPauseMs?: number;
}

export type ResolvedStoreOptions = Required<Omit<MessageStoreOptions, "bus" | "storage">> & {
  bus: EventBus<StoreEvents> | undefined;
  storage: FileStorage;
};

let sharedMmapStorage: MmapStorage | undefined;

/** One MmapStorage per process: its helper threads are long-lived and shared by every store. */
export function defaultMmapStorage(): MmapStorage {
  sharedMmapStorage ??= new MmapStorage();
  return sharedMmapStorage;
}

export function resolveStoreOptions(options: MessageStoreOptions): ResolvedStoreOptions {
  const storage =
    options.storage === undefined || options.storage === "mmap"
      ? defaultMmapStorage()
      : options.storage === "memory"
        ? new MemoryStorage()
        : options.storage;
  const fileBytes = options.commitLogFileBytes ?? limits.commitLogFileBytesDefault;
  if (fileBytes < limits.commitLogFileBytesMin || fileBytes > limits.commitLogFileBytesMax || fileBytes % limits.pageBytes !== 0) {
    throw new RangeError(`commitLogFileBytes is ${fileBytes}: expected a multiple of ${limits.pageBytes} between ${limits.commitLogFileBytesMin} and ${limits.commitLogFileBytesMax}`);
  }
  const diskMaxUsedSpaceRatio = options.diskMaxUsedSpaceRatio ?? limits.diskMaxUsedSpaceRatioDefault;
  return {
    dataDir: options.dataDir,
    commitLogFileBytes: fileBytes,
    consumeQueueEntriesPerFile: Math.max(limits.consumeQueueEntriesPerFileMin, options.consumeQueueEntriesPerFile ?? limits.consumeQueueEntriesPerFileDefault),
    indexSlotsPerFile: options.indexSlotsPerFile ?? limits.indexSlotsPerFileDefault,
    indexEntriesPerFile: options.indexEntriesPerFile ?? limits.indexEntriesPerFileDefault,
    flush: options.flush ?? "async",
    flushIntervalMs: options.flushIntervalMs ?? limits.flushIntervalMsDefault,
    warmAheadBytes: options.warmAheadBytes ?? limits.commitLogWarmAheadBytesDefault,
    fileReservedTimeHours: options.fileReservedTimeHours ?? limits.fileReservedTimeHoursDefault,
    deleteWhenHour: options.deleteWhenHour ?? limits.deleteWhenHourDefault,
    diskMaxUsedSpaceRatio,
    diskCleanForciblyRatio: options.diskCleanForciblyRatio ?? Math.max(diskMaxUsedSpaceRatio, 0.85),
    diskFullRatio: options.diskFullRatio ?? limits.diskFullRatioDefault,
    retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? limits.retentionCheckIntervalMsDefault,
    storeHost: options.storeHost ?? { ip: "127.0.0.1", port: 10911 },
    storage,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? createLogger({ scope: "store" }),
    faults: options.faults ?? new FaultPoints(),
    diskUsage: options.diskUsage ?? statfsDiskUsage,
    bus: options.bus,
    dispatchers: options.dispatchers ?? {},
    holdRetentionForTimers: options.holdRetentionForTimers ?? false,
    recoveryProgress: options.recoveryProgress ?? newRecoveryProgress(),
    recoveryStepPauseMs: options.recoveryStepPauseMs ?? 0,
  };
}

/** Tiny files so rolls and wrap-arounds happen within a few messages (TigerBeetle's test_min). */
export const tinyStoreProfile = {
  commitLogFileBytes: 64 * limits.KiB,
  consumeQueueEntriesPerFile: 8,
  indexSlotsPerFile: 64,
  indexEntriesPerFile: 32,
} as const satisfies Partial<MessageStoreOptions>;
