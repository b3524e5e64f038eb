/**
 * Overview: the brokers (name, id, role, address, version, heartbeat age, store size, disk use),
 * the NameServers, and live charts of messages in/out per second and send latency from GET
 * /api/v1/metrics/series (the server keeps the last hour; the page fetches only new samples).
 */

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type ClusterView, get, type Series, type SeriesSample } from "../api.ts";
import type { PageProps } from "../router.ts";
import { ErrorBanner, describe, formatBytes, formatDuration, formatNumber, html, usePoll } from "../ui.ts";
import { Chart } from "./chart.ts";

const clusterRefreshMs = 5_000;
const seriesRefreshMs = 2_000;
const samplesKept = 3_600;

export function OverviewPage(_props: PageProps) {
  const cluster = usePoll(() => get<ClusterView>("/cluster"), clusterRefreshMs);
  const { samples, error: seriesError } = useSeries();
  const latest = samples.at(-1);
  const charts = useMemo(() => {
    const times = samples.map((sample) => sample.timeMs / 1000);
    return {
      rates: [times, samples.map((sample) => sample.inPerSecond), samples.map((sample) => sample.outPerSecond)] as [number[], number[], number[]],
      latency: [times, samples.map((sample) => sample.sendLatencyMsMean ?? null), samples.map((sample) => sample.sendLatencyMsP99 ?? null)] as [number[], (number | null)[], (number | null)[]],
    };
  }, [samples]);
  const view = cluster.data;
  return html`<h1>Overview</h1>
    <${ErrorBanner} error=${cluster.error ?? seriesError} />
    <div class="stats">
      <div class="stat"><div class="stat-value" data-stat="brokers">${view === undefined ? "—" : view.brokers.length}</div><div class="muted">brokers</div></div>
      <div class="stat"><div class="stat-value">${view === undefined ? "—" : view.nameServers.length}</div><div class="muted">NameServers</div></div>
      <div class="stat"><div class="stat-value">${formatNumber(latest?.inPerSecond, 1)}</div><div class="muted">msgs in / s</div></div>
      <div class="stat"><div class="stat-value">${formatNumber(latest?.outPerSecond, 1)}</div><div class="muted">msgs out / s</div></div>
      <div class="stat"><div class="stat-value">${formatBytes(latest?.storeBytes)}</div><div class="muted">store size</div></div>
    </div>
    <div class="charts">
      <${Chart} title="Messages per second" unit="msg/s" labels=${["in", "out"]} colors=${["#2563eb", "#16a34a"]} data=${charts.rates} />
      <${Chart} title="Send latency" unit="ms" labels=${["mean", "p99"]} colors=${["#9333ea", "#dc2626"]} data=${charts.latency} />
    </div>
    <h2>Brokers ${view === undefined ? null : html`<span class="muted small">(${sourceText(view.source)})</span>`}</h2>
    <table class="grid" aria-label="Brokers">
      <thead><tr><th>Cluster</th><th>Name</th><th>Id</th><th>Role</th><th>Address</th><th>Version</th><th>Heartbeat age</th><th>Topics</th><th>Store</th><th>Disk used</th></tr></thead>
      <tbody>
        ${(view?.brokers ?? []).map(
          (broker) => html`<tr>
            <td>${broker.clusterName}</td><td>${broker.brokerName}</td><td>${broker.brokerId}</td><td>${broker.role ?? "—"}</td>
            <td class="mono">${broker.brokerAddr}</td><td>${broker.version}</td><td>${formatDuration(broker.lastHeartbeatAgeMs)}</td>
            <td class="num">${broker.topics}</td><td class="num">${formatBytes(broker.storeBytes)}</td>
            <td>${broker.diskUsedRatio === undefined ? "—" : html`<${DiskBar} ratio=${broker.diskUsedRatio} />`}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <h2>NameServers</h2>
    ${view === undefined || view.nameServers.length === 0
      ? html`<p class="muted">${view === undefined ? "Loading…" : "No NameServer: this process serves its broker alone."}</p>`
      : html`<ul class="plain">${view.nameServers.map((address) => html`<li class="mono">${address}</li>`)}</ul>`}`;
}

function sourceText(source: ClusterView["source"]): string {
  return source === "namesrv" ? "as the NameServer sees them" : source === "local" ? "the broker in this process" : "the broker of --broker";
}

function DiskBar(props: { ratio: number }) {
  const percent = Math.round(props.ratio * 100);
  return html`<span class="bar" title=${`${percent}% of the data dir's disk in use`}><span class=${percent >= 85 ? "bar-fill warn" : "bar-fill"} style=${`width:${percent}%`}></span></span> ${percent}%`;
}

/** The samples of the last hour: the whole series once, then only what is newer. */
function useSeries(): { samples: SeriesSample[]; error: string | undefined } {
  const [samples, setSamples] = useState<SeriesSample[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const lastMs = useRef<number | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const series = await get<Series>("/metrics/series", { since: lastMs.current });
        if (stopped || series.samples.length === 0) return;
        lastMs.current = series.samples.at(-1)!.timeMs;
        setSamples((kept) => [...kept, ...series.samples].slice(-samplesKept));
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(describe(failure));
      }
    };
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, seriesRefreshMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return { samples, error };
}
