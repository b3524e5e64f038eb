/**
 * Recovery benchmark: how long after a `kill -9` is a store with ~1 GiB of CommitLog ready again.
 *
 * 1. A child (scripts/bench-recovery-writer.ts write) fills the CommitLog with 1 KiB messages
 *    under async flush, checkpointing every 64 MiB. Once it reports the target written, this
 *    process SIGKILLs it while it is still appending.
 * 2. A fresh child (… open) runs MessageStore.open on the directory. Reported: the open time
 *    inside that child ("open"), and the wall time from SIGKILL to its ready line ("ready":
 *    process start, module load and recovery), against the target of 2 s.
 * 3. Sanity: every queue's max offset is at least what the writer had reported at "filled", the
 *    CommitLog end is at least the filled byte count, and each queue's last message reads back.
 *
 * The killed writer's pages are still in the page cache (a process crash, not a power loss), so
 * this measures CPU-bound recovery, not reading 1 GiB from disk.
 *
 * Flags: --quick (256 MiB), --target-mib=N (CommitLog bytes to fill, default 1008 so one
 * 1 GiB file holds it), --file-mib=N (CommitLog file size, default 1024), --no-checkpoints (the
 * writer never checkpoints: the worst case, recovery replays the whole log). The last line
 * printed is one JSON object.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { intFlag } from "./bench-args.ts";

const MiB = 1024 * 1024;
const readyTargetMs = 2000;
const writerPath = join(import.meta.dir, "bench-recovery-writer.ts");

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const checkpointing = !argv.includes("--no-checkpoints");


const fileBytes = intFlag("file-mib", 1024) * MiB;
// 1008 MiB fits one 1 GiB file with room for the writer to keep going until the kill lands.
const targetBytes = intFlag("target-mib", quick ? 256 : fileBytes >= 1024 * MiB ? 1008 : 1024) * MiB;

interface ChildEvent {
  event: string;
  [field: string]: unknown;
}

type Child = ReturnType<typeof Bun.spawn<"ignore", "pipe", "inherit">>;

/** Reads the child's stdout line by line, handing each JSON line to `onEvent` until it returns true. */
async function readEvents(child: Child, onEvent: (event: ChildEvent) => boolean): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line.length === 0) continue;
      let event: ChildEvent;
      try {
        event = JSON.parse(line) as ChildEvent;
      } catch {
        console.log(`  (child) ${line}`);
        continue;
      }
      if (event.event === "error") throw new Error(`The child reported: ${String(event.message)}`);
      if (onEvent(event)) return;
    }
  }
  throw new Error(`The child ended (exit ${await child.exited}) before the expected event`);
}

