/**
 * Time as a dependency. Everything that reads the time or waits takes a Clock, so tests move
 * time forward by hand instead of sleeping.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (stored in records, compared across hosts). */
  nowMs(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonicMs(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval(callback, intervalMs) {
    const timer = setInterval(callback, intervalMs);
    return { cancel: () => clearInterval(timer) };
  },
};

interface ManualTimer {
  dueMs: number;
  intervalMs: number | undefined;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; due timers fire in order inside `advance`. */
export class ManualClock implements Clock {
  private currentMs: number;
  private readonly timers: ManualTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  monotonicMs(): number {
    return this.currentMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.add({ dueMs: this.currentMs + delayMs, intervalMs: undefined, callback, cancelled: false });
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    return this.add({ dueMs: this.currentMs + intervalMs, intervalMs, callback, cancelled: false });
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due on the way. */
  advance(deltaMs: number): void {
    const targetMs = this.currentMs + deltaMs;
    for (;;) {
      const next = this.nextDue(targetMs);
      if (next === undefined) break;
      this.currentMs = next.dueMs;
      if (next.intervalMs === undefined) {
        next.cancelled = true;
        this.timers.splice(this.timers.indexOf(next), 1); // fired: forget it, so timers stay few
      } else {
        next.dueMs += Math.max(1, next.intervalMs);
      }
      next.callback();
    }
    this.currentMs = targetMs;
  }

  set(nowMs: number): void {
    this.advance(Math.max(0, nowMs - this.currentMs));
  }

  private nextDue(limitMs: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.timers) {
      if (timer.cancelled || timer.dueMs > limitMs) continue;
      if (best === undefined || timer.dueMs < best.dueMs) best = timer;
    }
    return best;
  }

  private add(timer: ManualTimer): TimerHandle {
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }
}
