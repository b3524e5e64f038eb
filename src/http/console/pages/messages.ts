/**
 * The message browser: a topic's queue by offset or time range, a page at a time (the cursor is
 * the page's `nextOffset`: no cap on how far one can go), optionally by tag expression or SQL92
 * filter over properties (both evaluated on the broker); a lookup
 * by key or by msgId / offsetMsgId; and a live tail (live-tail.ts). A row opens the message
 * (message-detail.ts).
 */

import { useEffect, useState } from "preact/hooks";
import { type BrowsePage, enc, get, type MessageView, type TopicConfig, type TopicDescription } from "../api.ts";
import { link, type PageProps } from "../router.ts";
import { ErrorBanner, describe, html, inputValue, localTimeMs, usePoll } from "../ui.ts";
import { LiveTail } from "./live-tail.ts";
import { MessageDetail } from "./message-detail.ts";
import { MessageTable } from "./message-table.ts";

type Mode = "browse" | "key" | "id" | "tail";
const modes: ReadonlyArray<readonly [Mode, string]> = [["browse", "Browse a queue"], ["key", "By key"], ["id", "By id"], ["tail", "Live tail"]];
const pageSizes = [50, 100, 1_000] as const;

export function MessagesPage(props: PageProps) {
  const query = props.route.query;
  const mode = (modes.find(([each]) => each === query.get("mode"))?.[0] ?? "browse") as Mode;
  const topics = usePoll(() => get<{ topics: TopicConfig[] }>("/topics"), 0);
  const names = (topics.data?.topics ?? []).map((topic) => topic.topic).sort();
  const topic = query.get("topic") ?? names[0] ?? "";
  const go = (changes: Record<string, string | undefined>) => {
    location.hash = link("messages", undefined, { mode, topic, ...changes });
  };
  return html`<h1>Messages</h1>
    <${ErrorBanner} error=${topics.error} />
    <div class="tabs" role="tablist">
      ${modes.map(([each, label]) => html`<a role="tab" href=${link("messages", undefined, { mode: each, topic })} class=${each === mode ? "tab active" : "tab"} aria-selected=${each === mode}>${label}</a>`)}
    </div>
    ${mode === "id"
      ? html`<${ById} initial=${query.get("id") ?? ""} />`
      : html`<div class="toolbar">
            <label>Topic <select value=${topic} onChange=${(event: Event) => go({ topic: inputValue(event) })} aria-label="Topic">${names.map((name) => html`<option value=${name}>${name}</option>`)}</select></label>
          </div>
          ${topic === "" ? html`<p class="muted">No topics yet.</p>` : mode === "browse" ? html`<${Browse} key=${topic} topic=${topic} />` : mode === "key" ? html`<${ByKey} key=${topic} topic=${topic} />` : html`<${LiveTail} key=${topic} topic=${topic} />`}`}`;
}

interface Cursor {
  offset: number | undefined;
  fromMs: number | undefined;
}

