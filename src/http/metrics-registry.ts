/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4) that Prometheus scrapes from `/metrics`.
 *
 *   # HELP mq_messages_in_total Messages stored, per topic
 *   # TYPE mq_messages_in_total counter
 *   mq_messages_in_total{topic="orders"} 42
 *
 * Hot-path updates are a Map lookup and an add; values that already live elsewhere (store size,
 * lag) are read by `collect` callbacks at scrape time instead of being mirrored on every event.
 * Label sets per metric are bounded (`seriesMax`) so a flood of topic names cannot grow memory
 * without end: past it, new series are dropped and counted in mq_metrics_series_dropped_total.
 */

export type Labels = Readonly<Record<string, string | number>>;

/** Series one metric may hold; well above topics × queues of a sandbox, bounded for safety. */
export const seriesMax = 10_000;

/** Latency buckets in seconds, 50 µs .. 10 s. */
export const latencyBucketsSeconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

type Kind = "counter" | "gauge" | "histogram";

interface Series {
  readonly labels: string;
  /** The labels as given, for readers other than the text format (the console's time series). */
  readonly labelValues: Labels;
  value: number;
  buckets?: number[];
  sum?: number;
}

export class Metric {
  private readonly series = new Map<string, Series>();
  /** Gauges computed at scrape time; set() for each series to report. */
  collect: ((metric: Metric) => void) | undefined;

  constructor(
    private readonly registry: MetricsRegistry,
    readonly name: string,
    readonly kind: Kind,
    readonly help: string,
    readonly buckets: readonly number[] = [],
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const series = this.get(labels);
    if (series !== undefined) series.value += by;
  }

  set(labels: Labels, value: number): void {
    const series = this.get(labels);
    if (series !== undefined) series.value = value;
  }

  observe(labels: Labels, value: number): void {
    const series = this.get(labels);
    if (series === undefined) return;
    series.value += 1;
    series.sum! += value;
    const buckets = this.buckets;
    for (let index = 0; index < buckets.length; index++) if (value <= buckets[index]!) series.buckets![index]! += 1;
  }

  /** A fixed series, for hot paths: no label formatting or lookup per update. */
  child(labels: Labels): { inc(by?: number): void } {
    const series = this.get(labels);
    return { inc: (by = 1) => { if (series !== undefined) series.value += by; } };
  }

  /**
   * Every series' count (a counter's or gauge's value, a histogram's observations), its sum and
   * per-bucket counts (histograms), and labels — read by the time series behind the console.
   */
  *entries(): IterableIterator<{ labels: Labels; value: number; sum: number; buckets: readonly number[] }> {
    if (this.collect !== undefined) {
      this.reset();
      this.collect(this);
    }
    for (const series of this.series.values()) yield { labels: series.labelValues, value: series.value, sum: series.sum ?? 0, buckets: series.buckets ?? [] };
  }

  /** Forgets every series (gauges recomputed at each scrape start empty, so gone queues vanish). */
  reset(): void {
    this.series.clear();
  }

  render(lines: string[]): void {
    if (this.collect !== undefined) {
      this.reset();
      this.collect(this);
    }
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`);
    for (const series of this.series.values()) {
      if (this.kind !== "histogram") {
        lines.push(`${this.name}${wrap(series.labels)} ${formatNumber(series.value)}`);
        continue;
      }
      this.buckets.forEach((bound, index) => lines.push(`${this.name}_bucket${wrap(join(series.labels, `le="${formatNumber(bound)}"`))} ${series.buckets![index]}`));
      lines.push(`${this.name}_bucket${wrap(join(series.labels, 'le="+Inf"'))} ${series.value}`);
      lines.push(`${this.name}_sum${wrap(series.labels)} ${formatNumber(series.sum!)}`);
      lines.push(`${this.name}_count${wrap(series.labels)} ${series.value}`);
    }
  }

  private get(labels: Labels): Series | undefined {
    const key = labelText(labels);
    let series = this.series.get(key);
    if (series !== undefined) return series;
    if (this.series.size >= seriesMax) {
      this.registry.seriesDropped += 1;
      return undefined;
    }
    series = this.kind === "histogram" ? { labels: key, labelValues: { ...labels }, value: 0, buckets: this.buckets.map(() => 0), sum: 0 } : { labels: key, labelValues: { ...labels }, value: 0 };
    this.series.set(key, series);
    return series;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  seriesDropped = 0;

  counter(name: string, help: string): Metric {
    return this.add(new Metric(this, name, "counter", help));
  }

  gauge(name: string, help: string, collect?: (metric: Metric) => void): Metric {
    const metric = this.add(new Metric(this, name, "gauge", help));
    metric.collect = collect;
    return metric;
  }

  histogram(name: string, help: string, buckets: readonly number[] = latencyBucketsSeconds): Metric {
    return this.add(new Metric(this, name, "histogram", help, buckets));
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** The exposition text; a collect callback that throws leaves its metric empty, not the scrape failed. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics.values()) {
      try {
        metric.render(lines);
      } catch (error) {
        lines.push(`# ${metric.name} not collected: ${String((error as Error).message).replace(/\n/g, " ")}`);
      }
    }
    lines.push("# HELP mq_metrics_series_dropped_total Series not recorded because a metric reached its series limit", "# TYPE mq_metrics_series_dropped_total counter", `mq_metrics_series_dropped_total ${this.seriesDropped}`);
    return `${lines.join("\n")}\n`;
  }

  private add(metric: Metric): Metric {
    if (this.metrics.has(metric.name)) throw new Error(`Metric "${metric.name}" is registered twice`);
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric.name)) throw new Error(`Metric name "${metric.name}" is not a valid Prometheus name`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

function labelText(labels: Labels): string {
  let text = "";
  for (const name in labels) text = join(text, `${name}="${escapeLabel(String(labels[name]))}"`);
  return text;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function join(a: string, b: string): string {
  return a.length === 0 ? b : `${a},${b}`;
}

function wrap(labels: string): string {
  return labels.length === 0 ? "" : `{${labels}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
