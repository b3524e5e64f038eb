/**
 * A message's trace timeline (GET /api/v1/messages/{id}/trace): each hop — published, stored,
 * scheduled, delivered, popped, acked, consumed, retried, dead-lettered, redriven, a transaction's
 * end — in time order (refreshed while open), with who recorded it, when (and how long after the first hop), how long it
 * took, and its status and detail.
 */

import { enc, get } from "../api.ts";
import { ErrorBanner, formatDuration, formatTime, html, usePoll } from "../ui.ts";

/** Hops are written in batches a few ms apart and a consumer's come later: the open timeline refreshes. */
const traceRefreshMs = 2_000;

interface TraceHop {
  hop: string;
  msgId: string;
  topic: string;
  host: string;
  timeMs: number;
  costMs?: number;
  status: "ok" | "failed";
  group?: string;
  clientId?: string;
  queueId?: number;
  queueOffset?: number;
  reconsumeTimes?: number;
  deliverAtMs?: number;
  detail?: string;
}

export function TraceTimeline(props: { msgId: string }) {
  const trace = usePoll(() => get<{ id: string; hops: TraceHop[] }>(`/messages/${enc(props.msgId)}/trace`), traceRefreshMs, [props.msgId]);
  const hops = trace.data?.hops ?? [];
  const firstMs = hops[0]?.timeMs ?? 0;
  return html`<h4>Trace</h4>
    <${ErrorBanner} error=${trace.error} />
    ${trace.data !== undefined && hops.length === 0
      ? html`<p class="muted">No trace recorded for this message.</p>`
      : html`<ol class="timeline" aria-label="Trace">
          ${hops.map(
            (hop) => html`<li class=${hop.status === "failed" ? "timeline-hop failed" : "timeline-hop"}>
              <span class="timeline-dot"></span>
              <div>
                <strong>${hop.hop}</strong> <span class="muted">+${formatDuration(hop.timeMs - firstMs)} · ${formatTime(hop.timeMs)}${hop.costMs === undefined ? "" : ` · took ${formatDuration(hop.costMs)}`}</span>
                <div class="muted small">
                  <span class="mono">${hop.host}</span>${hop.group === undefined ? "" : ` · group ${hop.group}`}${hop.queueId === undefined ? "" : ` · queue ${hop.queueId}${hop.queueOffset === undefined ? "" : ` offset ${hop.queueOffset}`}`}${hop.reconsumeTimes === undefined ? "" : ` · reconsumed ${hop.reconsumeTimes}`}${hop.deliverAtMs === undefined ? "" : ` · due ${formatTime(hop.deliverAtMs)}`}
                </div>
                ${hop.detail === undefined ? null : html`<div class=${hop.status === "failed" ? "error-text small" : "small"}>${hop.detail}</div>`}
              </div>
            </li>`,
          )}
        </ol>`}`;
}
