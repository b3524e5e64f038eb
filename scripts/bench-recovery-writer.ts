/**
 * Child process of scripts/bench-recovery.ts. Two modes, each printing one JSON object per line
 * on stdout for the parent to read:
 *
 *   write <dataDir> <targetBytes> <fileBytes> [checkpoints|no-checkpoints]
 *     Opens an async-flush store and appends 1 KiB messages over 8 queues in runs of 4096 (one
 *     yield between runs, so the flush timer runs), calling checkpointNow() every 64 MiB.
 *     With no-checkpoints the flush timer is set to an hour and checkpointNow() is never called:
 *     the worst case, a crash before the first checkpoint, so recovery replays everything.
 *     Prints {"event":"progress"} about each second and {"event":"filled"} once the CommitLog
 *     holds targetBytes; it then keeps appending (so the parent's SIGKILL lands mid-write) up to
 *     targetBytes + 8 MiB and idles until killed.
 *
 *   open <dataDir> <fileBytes>
 *     Times MessageStore.open on the directory (recovery included) and prints {"event":"ready"}
 *     with the open time, the recovery report and every queue's max offset, after checking that
 *     the last message of each queue reads back at the right queue offset. Then closes the store.
 */

import { silentLogger } from "../src/common/logger.ts";
import { decodeRecord } from "../src/common/message-record.ts";
import { queueOffset } from "../src/common/offsets.ts";
import { MessageStore } from "../src/store/message-store.ts";

const MiB = 1024 * 1024;
const topic = "BenchRecovery";
const queues = 8;
const runOps = 4096;
const checkpointEveryBytes = 64 * MiB;
const slackBytes = 8 * MiB;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function body(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = 0x9e3779b9;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

async function write(dataDir: string, targetBytes: number, fileBytes: number, checkpointing: boolean): Promise<void> {
  const flushIntervalMs = checkpointing ? undefined : 3_600_000;
  const store = await MessageStore.open({ dataDir, flush: "async", commitLogFileBytes: fileBytes, logger: silentLogger, flushIntervalMs });
  const payload = body(1024);
  const perQueue = new Array<number>(queues).fill(0);
  let messages = 0;
  let nextCheckpointAt = checkpointEveryBytes;
  let checkpoints = 0;
  let filled = false;
  const startMs = performance.now();
  let lastProgressMs = startMs;
  for (;;) {
    const position = store.commitLog.writePosition;
    if (position >= targetBytes + slackBytes) break;
    for (let run = 0; run < runOps; run++) {
      const queueId = messages % queues;
      const result = store.append({ topic, queueId, body: payload });
      if (result.status !== "ok") throw new Error(`Cannot append message ${messages}: status is "${result.status}"`);
      perQueue[queueId]! += 1;
      messages += 1;
    }
    const written = store.commitLog.writePosition;
    if (checkpointing && written >= nextCheckpointAt) {
      nextCheckpointAt += checkpointEveryBytes;
      checkpoints += 1;
      void store.checkpointNow().catch((error: Error) => emit({ event: "error", message: `Checkpoint failed: ${error.message}` }));
    }
    const nowMs = performance.now();
    if (!filled && written >= targetBytes) {
      filled = true;
      emit({ event: "filled", bytes: written, messages, perQueue, checkpoints, elapsedMs: nowMs - startMs });
    } else if (nowMs - lastProgressMs >= 1000) {
      lastProgressMs = nowMs;
      emit({ event: "progress", bytes: written, messages, checkpoints, elapsedMs: nowMs - startMs });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  emit({ event: "idle", bytes: store.commitLog.writePosition, messages, perQueue });
  // Wait for the SIGKILL with the store open, as a crashed broker would be.
  setInterval(() => {}, 1 << 30);
}

async function open(dataDir: string, fileBytes: number): Promise<void> {
  const startMs = performance.now();
  const store = await MessageStore.open({ dataDir, flush: "async", commitLogFileBytes: fileBytes, logger: silentLogger });
  const openMs = performance.now() - startMs;
  // performance.now() counts from this process's start: module loading included.
  const readySinceProcessStartMs = performance.now();
  const maxOffsets: number[] = [];
  const problems: string[] = [];
  for (let queueId = 0; queueId < queues; queueId++) {
    const maxOffset = store.maxOffset(topic, queueId);
    maxOffsets.push(maxOffset);
    if (maxOffset === 0) {
      problems.push(`queue ${queueId} is empty`);
      continue;
    }
    const result = store.getMessages({ topic, queueId, offset: queueOffset(maxOffset - 1), maxCount: 1 });
    const first = result.messages[0];
    if (result.status !== "found" || first === undefined) {
      problems.push(`queue ${queueId}: last message at ${maxOffset - 1} reads as "${result.status}"`);
      continue;
    }
    const message = decodeRecord(result.buffer, first.position);
    if (message.queueOffset !== maxOffset - 1 || message.queueId !== queueId || message.topic !== topic || message.body.length !== 1024) {
      problems.push(`queue ${queueId}: last record has queue offset ${message.queueOffset}, queue ${message.queueId}, topic "${message.topic}", body ${message.body.length} bytes`);
    }
  }
  const commitLogEnd = store.commitLog.writePosition;
  emit({ event: "ready", openMs, readySinceProcessStartMs, recovery: store.recovery, maxOffsets, commitLogEnd, problems });
  const closeStartMs = performance.now();
  await store.close();
  emit({ event: "closed", closeMs: performance.now() - closeStartMs });
}

const [mode, dataDir, ...rest] = process.argv.slice(2);
if (mode === "write" && dataDir !== undefined && (rest.length === 2 || rest.length === 3)) {
  await write(dataDir, Number(rest[0]), Number(rest[1]), rest[2] !== "no-checkpoints");
} else if (mode === "open" && dataDir !== undefined && rest.length === 1) {
  await open(dataDir, Number(rest[0]));
} else {
  console.error("Usage: bench-recovery-writer.ts write <dataDir> <targetBytes> <fileBytes> [checkpoints|no-checkpoints] | open <dataDir> <fileBytes>");
  process.exit(2);
}