function spawnWriter(args: string[]): Child {
  return Bun.spawn([process.execPath, writerPath, ...args], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "mq-bench-recovery-"));
  const dataDir = join(root, "store");
  const load = loadavg();
  console.log(`mq recovery benchmark${quick ? " (quick)" : ""}: fill ${(targetBytes / MiB).toFixed(0)} MiB of CommitLog (${(fileBytes / MiB).toFixed(0)} MiB files, 1 KiB messages, 8 queues, async flush, ${checkpointing ? "checkpoint every 64 MiB and 500 ms" : "no checkpoints"}), SIGKILL, reopen`);
  console.log(`  data in ${root}; ${navigator.hardwareConcurrency} cores, load average ${load.map((value) => value.toFixed(2)).join(" ")} (other work on the machine makes figures noisy)`);
  const results: Record<string, unknown> = { quick, checkpoints: checkpointing, file_mib: fileBytes / MiB, target_mib: targetBytes / MiB, loadavg_1m_at_start: Math.round(load[0]! * 100) / 100 };
  let writer: Child | undefined;
  try {
    writer = spawnWriter(["write", dataDir, String(targetBytes), String(fileBytes), checkpointing ? "checkpoints" : "no-checkpoints"]);
    let filled: ChildEvent | undefined;
    await readEvents(writer, (event) => {
      if (event.event === "progress") {
        console.log(`  [write] ${((event.bytes as number) / MiB).toFixed(0)} MiB, ${(event.messages as number).toLocaleString("en-US")} msgs, ${event.checkpoints} checkpoints, ${((event.elapsedMs as number) / 1000).toFixed(1)} s`);
        return false;
      }
      if (event.event === "filled") {
        filled = event;
        return true;
      }
      return event.event === "idle";
    });
    const killedAtMs = performance.now();
    writer.kill("SIGKILL");
    const writerExit = await writer.exited;
    writer = undefined;
    if (filled === undefined) throw new Error("The writer stopped before reporting the target filled");
    const filledBytes = filled.bytes as number;
    const filledPerQueue = filled.perQueue as number[];
    console.log(`  [write] filled ${(filledBytes / MiB).toFixed(0)} MiB (${(filled.messages as number).toLocaleString("en-US")} msgs) in ${((filled.elapsedMs as number) / 1000).toFixed(1)} s = ${(filledBytes / 1e6 / ((filled.elapsedMs as number) / 1000)).toFixed(0)} MB/s; SIGKILL (exit ${writerExit})`);

    const opener = spawnWriter(["open", dataDir, String(fileBytes)]);
    let ready: ChildEvent | undefined;
    let closed: ChildEvent | undefined;
    let readyAtMs = 0;
    await readEvents(opener, (event) => {
      if (event.event === "ready") {
        readyAtMs = performance.now();
        ready = event;
        return false;
      }
      if (event.event === "closed") {
        closed = event;
        return true;
      }
      return false;
    });
    await opener.exited;
    if (ready === undefined) throw new Error("The reopened store never reported ready");
    const killToReadyMs = readyAtMs - killedAtMs;
    const recovery = ready.recovery as Record<string, number | boolean>;
    const maxOffsets = ready.maxOffsets as number[];
    const problems = [...(ready.problems as string[])];
    maxOffsets.forEach((maxOffset, queueId) => {
      if (maxOffset < filledPerQueue[queueId]!) problems.push(`queue ${queueId} max offset ${maxOffset} is below the ${filledPerQueue[queueId]} written before "filled"`);
    });
    if ((ready.commitLogEnd as number) < filledBytes) problems.push(`CommitLog ends at ${ready.commitLogEnd}, below the ${filledBytes} written before "filled"`);
    if (recovery.abnormal !== true) problems.push("recovery did not see the abort marker");
    const recoveredMessages = maxOffsets.reduce((sum, value) => sum + value, 0);
    const openMs = ready.openMs as number;
    console.log(`  [open] MessageStore.open ${openMs.toFixed(0)} ms (recovery ${(recovery.durationMs as number).toFixed(0)} ms: verified ${(recovery.recordsVerified as number).toLocaleString("en-US")} records from ${(((recovery.verifiedFrom as number)) / MiB).toFixed(0)} MiB, replayed ${(recovery.recordsReplayed as number).toLocaleString("en-US")} from ${((recovery.replayedFrom as number) / MiB).toFixed(0)} MiB); ready ${(ready.readySinceProcessStartMs as number).toFixed(0)} ms after the child started`);
    console.log(`  [open] ${recoveredMessages.toLocaleString("en-US")} msgs in 8 queues, CommitLog ends at ${(((ready.commitLogEnd as number)) / MiB).toFixed(1)} MiB; close ${(closed?.closeMs as number | undefined)?.toFixed(0) ?? "?"} ms`);
    console.log(`  SIGKILL → ready: ${killToReadyMs.toFixed(0)} ms; target ≤ ${readyTargetMs} ms with 1 GiB of CommitLog: ${killToReadyMs <= readyTargetMs ? "MET" : "MISSED"}`);
    console.log(`  sanity: ${problems.length === 0 ? "OK (every queue holds at least what was written before the kill; last messages read back)" : problems.join("; ")}`);
    Object.assign(results, {
      filled_bytes: filledBytes,
      filled_messages: filled.messages,
      write_mb_s: Math.round(filledBytes / 1e6 / ((filled.elapsedMs as number) / 1000)),
      open_ms: Math.round(openMs),
      recovery_ms: Math.round(recovery.durationMs as number),
      records_verified: recovery.recordsVerified,
      records_replayed: recovery.recordsReplayed,
      verified_from: recovery.verifiedFrom,
      replayed_from: recovery.replayedFrom,
      child_ready_since_start_ms: Math.round(ready.readySinceProcessStartMs as number),
      kill_to_ready_ms: Math.round(killToReadyMs),
      ready_target_ms: readyTargetMs,
      ready_target_met: killToReadyMs <= readyTargetMs,
      recovered_messages: recoveredMessages,
      commit_log_end: ready.commitLogEnd,
      sane: problems.length === 0,
      loadavg_1m_at_end: Math.round(loadavg()[0]! * 100) / 100,
    });
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    if (writer !== undefined) {
      writer.kill("SIGKILL");
      await writer.exited;
    }
    rmSync(root, { recursive: true, force: true });
  }
  console.log(JSON.stringify(results));
}

await main();
