/**
 * Latency samples for `mq bench`: a bounded reservoir (no unbounded memory on long runs) with
 * exact percentiles over what it holds.
 */

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private stored = 0;
  private seen = 0;
  private seed = 0x9e3779b9;

  constructor(capacity = 1_000_000) {
    this.samples = new Float64Array(capacity);
  }

  record(valueUs: number): void {
    this.seen += 1;
    if (this.stored < this.samples.length) {
      this.samples[this.stored++] = valueUs;
      return;
    }
    // Reservoir sampling keeps a uniform sample of everything seen.
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    const slot = this.seed % this.seen;
    if (slot < this.samples.length) this.samples[slot] = valueUs;
  }

  get count(): number {
    return this.seen;
  }

  percentiles(...quantiles: number[]): number[] {
    if (this.stored === 0) return quantiles.map(() => 0);
    const sorted = this.samples.slice(0, this.stored).sort();
    return quantiles.map((quantile) => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!);
  }
}
