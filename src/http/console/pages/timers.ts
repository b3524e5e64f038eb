/**
 * Timers: scheduled messages not yet due — how many per time bucket (a bar per bucket), and a
 * page of them earliest first (`next` continues); cancel one after a confirmation.
 */

import { useState } from "preact/hooks";
import { enc, get, mutate, type TimerListing, type TopicConfig } from "../api.ts";
import type { PageProps } from "../router.ts";
import { ErrorBanner, formatDuration, formatNumber, formatTime, html, inputValue, useConfirm, usePoll } from "../ui.ts";

const refreshMs = 5_000;
const bucketChoicesMs = [60_000, 600_000, 3_600_000, 86_400_000] as const;

export function TimersPage(props: PageProps) {
  const topics = usePoll(() => get<{ topics: TopicConfig[] }>("/topics"), 0);
  const [topic, setTopic] = useState("");
  const [bucketMs, setBucketMs] = useState<number>(bucketChoicesMs[0]);
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after.at(-1);
  const listing = usePoll(() => get<TimerListing>("/timers", { topic: topic === "" ? undefined : topic, bucketMs, limit: 100, after: cursor }), refreshMs, [topic, bucketMs, cursor]);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const { ask, dialog } = useConfirm((answer) => {
    const { msgId, outcome: result } = answer as { msgId: string; outcome: string };
    setOutcome(`${msgId}: ${result}`);
    listing.reload();
  });
  const data = listing.data;
  const largest = Math.max(1, ...(data?.buckets ?? []).map((bucket) => bucket.count));
  return html`<h1>Timers</h1>
    <${ErrorBanner} error=${listing.error ?? topics.error} />
    <div class="toolbar">
      <label>Topic <select value=${topic} onChange=${(event: Event) => { setTopic(inputValue(event)); setAfter([]); }} aria-label="Topic">
        <option value="">every topic</option>${(topics.data?.topics ?? []).map((each) => html`<option value=${each.topic}>${each.topic}</option>`)}
      </select></label>
      <label>Bucket <select value=${bucketMs} onChange=${(event: Event) => setBucketMs(Number(inputValue(event)))} aria-label="Bucket width">${bucketChoicesMs.map((ms) => html`<option value=${ms}>${formatDuration(ms)}</option>`)}</select></label>
      <span class="muted" data-stat="pending">${data === undefined ? "" : `${formatNumber(data.total)} pending`}</span>
    </div>
    ${outcome === undefined ? null : html`<p class="ok" role="status">${outcome}</p>`}
    ${data === undefined || data.buckets.length === 0
      ? null
      : html`<section class="card" aria-label="Pending per bucket"><h3>Pending per ${formatDuration(data.bucketMs)}${data.bucketsTruncated ? " (first buckets)" : ""}</h3>
          <div class="buckets">${data.buckets.map((bucket) => html`<div class="bucket" title=${`${formatTime(bucket.startMs)}: ${bucket.count}`}><span class="bucket-bar" style=${`height:${Math.max(2, (bucket.count / largest) * 100)}%`}></span><span class="bucket-label">${new Date(bucket.startMs).toLocaleTimeString()}</span><span class="bucket-count">${bucket.count}</span></div>`)}</div>
        </section>`}
    <table class="grid" aria-label="Scheduled messages">
      <thead><tr><th>Delivery at</th><th>In</th><th>Topic</th><th>Queue</th><th>Tag</th><th>Body</th><th>msgId</th>${props.settings.readOnly ? null : html`<th></th>`}</tr></thead>
      <tbody>
        ${(data?.messages ?? []).map(
          (message) => html`<tr>
            <td>${formatTime(message.deliverAtMs)}</td><td>${formatDuration(Math.max(0, message.deliverAtMs - Date.now()))}</td><td>${message.topic}</td><td class="num">${message.queueId}</td>
            <td>${message.tags ?? ""}</td><td class="num">${message.bodyBytes} B</td><td class="mono">${message.msgId}</td>
            ${props.settings.readOnly
              ? null
              : html`<td><button type="button" class="danger small" onClick=${() => ask({ title: `Cancel scheduled message ${message.msgId}?`, detail: html`<p>Due ${formatTime(message.deliverAtMs)} to ${message.topic}; it will not be delivered.</p>`, confirmLabel: "Cancel message", danger: true, run: () => mutate("DELETE", `/timers/${enc(message.msgId)}`) })}>Cancel</button></td>`}
          </tr>`,
        )}
      </tbody>
    </table>
    ${data !== undefined && data.messages.length === 0 ? html`<p class="muted">No scheduled message is waiting.</p>` : null}
    <div class="toolbar">
      <button type="button" disabled=${after.length === 0} onClick=${() => setAfter(after.slice(0, -1))}>← Earlier</button>
      <button type="button" disabled=${data?.next === undefined} onClick=${() => setAfter([...after, data!.next!])}>Later →</button>
    </div>
    ${dialog}`;
}
