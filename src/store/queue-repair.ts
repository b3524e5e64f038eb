/**
 * Repairs damaged consume-queue entries from the CommitLog, the truth they are derived from.
 * Readers report an entry that names no valid record of its own (topic, queue id, queue offset);
 * the repair walks the CommitLog once for all queues reported meanwhile, rewrites each damaged
 * entry from the record that carries that queue offset, and blanks an entry whose record is gone
 * (blank entries are skipped by readers). The walk runs in steps of `queueRepairStepBytes`, each
 * in its own event-loop turn, so sends and reads go on while a large log is scanned.
 */

import { queueRepairStepBytes } from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { checkRecord, decodeRecord, type StoredMessage } from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, type QueueOffset } from "../common/offsets.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";
import { entryBytes, readEntry, writeEntry, type ConsumeQueueEntry } from "./consume-queue-entry.ts";

export interface QueueRepairOptions {
  commitLog: CommitLog;
  logger: Logger;
  /** The queue currently registered for (topic, queueId): a deleted or replaced queue is left alone. */
  currentQueue: (topic: string, queueId: number) => ConsumeQueue | undefined;
  /** The entry a record gets when dispatched (its tag hash as the store computes it). */
  entryOf: (message: StoredMessage) => ConsumeQueueEntry;
}

export interface QueueRepairReport {
  entriesRewritten: number;
  entriesBlanked: number;
}

const blankEntry: ConsumeQueueEntry = { physicalOffset: toPhysicalOffset(0), size: 0, tagHash: 0 };

export class QueueRepair {
  /** Damaged queue offsets per queue, waiting for the next walk. */
  private pending = new Map<ConsumeQueue, Set<QueueOffset>>();
  private running: Promise<QueueRepairReport> | undefined;
  private stopped = false;

  constructor(private readonly options: QueueRepairOptions) {}

  /** Records a damaged entry; a walk starts unless one is running (it picks this up after). */
  schedule(queue: ConsumeQueue, queueOffset: QueueOffset): void {
    if (this.stopped) return;
    let offsets = this.pending.get(queue);
    if (offsets === undefined) {
      offsets = new Set();
      this.pending.set(queue, offsets);
    }
    offsets.add(queueOffset);
    this.running ??= this.drain();
  }

  /** Resolves once every damage reported so far is repaired (for tests and shutdown). */
  idle(): Promise<QueueRepairReport> {
    return this.running ?? Promise.resolve({ entriesRewritten: 0, entriesBlanked: 0 });
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<QueueRepairReport> {
    const report: QueueRepairReport = { entriesRewritten: 0, entriesBlanked: 0 };
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const batch = this.pending;
        this.pending = new Map();
        const found = await this.walk(batch);
        if (this.stopped) break;
        this.apply(batch, found, report);
      }
    } finally {
      this.running = undefined;
    }
    return report;
  }

  /** Finds, for each damaged (queue, offset), the record that carries it. */
  private async walk(batch: Map<ConsumeQueue, Set<QueueOffset>>): Promise<Map<ConsumeQueue, Map<QueueOffset, ConsumeQueueEntry>>> {
    const { commitLog } = this.options;
    const found = new Map<ConsumeQueue, Map<QueueOffset, ConsumeQueueEntry>>();
    const byName = new Map<string, ConsumeQueue>();
    for (const queue of batch.keys()) byName.set(`${queue.topic}\u0000${queue.queueId}`, queue);
    let position: number = commitLog.minOffset;
    while (position < commitLog.writePosition && !this.stopped) {
      const stepEnd = position + queueRepairStepBytes;
      while (position < stepEnd && position < commitLog.writePosition) {
        const located = commitLog.locate(toPhysicalOffset(position));
        if (located === undefined) break;
        const { file, base } = located;
        const check = checkRecord(file.bytes, file.view, located.position, commitLog.fileBytes, position);
        if (check.kind !== "record") {
          // The end-of-file marker, or damage the recovery left behind: go on at the next file.
          position = base + commitLog.fileBytes;
          continue;
        }
        const message = decodeRecord(file.bytes.subarray(located.position, located.position + check.totalSize));
        const queue = byName.get(`${message.topic}\u0000${message.queueId}`);
        if (queue !== undefined && batch.get(queue)!.has(message.queueOffset)) {
          let entries = found.get(queue);
          if (entries === undefined) {
            entries = new Map();
            found.set(queue, entries);
          }
          entries.set(message.queueOffset, this.options.entryOf(message));
        }
        position += check.totalSize;
      }
      // Let sends and reads run between steps; positions are re-read after the turn.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (position < commitLog.minOffset) position = commitLog.minOffset;
    }
    return found;
  }

  private apply(batch: Map<ConsumeQueue, Set<QueueOffset>>, found: Map<ConsumeQueue, Map<QueueOffset, ConsumeQueueEntry>>, report: QueueRepairReport): void {
    for (const [queue, offsets] of batch) {
      if (this.options.currentQueue(queue.topic, queue.queueId) !== queue) continue;
      for (const queueOffset of offsets) {
        const located = queue.locate(queueOffset);
        if (located === undefined) continue;
        const entry = found.get(queue)?.get(queueOffset);
        const before = readEntry(located.file.view, located.position);
        writeEntry(located.file.view, located.position, entry ?? blankEntry);
        located.file.flush(located.position, located.position + entryBytes).catch((error: Error) => this.options.logger.warn(`Cannot flush a repaired entry: ${error.message}`));
        if (entry !== undefined) report.entriesRewritten += 1;
        else report.entriesBlanked += 1;
        this.options.logger.warn(
          `Repaired entry of "${queue.topic}" queue ${queue.queueId} at queue offset ${queueOffset} from the CommitLog: ` +
            (entry === undefined ? `no record carries it, entry blanked (was CommitLog offset ${before.physicalOffset})` : `CommitLog offset ${before.physicalOffset} -> ${entry.physicalOffset}`),
        );
      }
    }
  }
}
