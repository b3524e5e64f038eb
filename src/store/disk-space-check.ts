/**
 * The free-space check on the append path's own schedule. A disk can fill in a second (4 senders
 * of 16 KiB bodies fill a small file system that fast), far inside the retention pass's 10 s, so
 * appends re-read the free space every `diskCheckIntervalBytes` written: per append a counter
 * compare, a statfs only every N bytes. While the disk is full, appends are refused and the free
 * space is re-read at most every `diskFullRecheckIntervalMs`, so sends resume by themselves once
 * space returns. A file that cannot be allocated (ENOSPC) also counts as a full disk.
 */

import type { Clock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { diskCheckIntervalBytes, diskFullRecheckIntervalMs } from "../common/limits.ts";
import type { PutFailure } from "./put-message.ts";
import type { Retention } from "./retention.ts";

export class DiskSpaceCheck {
  private bytesSinceCheck = 0;
  private nextRecheckMs = 0;

  constructor(
    private readonly retention: Retention,
    private readonly clock: Clock,
    private readonly diskFullRatio: number,
  ) {}

  /** The refusal for a full disk, or undefined when appends may go on. */
  refusal(): PutFailure | undefined {
    if (!this.retention.diskFull) return undefined;
    const nowMs = this.clock.monotonicMs();
    if (nowMs >= this.nextRecheckMs) {
      this.nextRecheckMs = nowMs + diskFullRecheckIntervalMs;
      if (!this.retention.refreshDiskFull()) return undefined;
    }
    return this.diskFull();
  }

  /** Counts bytes appended; past the interval, re-reads the free space. */
  written(bytes: number): void {
    this.bytesSinceCheck += bytes;
    if (this.bytesSinceCheck < diskCheckIntervalBytes) return;
    this.bytesSinceCheck = 0;
    this.retention.refreshDiskFull();
  }

  /** An append failed: when a file could not be allocated for want of space, say the disk is full. */
  failed(error: MqError): PutFailure | undefined {
    if (!String(error.params.reason ?? "").includes("ENOSPC")) return undefined;
    this.retention.refreshDiskFull();
    return this.diskFull();
  }

  private diskFull(): PutFailure {
    return { status: "disk_full", usedRatio: this.retention.usedRatio, limitRatio: this.diskFullRatio };
  }
}
