/**
 * Consumer groups: the list with members, subscriptions and total lag; per group its members (client
 * id, host, version, subscriptions), per-queue broker offset, group offset and lag (largest lag
 * first), a reset of its offsets on a topic to the first or last message or to a time, and "skip
 * backlog" (every topic to its last message) — each after a confirmation.
 */

import { useState } from "preact/hooks";
import { enc, get, type GroupDetail, type GroupMember, type GroupSummary, mutate } from "../api.ts";
import { link, type PageProps } from "../router.ts";
import { ErrorBanner, formatNumber, html, inputValue, localTimeMs, useConfirm, usePoll } from "../ui.ts";

const refreshMs = 5_000;

export function GroupsPage(props: PageProps) {
  return props.route.item === undefined ? html`<${GroupList} />` : html`<${GroupView} ...${props} group=${props.route.item} />`;
}

function GroupList() {
  const list = usePoll(() => get<{ groups: GroupSummary[] }>("/groups"), refreshMs);
  const groups = [...(list.data?.groups ?? [])].sort((a, b) => b.totalLag - a.totalLag || a.group.localeCompare(b.group));
  return html`<h1>Groups</h1>
    <${ErrorBanner} error=${list.error} />
    <table class="grid" aria-label="Groups">
      <thead><tr><th>Group</th><th>Members</th><th>Subscriptions</th><th>Total lag</th><th>In flight</th><th></th></tr></thead>
      <tbody>
        ${groups.map(
          (group) => html`<tr>
            <td><a href=${link("groups", group.group)}>${group.group}</a></td><td class="num">${group.clients}</td>
            <td>${group.subscriptions.map((subscription) => subscription.topic).join(", ") || "—"}</td>
            <td class="num">${formatNumber(group.totalLag)}</td><td class="num">${formatNumber(group.inFlight)}</td>
            <td><a href=${link("dlq", undefined, { group: group.group })}>dead letters</a></td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${list.data !== undefined && groups.length === 0 ? html`<p class="muted">No consumer groups yet.</p>` : null}`;
}

function GroupView(props: PageProps & { group: string }) {
  const group = props.group;
  const detail = usePoll(() => get<GroupDetail>(`/groups/${enc(group)}`), refreshMs, [group]);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const { ask, dialog } = useConfirm((result) => {
    setOutcome(result as string);
    detail.reload();
  });
  const data = detail.data;
  const topics = [...new Set([...(data?.subscriptions.map((subscription) => subscription.topic) ?? []), ...(data?.queues.map((queue) => queue.topic) ?? [])])].sort();
  const [topic, setTopic] = useState("");
  const [target, setTarget] = useState("first");
  const [time, setTime] = useState("");
  const chosenTopic = topic === "" ? topics[0] ?? "" : topic;
  const reset = (event: Event) => {
    event.preventDefault();
    const to = target === "time" ? localTimeMs(time) : target;
    if (to === undefined) return;
    const where = typeof to === "number" ? `the first message stored at or after ${new Date(to).toLocaleString()}` : `its ${to} message`;
    ask({
      title: `Reset group "${group}" on "${chosenTopic}"?`,
      detail: html`<p>Every queue of the topic moves to ${where}. The group's running consumers are told to re-read their offsets.</p>`,
      confirmLabel: "Reset offsets",
      danger: true,
      run: async () => {
        const answer = await mutate<{ queues: unknown[] }>("POST", `/groups/${enc(group)}/offsets/reset`, { topic: chosenTopic, to });
        return `Reset ${answer.queues.length} queues of ${chosenTopic}`;
      },
    });
  };
  const skipBacklog = () =>
    ask({
      title: `Skip the backlog of group "${group}"?`,
      detail: html`<p>Every queue of ${topics.join(", ")} moves to its last message: the ${formatNumber(data?.totalLag)} messages waiting are never consumed by this group.</p>`,
      confirmLabel: "Skip backlog",
      danger: true,
      run: async () => {
        for (const each of topics) await mutate("POST", `/groups/${enc(group)}/offsets/reset`, { topic: each, to: "last" });
        return `Skipped the backlog of ${topics.length} topics`;
      },
    });
  const queues = [...(data?.queues ?? [])].sort((a, b) => b.lag - a.lag || a.topic.localeCompare(b.topic) || a.queueId - b.queueId);
  return html`<p><a href=${link("groups")}>← Groups</a></p>
    <h1>Group ${group}</h1>
    <${ErrorBanner} error=${detail.error} />
    ${outcome === undefined ? null : html`<p class="ok" role="status">${outcome}</p>`}
    ${data === undefined
      ? html`<p class="muted">Loading…</p>`
      : html`<div class="stats">
            <div class="stat"><div class="stat-value" data-stat="lag">${formatNumber(data.totalLag)}</div><div class="muted">total lag</div></div>
            <div class="stat"><div class="stat-value">${data.clientIds.length}</div><div class="muted">members</div></div>
            <div class="stat"><div class="stat-value">${formatNumber(data.inFlight)}</div><div class="muted">in flight</div></div>
          </div>
          ${data.subscriptionConflict === undefined ? null : html`<p class="error">${data.subscriptionConflict}</p>`}
          <h2>Members</h2>
          ${data.clientIds.length === 0
            ? html`<p class="muted">No consumer of this group is connected.</p>`
            : html`<table class="grid" aria-label="Members"><thead><tr><th>Client id</th><th>Host</th><th>Version</th><th>Subscriptions</th></tr></thead>
                <tbody>${membersOf(data).map(
                  (member) => html`<tr>
                    <td class="mono">${member.clientId}</td><td class="mono">${member.host}</td><td>${member.version ?? "unknown"}</td>
                    <td class="mono small">${member.subscriptions.length === 0 ? "—" : member.subscriptions.map((subscription) => `${subscription.topic} ${subscription.expressionType} ${subscription.expression}`).join(", ")}</td>
                  </tr>`,
                )}</tbody></table>`}
          <h2>Subscriptions</h2>
          ${data.subscriptions.length === 0
            ? html`<p class="muted">None registered (a group consuming over HTTP or by pull subscribes per request).</p>`
            : html`<ul class="plain">${data.subscriptions.map((subscription) => html`<li><a href=${link("topics", subscription.topic)}>${subscription.topic}</a> <span class="mono muted">${subscription.expressionType ?? "TAG"} ${subscription.expression ?? "*"}</span></li>`)}</ul>`}
          <h2>Queues by lag</h2>
          <table class="grid" aria-label="Queues by lag">
            <thead><tr><th>Topic</th><th>Broker</th><th>Queue</th><th>Broker offset</th><th>Group offset</th><th>Lag</th><th>Locked by</th></tr></thead>
            <tbody>${queues.map((queue) => html`<tr><td>${queue.topic}</td><td>${queue.brokerName ?? "—"}</td><td class="num">${queue.queueId}</td><td class="num">${queue.brokerOffset}</td><td class="num">${queue.consumerOffset}</td><td class="num">${queue.lag}</td><td class="mono">${queue.lockedBy ?? ""}</td></tr>`)}</tbody>
          </table>
          ${props.settings.readOnly || topics.length === 0
            ? null
            : html`<h2>Offsets</h2>
                <form class="toolbar" onSubmit=${reset} aria-label="Reset offsets">
                  <label>Topic <select value=${chosenTopic} onChange=${(event: Event) => setTopic(inputValue(event))}>${topics.map((each) => html`<option value=${each}>${each}</option>`)}</select></label>
                  <label>To <select value=${target} onChange=${(event: Event) => setTarget(inputValue(event))} aria-label="Reset to"><option value="first">first message</option><option value="last">last message</option><option value="time">a time</option></select></label>
                  ${target === "time" ? html`<input type="datetime-local" step="1" value=${time} onInput=${(event: Event) => setTime(inputValue(event))} aria-label="Reset to time" required />` : null}
                  <button type="submit" class="primary">Reset offsets</button>
                  <span class="spacer"></span>
                  <button type="button" class="danger" onClick=${skipBacklog}>Skip backlog</button>
                </form>`}`}
    ${dialog}`;
}

/** The members as the broker describes them; from an older broker, only ids (the host is the id's IP part). */
function membersOf(data: GroupDetail): GroupMember[] {
  return data.members ?? data.clientIds.map((clientId) => ({ clientId, host: clientId.split("@")[0] ?? clientId, subscriptions: [] }));
}
