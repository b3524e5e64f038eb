/**
 * Event-loop stalls of a `mq bench` run: a timer due every `tickMs` notes how late it wakes. A
 * wake-up later than `stallMsMin` counts as a stall of that lateness. Bun reports no GC events
 * (no `gc` performance entries), so its stop-the-world pauses show up here, together with any
 * other work that held the loop; the JS heap in use at the end is reported beside them.
 */

const tickMs = 2;
const stallMsMin = 10;

export interface LoopStalls {
  readonly stalls: number;
  readonly stallMaxMs: number;
  readonly stalledMs: number;
  readonly heapUsedMiB: number;
}

export class LoopStallMonitor {
  private stalls = 0;
  private stallMaxMs = 0;
  private stalledMs = 0;
  private lastMs = performance.now();
  private readonly timer = setInterval(() => this.tick(), tickMs);

  private tick(): void {
    const nowMs = performance.now();
    const lateMs = nowMs - this.lastMs - tickMs;
    this.lastMs = nowMs;
    if (lateMs < stallMsMin) return;
    this.stalls += 1;
    this.stalledMs += lateMs;
    this.stallMaxMs = Math.max(this.stallMaxMs, lateMs);
  }

  stop(): LoopStalls {
    clearInterval(this.timer);
    return { stalls: this.stalls, stallMaxMs: this.stallMaxMs, stalledMs: this.stalledMs, heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20 };
  }
}

/** The figures for a bench summary's JSON line, and the line printed before it. */
export function stallFigures(stalls: LoopStalls): Record<string, number> {
  process.stdout.write(`event loop: ${stalls.stalls} stalls ≥ ${stallMsMin} ms (GC pauses show up here), longest ${Math.round(stalls.stallMaxMs)} ms, ${Math.round(stalls.stalledMs)} ms in total; JS heap ${stalls.heapUsedMiB.toFixed(1)} MiB\n`);
  return { loop_stalls: stalls.stalls, loop_stall_max_ms: Math.round(stalls.stallMaxMs), loop_stalled_ms: Math.round(stalls.stalledMs), heap_used_mib: Number(stalls.heapUsedMiB.toFixed(1)) };
}
