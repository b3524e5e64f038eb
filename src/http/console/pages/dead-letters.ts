/**
 * Dead letters of a group: each entry with its origin, reconsume count, failure times, last
 * consumer and error text (a page at a time, `next` continues); redrive the selected entries,
 * those of a time range, or all — to their origin topic or another — after a confirmation, then
 * one result line per entry (resent with its new msgId, or failed and why).
 */

import { useState } from "preact/hooks";
import { type DeadLetter, enc, get, type GroupSummary, mutate, type RedriveResult } from "../api.ts";
import { link, type PageProps } from "../router.ts";
import { ErrorBanner, formatTime, html, inputValue, localTimeMs, useConfirm, usePoll } from "../ui.ts";

const pageSize = 100;

interface DeadLetterPage {
  entries: DeadLetter[];
  next?: string;
}

export function DeadLettersPage(props: PageProps) {
  const groups = usePoll(() => get<{ groups: GroupSummary[] }>("/groups"), 0);
  const names = (groups.data?.groups ?? []).map((group) => group.group).sort();
  const group = props.route.query.get("group") ?? names[0] ?? "";
  return html`<h1>Dead letters</h1>
    <${ErrorBanner} error=${groups.error} />
    <div class="toolbar">
      <label>Group <select value=${group} onChange=${(event: Event) => (location.hash = link("dlq", undefined, { group: inputValue(event) }))} aria-label="Group">
        ${(names.includes(group) || group === "" ? names : [group, ...names]).map((name) => html`<option value=${name}>${name}</option>`)}
      </select></label>
    </div>
    ${group === "" ? html`<p class="muted">No consumer groups yet.</p>` : html`<${GroupDeadLetters} key=${group} group=${group} readOnly=${props.settings.readOnly} />`}`;
}

function GroupDeadLetters(props: { group: string; readOnly: boolean }) {
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after.at(-1);
  const page = usePoll(() => get<DeadLetterPage>(`/groups/${enc(props.group)}/dlq`, { limit: pageSize, after: cursor }), 0, [props.group, cursor]);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [results, setResults] = useState<RedriveResult[] | undefined>(undefined);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [toTopic, setToTopic] = useState("");
  const { ask, dialog } = useConfirm((answer) => {
    setResults((answer as { results: RedriveResult[] }).results);
    setChosen(new Set());
    page.reload();
  });
  const entries = page.data?.entries ?? [];
  const redrive = (what: string, selection: Record<string, unknown>) =>
    ask({
      title: `Redrive ${what} of group "${props.group}"?`,
      detail: html`<p>Each entry is sent again to ${toTopic.trim() === "" ? "its origin topic" : `"${toTopic.trim()}"`}; an entry already redriven is skipped.</p>`,
      confirmLabel: "Redrive",
      run: () => mutate("POST", `/groups/${enc(props.group)}/dlq/redrive`, { ...selection, ...(toTopic.trim() === "" ? {} : { toTopic: toTopic.trim() }) }),
    });
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  const rangeFrom = localTimeMs(from);
  const rangeTo = localTimeMs(to);
  return html`<${ErrorBanner} error=${page.error} />
    ${props.readOnly
      ? null
      : html`<div class="toolbar" aria-label="Redrive">
          <input placeholder="To topic (default: origin)" value=${toTopic} onInput=${(event: Event) => setToTopic(inputValue(event))} aria-label="Redrive to topic" />
          <button type="button" class="primary" disabled=${chosen.size === 0} onClick=${() => redrive(`${chosen.size} selected entries`, { ids: [...chosen] })}>Redrive selected (${chosen.size})</button>
          <label>From <input type="datetime-local" step="1" value=${from} onInput=${(event: Event) => setFrom(inputValue(event))} aria-label="Redrive from time" /></label>
          <label>To <input type="datetime-local" step="1" value=${to} onInput=${(event: Event) => setTo(inputValue(event))} aria-label="Redrive to time" /></label>
          <button type="button" disabled=${rangeFrom === undefined || rangeTo === undefined} onClick=${() => redrive("the entries of that time range", { from: rangeFrom, to: rangeTo })}>Redrive range</button>
          <button type="button" class="danger" disabled=${entries.length === 0} onClick=${() => redrive("all entries", { all: true })}>Redrive all</button>
        </div>`}
    ${results === undefined
      ? null
      : html`<section class="card" aria-label="Redrive results">
          <h3>Redrive results</h3>
          <table class="grid"><thead><tr><th>Entry</th><th>Outcome</th><th>Detail</th></tr></thead>
            <tbody>${results.map((result) => html`<tr><td class="mono">${result.id}</td><td class=${result.status === "resent" ? "ok" : "error-text"}>${result.status}</td><td>${result.status === "resent" ? html`to ${result.topic} as <a class="mono" href=${link("messages", undefined, { mode: "id", id: result.msgId })}>${result.msgId}</a>` : result.reason}</td></tr>`)}</tbody>
          </table>
        </section>`}
    <table class="grid" aria-label="Dead letters">
      <thead><tr>${props.readOnly ? null : html`<th></th>`}<th>Entry id</th><th>Origin topic</th><th>Origin msgId</th><th>Reconsumed</th><th>First failure</th><th>Last failure</th><th>Consumer</th><th>Error</th><th>Redriven</th></tr></thead>
      <tbody>
        ${entries.map(
          (entry) => html`<tr>
            ${props.readOnly ? null : html`<td><input type="checkbox" checked=${chosen.has(entry.id)} onChange=${() => toggle(entry.id)} aria-label=${`Select ${entry.id}`} /></td>`}
            <td class="mono"><a href=${link("messages", undefined, { mode: "id", id: entry.id })}>${entry.id}</a></td><td>${entry.originTopic ?? "—"}</td><td class="mono">${entry.originMsgId ?? "—"}</td>
            <td class="num">${entry.reconsumeTimes}</td><td>${formatTime(entry.firstFailureMs)}</td><td>${formatTime(entry.lastFailureMs)}</td>
            <td class="mono">${entry.clientId ?? "—"}</td><td class="error-text">${entry.errorText ?? ""}</td><td>${entry.redriven === true ? "yes" : "no"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${page.data !== undefined && entries.length === 0 ? html`<p class="muted" role="status">No dead letters for group ${props.group}.</p>` : null}
    <div class="toolbar">
      <button type="button" disabled=${after.length === 0} onClick=${() => setAfter(after.slice(0, -1))}>← Previous</button>
      <button type="button" disabled=${page.data?.next === undefined} onClick=${() => setAfter([...after, page.data!.next!])}>Next →</button>
    </div>
    ${dialog}`;
}

