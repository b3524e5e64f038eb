/**
 * Live tail: messages of a topic as they are stored. Once a second it reads the topic's queue
 * offsets (GET /topics/{topic}) and browses each queue that grew from where it last read — no
 * consumer group, nothing committed, so tailing never disturbs consumers. The newest are shown
 * first; the last `tailRowsMax` are kept.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { type BrowsePage, enc, get, type MessageView, type TopicDescription } from "../api.ts";
import { ErrorBanner, describe, html } from "../ui.ts";
import { MessageDetail } from "./message-detail.ts";
import { MessageTable } from "./message-table.ts";

const tailPollMs = 1_000;
const tailRowsMax = 500;
const tailPageMax = 256;

export function LiveTail(props: { topic: string }) {
  const [rows, setRows] = useState<MessageView[]>([]);
  const [paused, setPaused] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<MessageView | undefined>(undefined);
  /** The first look has read where each queue ends: only from then on is a new message shown. */
  const [watching, setWatching] = useState(false);
  /** Per queue ("broker/queueId"), the next offset to read. */
  const positions = useRef(new Map<string, number>());
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  useEffect(() => {
    let stopped = false;
    let started = false;
    const poll = async () => {
      if (pausedRef.current || document.visibilityState !== "visible") return;
      try {
        const detail = await get<TopicDescription>(`/topics/${enc(props.topic)}`);
        const fresh: MessageView[] = [];
        for (const queue of detail.queues) {
          const id = `${queue.brokerName ?? ""}/${queue.queueId}`;
          // The first look starts at the end: a tail shows what comes next, not the backlog.
          const from = positions.current.get(id) ?? (started ? queue.minOffset : queue.maxOffset);
          if (queue.maxOffset <= from) {
            positions.current.set(id, Math.max(from, queue.minOffset));
            continue;
          }
          const page = await get<BrowsePage>(`/topics/${enc(props.topic)}/queues/${queue.queueId}/messages`, { offset: Math.max(from, queue.minOffset), max: tailPageMax, broker: queue.brokerName });
          positions.current.set(id, page.nextOffset);
          fresh.push(...page.messages);
        }
        started = true;
        if (stopped) return;
        setWatching(true);
        setError(undefined);
        if (fresh.length > 0) {
          fresh.sort((a, b) => b.storeTimestampMs - a.storeTimestampMs);
          setRows((kept) => [...fresh, ...kept].slice(0, tailRowsMax));
        }
      } catch (failure) {
        if (!stopped) setError(describe(failure));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), tailPollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [props.topic]);
  return html`<div class="toolbar">
      <span class=${paused ? "badge" : "badge live"} role="status" data-tail-state=${paused ? "paused" : "live"}>${paused ? "paused" : "live"}</span>
      <span class="muted">${rows.length} messages since the tail opened</span>
      <span class="spacer"></span>
      <button type="button" onClick=${() => setPaused(!paused)}>${paused ? "Resume" : "Pause"}</button>
      <button type="button" onClick=${() => setRows([])}>Clear</button>
    </div>
    <${ErrorBanner} error=${error} />
    ${rows.length === 0 ? html`<p class="muted">${watching ? `Waiting for messages to ${props.topic}…` : `Opening the tail of ${props.topic}…`}</p>` : html`<${MessageTable} messages=${rows} onSelect=${setSelected} />`}
    ${selected === undefined ? null : html`<${MessageDetail} message=${selected} onClose=${() => setSelected(undefined)} />`}`;
}
