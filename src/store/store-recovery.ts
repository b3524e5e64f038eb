/**
 * Recovery at open. The CommitLog is the truth; consume queues and the index are rebuilt from it.
 *
 * 1. Verify: walk records (CRC, lengths, position) from the earliest point that may be damaged —
 *    the checkpoint, the start of the last file (a clean shutdown is verified too: files can be
 *    cut behind our back), or a file found short. A damaged record in the middle is dropped and
 *    the walk resynchronises at the next valid record (commit-log-walk.ts); only a torn tail, with
 *    nothing valid after it, is cut. Nothing dropped or cut is ever served.
 * 2. Replay: drop consume-queue entries at or past the replay point and re-dispatch every record
 *    from there to the end. The replay point is the checkpoint's durable dispatch offset, or the
 *    cut if that is earlier — or the oldest record when derived data was found missing or
 *    damaged (a deleted index directory, a consume queue with a file missing): then everything is
 *    rebuilt. Replay calls the store's one dispatch function, as live appends do. Index entries
 *    are hints verified on read, so replays are harmless.
 *
 * Both walks run in steps of `recoveryStepBytes`, yielding to the event loop between steps, so
 * the process answers its health probe during a long recovery and `progress` shows how far it is.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { recoveryProgressIntervalMs, recoveryStepBytes, MiB } from "../common/limits.ts";
import { physicalOffset as toPhysicalOffset } from "../common/offsets.ts";
import { readDispatchRecord, recordQueueId, RecordTopics, type DispatchRecord } from "./dispatch/dispatch-record.ts";
import type { CheckpointState } from "./checkpoint.ts";
import type { CommitLog } from "./commit-log.ts";
import { CommitLogWalk, type DroppedRange } from "./commit-log-walk.ts";
import type { ConsumeQueue } from "./consume-queue.ts";

/** How far recovery is; readable while it runs (the readiness probe shows it). */
export interface RecoveryProgress {
  phase: "waiting" | "verifying" | "replaying" | "done";
  bytesVerified: number;
  bytesTotal: number;
}

export function newRecoveryProgress(): RecoveryProgress {
  return { phase: "waiting", bytesVerified: 0, bytesTotal: 0 };
}

export interface RecoveryInput {
  commitLog: CommitLog;
  checkpoint: CheckpointState;
  abnormal: boolean;
  queues: () => ConsumeQueue[];
  /** The store's one dispatch function: replay feeds it exactly as live appends do. */
  dispatch: (record: DispatchRecord) => void;
  /** Why derived data (index, consume queues) was found missing or damaged: rebuild it all. */
  rebuild: string | undefined;
  /**
   * Whether a record takes a consume-queue entry (visible, of a topic not deleted since), and
   * whether its queue has one at its place. Asked of the first such record of each queue among
   * the verified records the checkpoint says were dispatched: a queue whose directory was deleted
   * fails it, and one failure rebuilds it all. (Files missing inside a queue are found at load.)
   */
  counts: (record: DispatchRecord) => boolean;
  holdsEntry: (topic: string, queueId: number, queueOffset: number) => boolean;
  logger: Logger;
  clock: Clock;
  progress: RecoveryProgress;
  /** Test knob: a pause after each step, so a test can watch a recovery in progress. */
  stepPauseMs: number;
}

export interface RecoveryReport {
  abnormal: boolean;
  verifiedFrom: number;
  replayedFrom: number;
  end: number;
  recordsVerified: number;
  recordsReplayed: number;
  /** Damaged ranges dropped in the middle of the log (records after them were kept). */
  dropped: DroppedRange[];
  droppedBytes: number;
  durationMs: number;
}

export async function recoverStore(input: RecoveryInput): Promise<RecoveryReport> {
  const { commitLog, checkpoint, logger, clock } = input;
  const startMs = clock.monotonicMs();
  let rebuildAll = input.queues().length === 0 || input.rebuild !== undefined;
  // The file holding the checkpoint is verified from its start: a file prepared ahead may follow it.
  const checkpointFileBase = commitLog.fileBaseOf(Math.max(0, checkpoint.dispatchFlushed - 1));
  let verifyFrom = Math.min(checkpoint.dispatchFlushed, checkpointFileBase, commitLog.lastFileBase, commitLog.firstShortFileBase() ?? Infinity);
  // Derived data lost (or never written): rebuild it from the oldest record.
  if (rebuildAll) verifyFrom = commitLog.minOffset;
  verifyFrom = Math.max(verifyFrom, commitLog.minOffset);

  const verified = await verify(input, verifyFrom, !rebuildAll);
  const { end, walk } = verified;
  let rebuild = input.rebuild ?? (input.queues().length === 0 ? "no consume queue is on disk" : undefined);
  if (verified.lostEntry !== undefined) {
    rebuild = verified.lostEntry;
    rebuildAll = true;
  }
  // Entries written before a dropped range may point into it: rebuild from the first one.
  const firstDropped = walk.dropped[0]?.offset ?? end;
  const replayFrom = rebuildAll ? commitLog.minOffset : Math.max(commitLog.minOffset, Math.min(checkpoint.dispatchFlushed, end, firstDropped));
  for (const queue of input.queues()) queue.truncateFrom(toPhysicalOffset(replayFrom));
  const recordsReplayed = await replay(input, replayFrom, end, rebuild);
  input.progress.phase = "done";
  const report: RecoveryReport = {
    abnormal: input.abnormal,
    verifiedFrom: verifyFrom,
    replayedFrom: replayFrom,
    end,
    recordsVerified: verified.records,
    recordsReplayed,
    dropped: walk.dropped,
    droppedBytes: walk.droppedBytes,
    durationMs: clock.monotonicMs() - startMs,
  };
  if (input.abnormal || recordsReplayed > 0 || walk.dropped.length > 0) {
    logger.info(
      `Recovery (${input.abnormal ? "after a crash" : "after a clean shutdown"}): CommitLog ends at ${end}, ` +
        `verified ${verified.records} records from ${verifyFrom}, replayed ${recordsReplayed} from ${replayFrom}, ` +
        `dropped ${walk.dropped.length} damaged ranges (${report.droppedBytes} bytes) in ${report.durationMs.toFixed(0)} ms`,
    );
  }
  return report;
}

