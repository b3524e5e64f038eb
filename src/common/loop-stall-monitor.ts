/**
 * Event-loop stalls of this process: a timer due every `tickMs` notes how late it wakes. A
 * wake-up later than `stallMsMin` counts as a stall of that lateness. Bun reports no GC events
 * (no `gc` performance entries), so its stop-the-world pauses show up here, together with any
 * other work that held the loop. `mq bench` watches its load generator with one; a broker with
 * metrics watches itself (`mq_event_loop_*`), so a benchmark shows the broker's pauses too.
 */

import { loopStallMinMs } from "./limits.ts";

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
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly tickMs: number) {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  private tick(): void {
    const nowMs = performance.now();
    const lateMs = nowMs - this.lastMs - this.tickMs;
    this.lastMs = nowMs;
    if (lateMs < loopStallMinMs) return;
    this.stalls += 1;
    this.stalledMs += lateMs;
    this.stallMaxMs = Math.max(this.stallMaxMs, lateMs);
  }

  /** The figures so far, with the JS heap in use now. */
  snapshot(): LoopStalls {
    return { stalls: this.stalls, stallMaxMs: this.stallMaxMs, stalledMs: this.stalledMs, heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20 };
  }

  stop(): LoopStalls {
    clearInterval(this.timer);
    return this.snapshot();
  }
}
