/**
 * Retention: CommitLog files older than fileReservedTime are deleted at the deleteWhen hour, or
 * at once when disk use passes diskMaxUsedSpaceRatio; past diskCleanForciblyRatio the oldest
 * files go even if young (as RocketMQ does), so a full disk frees itself. At diskFullRatio
 * appends are refused while reads go on; they resume by themselves once use drops below it.
 * A file's age is the store time of the first record of the file after it (when it stopped
 * being written), so an injected clock drives the whole policy.
 */

import { filesDeletedPerRetentionRunMax } from "../common/limits.ts";
import type { PhysicalOffset } from "../common/offsets.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ResolvedStoreOptions } from "./store-options.ts";

export interface RetentionTargets {
  commitLog: CommitLog;
  /** Deletes consume-queue and index files that point only below the new CommitLog minimum. */
  afterCommitLogDeleted(commitLogMin: PhysicalOffset): void;
  /** The lowest CommitLog offset pending timers still need (their records); undefined: none. */
  keepFrom?(): number | undefined;
}

export interface RetentionReport {
  usedRatio: number;
  diskFull: boolean;
  filesDeleted: number;
  /** Expired files kept because a pending timer's record is in them (this run). */
  filesKeptForTimers: number;
}

export class Retention {
  diskFull = false;
  /** As `df` counts (see DiskUsage); the thresholds compare this one. */
  usedRatio = 0;
  usedRatioCountingReserved = 0;
  /** Runs that kept an expired file for a pending timer's record (a metric and a log line). */
  filesKeptForTimersTotal = 0;

  constructor(private readonly options: ResolvedStoreOptions, private readonly targets: RetentionTargets) {}

  run(): RetentionReport {
    const options = this.options;
    this.usedRatio = this.probe();
    const nowMs = options.clock.nowMs();
    const atDeleteHour = new Date(nowMs).getHours() === options.deleteWhenHour;
    const pressed = this.usedRatio >= options.diskMaxUsedSpaceRatio;
    const forced = this.usedRatio >= options.diskCleanForciblyRatio;
    const reservedMs = options.fileReservedTimeHours * 3_600_000;
    let filesDeleted = 0;
    let filesKeptForTimers = 0;
    if (atDeleteHour || pressed) {
      const commitLog = this.targets.commitLog;
      while (filesDeleted < filesDeletedPerRetentionRunMax) {
        const full = commitLog.fullFiles();
        const oldest = full[0];
        if (oldest === undefined) break;
        const closedAtMs = commitLog.firstRecordTimestamp(oldest.index + 1) ?? nowMs;
        const expired = nowMs - closedAtMs >= reservedMs;
        if (!expired && !forced) break;
        const keepFrom = this.targets.keepFrom?.();
        if (keepFrom !== undefined && keepFrom < oldest.base + commitLog.fileBytes) {
          // A pending timer's record is in this file: it stays, and so does every later file.
          filesKeptForTimers = 1;
          this.filesKeptForTimersTotal += 1;
          options.logger.info(`Retention: kept CommitLog file "${oldest.path}": it holds the record of a pending scheduled message (offset ${keepFrom})`);
          break;
        }
        if (commitLog.deleteOldestFile() === undefined) break;
        filesDeleted += 1;
        options.logger.info(`Retention: deleted CommitLog file "${oldest.path}" (${expired ? "expired" : `disk ${Math.round(this.usedRatio * 100)}% used`})`);
        if (forced && !expired) this.usedRatio = this.probe();
        if (this.usedRatio < options.diskCleanForciblyRatio && !expired) break;
      }
      if (filesDeleted > 0) {
        this.targets.afterCommitLogDeleted(commitLog.minOffset);
        this.usedRatio = this.probe();
      }
    }
    this.updateDiskFull();
    return { usedRatio: this.usedRatio, diskFull: this.diskFull, filesDeleted, filesKeptForTimers };
  }

  /** Re-reads the free space and updates `diskFull` (no deletion): the append path's check. */
  refreshDiskFull(): boolean {
    this.usedRatio = this.probe();
    this.updateDiskFull();
    return this.diskFull;
  }

  private updateDiskFull(): void {
    const options = this.options;
    const wasFull = this.diskFull;
    this.diskFull = this.usedRatio >= options.diskFullRatio;
    if (this.diskFull !== wasFull) {
      const percent = Math.round(this.usedRatio * 100);
      if (this.diskFull) options.logger.error(`Disk is ${percent}% full: refusing appends until it drops below ${Math.round(options.diskFullRatio * 100)}%`);
      else options.logger.info(`Disk is ${percent}% full: accepting appends again`);
    }
  }

  private probe(): number {
    try {
      const usage = this.options.diskUsage(this.options.dataDir);
      if (typeof usage === "number") {
        this.usedRatioCountingReserved = usage;
        return usage;
      }
      this.usedRatioCountingReserved = usage.usedRatioCountingReserved;
      return usage.usedRatio;
    } catch (error) {
      this.options.logger.warn(`Cannot read disk usage of "${this.options.dataDir}": ${(error as Error).message}`);
      return this.usedRatio;
    }
  }
}
