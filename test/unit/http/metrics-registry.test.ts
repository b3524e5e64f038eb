import { describe, expect, test } from "bun:test";
import { MetricsRegistry, seriesMax } from "../../../src/http/metrics-registry.ts";
import { parsePrometheusText } from "./prometheus-text.ts";

describe("MetricsRegistry", () => {
  test("renders counters, gauges and histograms as parseable exposition text", () => {
    const registry = new MetricsRegistry();
    registry.counter("mq_things_total", "Things").inc({ topic: "a" }, 3);
    registry.gauge("mq_level", "Level", (metric) => metric.set({ queue: 1 }, 0.5));
    const histogram = registry.histogram("mq_wait_seconds", "Wait", [0.1, 1]);
    histogram.observe({}, 0.05);
    histogram.observe({}, 0.5);
    histogram.observe({}, 5);
    const samples = parsePrometheusText(registry.render());
    const find = (name: string, labels: Record<string, string> = {}) => samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
    expect(find("mq_things_total", { topic: "a" })).toBe(3);
    expect(find("mq_level", { queue: "1" })).toBe(0.5);
    expect(find("mq_wait_seconds_bucket", { le: "0.1" })).toBe(1);
    expect(find("mq_wait_seconds_bucket", { le: "1" })).toBe(2);
    expect(find("mq_wait_seconds_bucket", { le: "+Inf" })).toBe(3);
    expect(find("mq_wait_seconds_count")).toBe(3);
    expect(find("mq_wait_seconds_sum")).toBeCloseTo(5.55);
  });

  test("escapes quotes, backslashes and newlines in label values", () => {
    const registry = new MetricsRegistry();
    registry.counter("mq_odd_total", "Odd labels").inc({ topic: 'a"b\\c\nd' });
    const [sample] = parsePrometheusText(registry.render()).filter((entry) => entry.name === "mq_odd_total");
    expect(sample!.labels.topic).toBe('a"b\\c\nd');
  });

  test("a metric stops adding series at its limit and counts what it dropped", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter("mq_many_total", "Many");
    for (let index = 0; index <= seriesMax; index++) counter.inc({ topic: `t${index}` });
    const samples = parsePrometheusText(registry.render());
    expect(samples.filter((sample) => sample.name === "mq_many_total")).toHaveLength(seriesMax);
    expect(samples.find((sample) => sample.name === "mq_metrics_series_dropped_total")!.value).toBe(1);
  });

  test("a gauge whose collect throws leaves a comment, not a failed scrape", () => {
    const registry = new MetricsRegistry();
    registry.gauge("mq_broken", "Broken", () => {
      throw new Error("store closed");
    });
    registry.counter("mq_fine_total", "Fine").inc();
    const samples = parsePrometheusText(registry.render());
    expect(samples.find((sample) => sample.name === "mq_fine_total")!.value).toBe(1);
  });

  test("rejects a name registered twice or not a Prometheus name", () => {
    const registry = new MetricsRegistry();
    registry.counter("mq_once_total", "Once");
    expect(() => registry.counter("mq_once_total", "Again")).toThrow("registered twice");
    expect(() => registry.gauge("mq-bad", "Bad")).toThrow("not a valid Prometheus name");
  });
});
