/**
 * RocketMQ's latency fault tolerance: after each send the producer records how long its broker
 * took, and a slow broker is left out of queue selection for a while — the slower, the longer:
 *
 *   latency  <  550 ms → usable at once     ≥ 1 s  → 60 s      ≥ 3 s  → 180 s
 *            ≥  550 ms → 30 s               ≥ 2 s  → 120 s     ≥ 15 s → 600 s
 *
 * A failed send (timeout, refused or lost connection) counts as the `failureLatencyMs` (the send
 * timeout, so a dead broker sits out three minutes by default). A later fast send to the broker
 * makes it usable again at once: when every broker is marked the producer falls back to any of
 * them, and the first one to answer quickly is back in rotation.
 *
 * Keyed by brokerName, checked on every send: a Map lookup and one clock read.
 */

import type { Clock } from "../common/clock.ts";

export interface LatencyStep {
  /** Latencies at or above this... */
  readonly latencyMs: number;
  /** ...make the broker unavailable for this long. */
  readonly unavailableMs: number;
}

export const latencyStepsDefault: readonly LatencyStep[] = [
  { latencyMs: 550, unavailableMs: 30_000 },
  { latencyMs: 1_000, unavailableMs: 60_000 },
  { latencyMs: 2_000, unavailableMs: 120_000 },
  { latencyMs: 3_000, unavailableMs: 180_000 },
  { latencyMs: 15_000, unavailableMs: 600_000 },
];

export interface LatencyFaultToleranceOptions {
  readonly clock: Clock;
  /** Ascending by latencyMs. */
  readonly steps?: readonly LatencyStep[];
}

export class LatencyFaultTolerance {
  /** brokerName → monotonic time from which it may be chosen again. */
  private readonly availableFromMs = new Map<string, number>();
  private readonly steps: readonly LatencyStep[];

  constructor(private readonly options: LatencyFaultToleranceOptions) {
    this.steps = options.steps ?? latencyStepsDefault;
  }

  /** Records a send's outcome: its latency, or (failed) a latency of `failureLatencyMs`. */
  record(brokerName: string, latencyMs: number): void {
    const unavailableMs = this.unavailableMsFor(latencyMs);
    if (unavailableMs === 0) {
      this.availableFromMs.delete(brokerName);
      return;
    }
    this.availableFromMs.set(brokerName, this.options.clock.monotonicMs() + unavailableMs);
  }

  isAvailable(brokerName: string): boolean {
    const from = this.availableFromMs.get(brokerName);
    if (from === undefined) return true;
    if (this.options.clock.monotonicMs() >= from) {
      this.availableFromMs.delete(brokerName);
      return true;
    }
    return false;
  }

  /** Brokers currently left out (for logs and tests). */
  unavailableBrokers(): string[] {
    return [...this.availableFromMs.keys()].filter((name) => !this.isAvailable(name)).sort();
  }

  private unavailableMsFor(latencyMs: number): number {
    let unavailableMs = 0;
    for (const step of this.steps) if (latencyMs >= step.latencyMs) unavailableMs = step.unavailableMs;
    return unavailableMs;
  }
}
