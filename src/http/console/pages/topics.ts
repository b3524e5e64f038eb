/**
 * Topics: the list with queues, permission, messages kept (max − min offset over the queues) and
 * rates over the last minute; create; and per topic its route per broker, per-queue min/max
 * offsets with the time span each queue keeps, changing queues and permission, sending a test
 * message and deleting it — each change after a confirmation.
 */

import { useState } from "preact/hooks";
import { type BrowsePage, enc, get, mutate, type Series, type TopicConfig, type TopicDescription } from "../api.ts";
import { link, type PageProps } from "../router.ts";
import { ErrorBanner, formatDuration, formatNumber, formatPerm, formatTime, html, inputValue, useConfirm, usePoll } from "../ui.ts";
import { TestMessageForm } from "./topic-send.ts";

const listRefreshMs = 5_000;
/** Topics whose offsets the list reads (one describe each); beyond, counts show "—". */
const describedTopicsMax = 200;

export function TopicsPage(props: PageProps) {
  return props.route.item === undefined ? html`<${TopicList} ...${props} />` : html`<${TopicDetail} ...${props} topic=${props.route.item} />`;
}

interface TopicRow extends TopicConfig {
  messages?: number;
}

function TopicList(props: PageProps) {
  const list = usePoll(async () => {
    const [{ topics }, series] = await Promise.all([get<{ topics: TopicConfig[] }>("/topics"), get<Series>("/metrics/series", { since: Date.now() - 1 })]);
    const sorted = topics.sort((a, b) => a.topic.localeCompare(b.topic));
    const rows: TopicRow[] = await Promise.all(
      sorted.map(async (topic, index) => {
        if (index >= describedTopicsMax) return topic;
        const detail = await get<TopicDescription>(`/topics/${enc(topic.topic)}`).catch(() => undefined);
        return { ...topic, messages: detail?.queues.reduce((sum, queue) => sum + (queue.maxOffset - queue.minOffset), 0) };
      }),
    );
    return { rows, rates: series.topics };
  }, listRefreshMs);
  const { ask, dialog } = useConfirm(() => list.reload());
  const [name, setName] = useState("");
  const [queues, setQueues] = useState("4");
  const [perm, setPerm] = useState("6");
  const [filter, setFilter] = useState("");
  const create = (event: Event) => {
    event.preventDefault();
    const body = { topic: name.trim(), queues: Number(queues), perm: Number(perm) };
    ask({ title: `Create topic "${body.topic}"?`, detail: html`<p>${body.queues} queues, permission ${formatPerm(body.perm)}</p>`, confirmLabel: "Create", run: () => mutate("POST", "/topics", body) });
  };
  const rows = (list.data?.rows ?? []).filter((row) => row.topic.toLowerCase().includes(filter.toLowerCase()));
  return html`<h1>Topics</h1>
    <${ErrorBanner} error=${list.error} />
    ${props.settings.readOnly
      ? null
      : html`<form class="toolbar" onSubmit=${create} aria-label="Create topic">
          <input placeholder="New topic name" value=${name} onInput=${(event: Event) => setName(inputValue(event))} required aria-label="Topic name" />
          <label>Queues <input type="number" min="1" max="1024" value=${queues} onInput=${(event: Event) => setQueues(inputValue(event))} class="narrow" /></label>
          <label>Perm <select value=${perm} onChange=${(event: Event) => setPerm(inputValue(event))}>${[6, 4, 2, 0, 7].map((value) => html`<option value=${value}>${formatPerm(value)}</option>`)}</select></label>
          <button type="submit" class="primary">Create topic</button>
        </form>`}
    <div class="toolbar"><input type="search" placeholder="Filter topics" value=${filter} onInput=${(event: Event) => setFilter(inputValue(event))} aria-label="Filter topics" /></div>
    <table class="grid" aria-label="Topics">
      <thead><tr><th>Topic</th><th>Read / write queues</th><th>Perm</th><th>Order</th><th>Messages kept</th><th>In / s</th><th>Out / s</th></tr></thead>
      <tbody>
        ${rows.map((row) => {
          const rate = list.data?.rates[row.topic];
          return html`<tr>
            <td><a href=${link("topics", row.topic)}>${row.topic}</a></td>
            <td class="num">${row.readQueues} / ${row.writeQueues}</td><td>${formatPerm(row.perm)}</td><td>${row.order ? "yes" : "no"}</td>
            <td class="num">${formatNumber(row.messages)}</td><td class="num">${formatNumber(rate?.inPerSecond, 2)}</td><td class="num">${formatNumber(rate?.outPerSecond, 2)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${list.data !== undefined && rows.length === 0 ? html`<p class="muted">No topics${filter === "" ? "" : " match"}.</p>` : null}
    ${dialog}`;
}

interface QueueSpan {
  oldestMs?: number;
  newestMs?: number;
}

function TopicDetail(props: PageProps & { topic: string }) {
  const topic = props.topic;
  const detail = usePoll(() => get<TopicDescription>(`/topics/${enc(topic)}`), listRefreshMs, [topic]);
  const spans = usePoll(() => queueSpans(topic), 0, [topic]);
  const { ask, dialog } = useConfirm((result) => {
    if (result === "deleted") location.hash = link("topics");
    else detail.reload();
  });
  const [queues, setQueues] = useState("");
  const [perm, setPerm] = useState("");
  const data = detail.data;
  const update = (event: Event) => {
    event.preventDefault();
    const body: { queues?: number; perm?: number } = { ...(queues === "" ? {} : { queues: Number(queues) }), ...(perm === "" ? {} : { perm: Number(perm) }) };
    const change = [body.queues === undefined ? "" : `${body.queues} read and write queues.`, body.perm === undefined ? "" : `Permission ${formatPerm(body.perm)}.`].join(" ");
    ask({ title: `Change topic "${topic}"?`, detail: html`<p>${change}</p>`, confirmLabel: "Change", run: () => mutate("PUT", `/topics/${enc(topic)}`, body) });
  };
  const remove = () =>
    ask({
      title: `Delete topic "${topic}"?`,
      detail: html`<p>Its settings, queues and group offsets are forgotten; its records leave with retention. This cannot be undone.</p>`,
      confirmLabel: "Delete",
      danger: true,
      run: async () => {
        await mutate("DELETE", `/topics/${enc(topic)}`);
        return "deleted";
      },
    });
  const span = overallSpan(spans.data);
  return html`<p><a href=${link("topics")}>← Topics</a></p>
    <h1>Topic ${topic}</h1>
    <${ErrorBanner} error=${detail.error} />
    ${data === undefined
      ? html`<p class="muted">Loading…</p>`
      : html`<div class="stats">
            <div class="stat"><div class="stat-value">${data.readQueues} / ${data.writeQueues}</div><div class="muted">read / write queues</div></div>
            <div class="stat"><div class="stat-value">${formatPerm(data.perm)}</div><div class="muted">permission</div></div>
            <div class="stat"><div class="stat-value" data-stat="messages">${formatNumber(data.queues.reduce((sum, queue) => sum + queue.maxOffset - queue.minOffset, 0))}</div><div class="muted">messages kept</div></div>
            <div class="stat"><div class="stat-value">${formatDuration(span)}</div><div class="muted">retention span</div></div>
          </div>
          <p><a href=${link("messages", undefined, { topic })}>Browse its messages →</a></p>
          <h2>Route</h2>
          <table class="grid" aria-label="Route">
            <thead><tr><th>Broker</th><th>Id</th><th>Address</th><th>Read queues</th><th>Write queues</th><th>Perm</th></tr></thead>
            <tbody>${data.route.brokers.map((broker) => html`<tr><td>${broker.brokerName}</td><td>${broker.brokerId}</td><td class="mono">${broker.address}</td><td class="num">${broker.readQueues}</td><td class="num">${broker.writeQueues}</td><td>${formatPerm(broker.perm)}</td></tr>`)}</tbody>
          </table>
          <h2>Queues</h2>
          <table class="grid" aria-label="Queues">
            <thead><tr><th>Broker</th><th>Queue</th><th>Min offset</th><th>Max offset</th><th>Messages</th><th>Oldest kept</th><th>Newest</th></tr></thead>
            <tbody>
              ${data.queues.map((queue, index) => {
                const queueSpan = spans.data?.[index];
                return html`<tr>
                  <td>${queue.brokerName ?? data.route.brokers[0]?.brokerName ?? "—"}</td><td class="num">${queue.queueId}</td>
                  <td class="num">${queue.minOffset}</td><td class="num">${queue.maxOffset}</td><td class="num">${queue.maxOffset - queue.minOffset}</td>
                  <td>${formatTime(queueSpan?.oldestMs)}</td><td>${formatTime(queueSpan?.newestMs)}</td>
                </tr>`;
              })}
            </tbody>
          </table>
          ${props.settings.readOnly
            ? null
            : html`<h2>Change</h2>
                <form class="toolbar" onSubmit=${update} aria-label="Change topic">
                  <label>Queues <input type="number" min="1" max="1024" placeholder=${String(data.readQueues)} value=${queues} onInput=${(event: Event) => setQueues(inputValue(event))} class="narrow" /></label>
                  <label>Perm <select value=${perm} onChange=${(event: Event) => setPerm(inputValue(event))}><option value="">unchanged</option>${[6, 4, 2, 0, 7].map((value) => html`<option value=${value}>${formatPerm(value)}</option>`)}</select></label>
                  <button type="submit" disabled=${queues === "" && perm === ""}>Apply</button>
                  <span class="spacer"></span>
                  <button type="button" class="danger" onClick=${remove}>Delete topic</button>
                </form>
                <h2>Send a test message</h2>
                <${TestMessageForm} topic=${topic} ask=${ask} />`}`}
    ${dialog}`;
}

/** Each queue's oldest and newest kept message time (one one-message browse at each end). */
async function queueSpans(topic: string): Promise<QueueSpan[]> {
  const detail = await get<TopicDescription>(`/topics/${enc(topic)}`);
  return Promise.all(
    detail.queues.map(async (queue) => {
      if (queue.maxOffset <= queue.minOffset) return {};
      const path = `/topics/${enc(topic)}/queues/${queue.queueId}/messages`;
      const broker = queue.brokerName;
      const [oldest, newest] = await Promise.all([get<BrowsePage>(path, { offset: queue.minOffset, max: 1, broker }), get<BrowsePage>(path, { offset: queue.maxOffset - 1, max: 1, broker })]);
      return { oldestMs: oldest.messages[0]?.storeTimestampMs, newestMs: newest.messages[0]?.storeTimestampMs };
    }),
  );
}

function overallSpan(spans: QueueSpan[] | undefined): number | undefined {
  const oldest = Math.min(...(spans ?? []).map((span) => span.oldestMs ?? Infinity));
  const newest = Math.max(...(spans ?? []).map((span) => span.newestMs ?? -Infinity));
  return Number.isFinite(oldest) && Number.isFinite(newest) ? newest - oldest : undefined;
}