function Browse(props: { topic: string }) {
  const detail = usePoll(() => get<TopicDescription>(`/topics/${enc(props.topic)}`), 0, [props.topic]);
  const queues = detail.data?.queues ?? [];
  const [queueIndex, setQueueIndex] = useState(0);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [filterKind, setFilterKind] = useState<"tags" | "sql">("tags");
  const [filter, setFilter] = useState("");
  const [pageSize, setPageSize] = useState<number>(pageSizes[1]);
  const [history, setHistory] = useState<Cursor[]>([]);
  const [page, setPage] = useState<BrowsePage | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<MessageView | undefined>(undefined);
  const queue = queues[queueIndex];
  const load = async (cursor: Cursor, stack: Cursor[]) => {
    if (queue === undefined) return;
    try {
      performance.mark("messages-requested");
      const answer = await get<BrowsePage>(`/topics/${enc(props.topic)}/queues/${queue.queueId}/messages`, {
        offset: cursor.offset,
        from: cursor.offset === undefined ? cursor.fromMs : undefined,
        to: localTimeMs(to),
        ...(filter.trim() === "" ? {} : { [filterKind]: filter.trim() }),
        max: pageSize,
        broker: queue.brokerName,
      });
      performance.mark("messages-received");
      setPage(answer);
      setHistory([...stack, cursor]);
      setSelected(undefined);
      setError(undefined);
    } catch (failure) {
      setError(describe(failure));
    }
  };
  const submit = (event: Event) => {
    event.preventDefault();
    void load({ offset: undefined, fromMs: localTimeMs(from) }, []);
  };
  return html`<form class="toolbar" onSubmit=${submit} aria-label="Browse">
      <label>Queue <select value=${queueIndex} onChange=${(event: Event) => setQueueIndex(Number(inputValue(event)))} aria-label="Queue">
        ${queues.map((each, index) => html`<option value=${index}>${each.brokerName === undefined ? "" : `${each.brokerName} `}queue ${each.queueId} (${each.minOffset}–${each.maxOffset})</option>`)}
      </select></label>
      <label>From <input type="datetime-local" step="1" value=${from} onInput=${(event: Event) => setFrom(inputValue(event))} aria-label="From time" /></label>
      <label>To <input type="datetime-local" step="1" value=${to} onInput=${(event: Event) => setTo(inputValue(event))} aria-label="To time" /></label>
      <select value=${filterKind} onChange=${(event: Event) => setFilterKind(inputValue(event) as "tags" | "sql")} aria-label="Filter kind"><option value="tags">Tag</option><option value="sql">SQL92</option></select>
      <input placeholder=${filterKind === "tags" ? "a || b" : "region = 'eu' AND price > 30"} value=${filter} onInput=${(event: Event) => setFilter(inputValue(event))} aria-label="Filter" class=${filterKind === "sql" ? "wide" : "narrow-wide"} />
      <label>Page <select value=${pageSize} onChange=${(event: Event) => setPageSize(Number(inputValue(event)))} aria-label="Page size">${pageSizes.map((size) => html`<option value=${size}>${size}</option>`)}</select></label>
      <button type="submit" class="primary">Load</button>
    </form>
    <${ErrorBanner} error=${error ?? detail.error} />
    ${page === undefined
      ? null
      : html`<div class="toolbar">
          <span class="muted" data-page-info>Offsets ${history.at(-1)?.offset ?? "start"} → ${page.nextOffset} of ${page.minOffset}–${page.maxOffset}; ${page.messages.length} shown${page.done ? ", end reached" : ""}</span>
          <span class="spacer"></span>
          <button type="button" disabled=${history.length < 2} onClick=${() => void load(history.at(-2)!, history.slice(0, -2))}>← Previous</button>
          <button type="button" disabled=${page.done} onClick=${() => void load({ offset: page.nextOffset, fromMs: undefined }, history)}>Next →</button>
        </div>`}
    ${page === undefined ? null : html`<${MessageTable} messages=${page.messages} onSelect=${setSelected} />`}
    ${selected === undefined ? null : html`<${MessageDetail} message=${selected} onClose=${() => setSelected(undefined)} />`}`;
}

function ByKey(props: { topic: string }) {
  const [key, setKey] = useState("");
  const [messages, setMessages] = useState<MessageView[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<MessageView | undefined>(undefined);
  const search = async (event: Event) => {
    event.preventDefault();
    try {
      const answer = await get<{ messages: MessageView[] }>("/messages", { topic: props.topic, key: key.trim(), max: 256 });
      setMessages(answer.messages);
      setError(undefined);
    } catch (failure) {
      setError(describe(failure));
    }
  };
  return html`<form class="toolbar" onSubmit=${search} aria-label="Find by key">
      <input placeholder="Message key" value=${key} onInput=${(event: Event) => setKey(inputValue(event))} required aria-label="Key" />
      <button type="submit" class="primary">Find</button>
    </form>
    <${ErrorBanner} error=${error} />
    ${messages === undefined ? null : messages.length === 0 ? html`<p class="muted" role="status">No message of ${props.topic} has key "${key}".</p>` : html`<${MessageTable} messages=${messages} onSelect=${setSelected} />`}
    ${selected === undefined ? null : html`<${MessageDetail} message=${selected} onClose=${() => setSelected(undefined)} />`}`;
}

function ById(props: { initial: string }) {
  const [id, setId] = useState(props.initial);
  const [message, setMessage] = useState<MessageView | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const find = async (wanted: string) => {
    try {
      setMessage(await get<MessageView>(`/messages/${enc(wanted.trim())}`));
      setError(undefined);
    } catch (failure) {
      setMessage(undefined);
      setError(describe(failure));
    }
  };
  useEffect(() => {
    if (props.initial !== "") void find(props.initial);
  }, [props.initial]);
  return html`<form class="toolbar" onSubmit=${(event: Event) => {
      event.preventDefault();
      void find(id);
    }} aria-label="Find by id">
      <input class="wide mono" placeholder="msgId or offsetMsgId" value=${id} onInput=${(event: Event) => setId(inputValue(event))} required aria-label="Message id" />
      <button type="submit" class="primary">Find</button>
    </form>
    <${ErrorBanner} error=${error} />
    ${message === undefined ? null : html`<${MessageDetail} message=${message} onClose=${() => setMessage(undefined)} />`}`;
}