/**
 * Step 1: walks the log from `from`, drops damage in the middle, cuts a torn tail. With
 * `checkEntries`, also finds a dispatched record whose consume-queue entry is gone.
 */
async function verify(input: RecoveryInput, from: number, checkEntries: boolean): Promise<{ end: number; walk: CommitLogWalk; records: number; lostEntry: string | undefined }> {
  const { commitLog, checkpoint, logger, clock, progress } = input;
  const total = Math.max(0, commitLog.lastFileBase + commitLog.fileBytes - from);
  progress.phase = "verifying";
  progress.bytesTotal = total;
  let lastReportMs = clock.monotonicMs();
  let records = 0;
  let lostEntry: string | undefined;
  const topics = new RecordTopics();
  const walk = new CommitLogWalk(commitLog, from, checkpoint.commitLogFlushed, (physicalOffset, file, position) => {
    records += 1;
    if (!checkEntries || lostEntry !== undefined || physicalOffset >= checkpoint.dispatchFlushed) return;
    // The first visible record of each queue: a queue whose directory is gone has none of them.
    const known = topics.of(file.bytes, file.view, position);
    const queueId = recordQueueId(file.view, position);
    if (known.marked[queueId] === true) return;
    const record = readDispatchRecord(file.bytes, file.view, position);
    if (!input.counts(record)) return;
    known.marked[queueId] = true;
    if (!input.holdsEntry(record.topic, record.queueId, record.queueOffset)) lostEntry = `consume queue ${record.queueId} of "${record.topic}" has no entry for queue offset ${record.queueOffset}`;
  });
  while (!walk.step(recoveryStepBytes)) {
    progress.bytesVerified = walk.position - from;
    const nowMs = clock.monotonicMs();
    if (nowMs - lastReportMs >= recoveryProgressIntervalMs) {
      lastReportMs = nowMs;
      logger.info(`Recovery: verified ${(progress.bytesVerified / MiB).toFixed(0)} of at most ${(total / MiB).toFixed(0)} MiB of CommitLog`);
    }
    await pause(input.stepPauseMs);
  }
  const end = walk.position;
  progress.bytesVerified = total;
  if (walk.tornReason !== undefined) logger.warn(`CommitLog recovery: cutting a torn tail at offset ${end}: ${walk.tornReason}`);
  cutTail(commitLog, end);
  for (const range of walk.dropped) {
    logger.error(`Recovery: dropped ${range.bytes} damaged bytes of CommitLog at offset ${range.offset} (${range.reason}); the valid records after them are kept`);
  }
  return { end, walk, records, lostEntry };
}

/** Step 2: re-dispatches every record in [from, end) through the store's one dispatch function. */
async function replay(input: RecoveryInput, from: number, end: number, rebuild: string | undefined): Promise<number> {
  const { commitLog, logger, clock } = input;
  input.progress.phase = "replaying";
  if (from >= end) return 0;
  if (rebuild !== undefined) logger.warn(`Rebuilding the index and consume queues from the CommitLog (${((end - from) / MiB).toFixed(0)} MiB): ${rebuild}`);
  let records = 0;
  let lastReportMs = clock.monotonicMs();
  const walk = new CommitLogWalk(commitLog, from, end, (physicalOffset, file, position) => {
    input.dispatch(readDispatchRecord(file.bytes, file.view, position));
    records += 1;
    // Progress once a second, checked every 1024 records so the clock is not read per record.
    if ((records & 1023) !== 0) return;
    const nowMs = clock.monotonicMs();
    if (nowMs - lastReportMs < recoveryProgressIntervalMs) return;
    lastReportMs = nowMs;
    logger.info(`Recovery: replayed ${records} records, ${((physicalOffset - from) / MiB).toFixed(0)} of ${((end - from) / MiB).toFixed(0)} MiB`);
  });
  while (!walk.step(recoveryStepBytes)) await pause(input.stepPauseMs);
  return records;
}

/** Zeroes what follows the last valid record in its file and ends the log there. */
function cutTail(commitLog: CommitLog, end: number): void {
  const holder = commitLog.fileAt(commitLog.fileIndexOf(end));
  // Cheap on real files (fallocate ZERO_RANGE drops the pages without reading them).
  if (holder !== undefined) holder.file.zeroRange(end - holder.base, commitLog.fileBytes);
  commitLog.resetTo(toPhysicalOffset(end));
}

function pause(ms: number): Promise<void> {
  // A macrotask, not a microtask: HTTP requests and timers run between steps.
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}
