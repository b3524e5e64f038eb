/** A `mq bench` summary's event-loop figures: the line printed, and the fields of its JSON line. */

import { loopStallMinMs } from "../common/limits.ts";
import type { LoopStalls } from "../common/loop-stall-monitor.ts";

export function stallFigures(stalls: LoopStalls): Record<string, number> {
  process.stdout.write(`event loop: ${stalls.stalls} stalls ≥ ${loopStallMinMs} ms (GC pauses show up here), longest ${Math.round(stalls.stallMaxMs)} ms, ${Math.round(stalls.stalledMs)} ms in total; JS heap ${stalls.heapUsedMiB.toFixed(1)} MiB\n`);
  return { loop_stalls: stalls.stalls, loop_stall_max_ms: Math.round(stalls.stallMaxMs), loop_stalled_ms: Math.round(stalls.stalledMs), heap_used_mib: Number(stalls.heapUsedMiB.toFixed(1)) };
}
