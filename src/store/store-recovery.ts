/**
 * Recovery at open. The CommitLog is the truth; consume queues and the index are rebuilt from it.
 *
 * 1. Verify: walk records (CRC, lengths, position) from the earliest point that may be damaged —
 *    the checkpoint, the start of the last file (a clean shutdown is verified too: files can be
 *    cut behind our back), or a file found short — and cut at the first invalid record. Nothing
 *    after the cut is ever served.
 * 2. Replay: drop consume-queue entries at or past the replay point and re-dispatch every record
 *    from there to the end. The replay point is the checkpoint's durable dispatch offset, or the
 *    cut if that is earlier — or the oldest record when derived data was found missing or
 *    damaged (a deleted index directory, a consume queue with a file missing): then everything is
 *    rebuilt, with progress logged each second. Replay calls the store's one dispatch function,
 *    as live appends do. Index entries are hints verified on read, so replays are harmless.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { recoveryProgressIntervalMs, MiB } from "../common/limits.ts";
import { readDispatchRecord, type DispatchRecord } from "./dispatch/dispatch-record.ts";
import type { CheckpointState } from "./checkpoint.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";

export interface RecoveryInput {
  commitLog: CommitLog;
  checkpoint: CheckpointState;
  abnormal: boolean;
  queues: () => ConsumeQueue[];
  /** The store's one dispatch function: replay feeds it exactly as live appends do. */
  dispatch: (record: DispatchRecord) => void;
  /** Why derived data (index, consume queues) was found missing or damaged: rebuild it all. */
  rebuild: string | undefined;
  logger: Logger;
  clock: Clock;
}

export interface RecoveryReport {
  abnormal: boolean;
  verifiedFrom: number;
  replayedFrom: number;
  end: number;
  recordsVerified: number;
  recordsReplayed: number;
  durationMs: number;
}

export function recoverStore(input: RecoveryInput): RecoveryReport {
  const { commitLog, checkpoint, logger, clock } = input;
  const startMs = clock.monotonicMs();
  const noQueuesYet = input.queues().length === 0;
  const rebuildAll = noQueuesYet || input.rebuild !== undefined;
  // The file holding the checkpoint is verified from its start: a file prepared ahead may follow it.
  const checkpointFileBase = commitLog.fileBaseOf(Math.max(0, checkpoint.dispatchFlushed - 1));
  let verifyFrom = Math.min(checkpoint.dispatchFlushed, checkpointFileBase, commitLog.lastFileBase, commitLog.firstShortFileBase() ?? Infinity);
  // Derived data lost (or never written): rebuild it from the oldest record.
  if (rebuildAll) verifyFrom = commitLog.minOffset;
  verifyFrom = Math.max(verifyFrom, commitLog.minOffset);

  const total = Math.max(0, commitLog.lastFileBase + commitLog.fileBytes - verifyFrom);
  let lastReportMs = startMs;
  let recordsVerified = 0;
  const end = commitLog.recover(
    verifyFrom,
    () => {
      recordsVerified += 1;
    },
    (position) => {
      const nowMs = clock.monotonicMs();
      if (nowMs - lastReportMs < recoveryProgressIntervalMs) return;
      lastReportMs = nowMs;
      logger.info(`Recovery: verified ${((position - verifyFrom) / MiB).toFixed(0)} of at most ${(total / MiB).toFixed(0)} MiB of CommitLog`);
    },
  );

  const replayFrom = rebuildAll ? commitLog.minOffset : Math.max(commitLog.minOffset, Math.min(checkpoint.dispatchFlushed, end));
  for (const queue of input.queues()) queue.truncateFrom(replayFrom);
  let recordsReplayed = 0;
  if (replayFrom < end) {
    if (input.rebuild !== undefined) logger.warn(`Rebuilding the index and consume queues from the CommitLog (${((end - replayFrom) / MiB).toFixed(0)} MiB): ${input.rebuild}`);
    let lastReplayReportMs = clock.monotonicMs();
    commitLog.recover(replayFrom, (physicalOffset, file, position) => {
      input.dispatch(readDispatchRecord(file.bytes, file.view, position));
      recordsReplayed += 1;
      // Progress once a second, checked every 4096 records so the clock is not read per record.
      if ((recordsReplayed & 4095) !== 0) return;
      const nowMs = clock.monotonicMs();
      if (nowMs - lastReplayReportMs < recoveryProgressIntervalMs) return;
      lastReplayReportMs = nowMs;
      logger.info(`Recovery: replayed ${recordsReplayed} records, ${((physicalOffset - replayFrom) / MiB).toFixed(0)} of ${((end - replayFrom) / MiB).toFixed(0)} MiB`);
    });
  }
  const report: RecoveryReport = {
    abnormal: input.abnormal,
    verifiedFrom: verifyFrom,
    replayedFrom: replayFrom,
    end,
    recordsVerified,
    recordsReplayed,
    durationMs: clock.monotonicMs() - startMs,
  };
  if (input.abnormal || recordsReplayed > 0) {
    logger.info(
      `Recovery (${input.abnormal ? "after a crash" : "after a clean shutdown"}): CommitLog ends at ${end}, ` +
        `verified ${recordsVerified} records from ${verifyFrom}, replayed ${recordsReplayed} from ${replayFrom} in ${report.durationMs.toFixed(0)} ms`,
    );
  }
  return report;
}
