/**
 * A live line chart (uPlot, ~50 KB, canvas): time on x, one line per series. The chart is
 * created once and fed new data with setData, so a refresh costs one redraw, not a re-render.
 */

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { html } from "../ui.ts";

export interface ChartProps {
  readonly title: string;
  readonly unit: string;
  readonly labels: readonly string[];
  readonly colors: readonly string[];
  /** x: seconds since the epoch; then one array per label (null: no value). */
  readonly data: readonly [number[], ...(number | null)[][]];
}

const chartHeight = 180;

export function Chart(props: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const element = holder.current!;
    const options: uPlot.Options = {
      width: Math.max(300, element.clientWidth),
      height: chartHeight,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_self, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ stroke: "#8a94a6", grid: { stroke: "#eef0f4" } }, { stroke: "#8a94a6", grid: { stroke: "#eef0f4" }, size: 60 }],
      series: [{}, ...props.labels.map((label, index) => ({ label: `${label} (${props.unit})`, stroke: props.colors[index], width: 2, spanGaps: false, points: { show: false } }))],
    };
    plot.current = new uPlot(options, props.data as uPlot.AlignedData, element);
    const onResize = () => plot.current?.setSize({ width: Math.max(300, element.clientWidth), height: chartHeight });
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);
  return html`<section class="card chart" aria-label=${props.title}><h3>${props.title}</h3><div ref=${holder}></div></section>`;
}
