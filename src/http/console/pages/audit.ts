/** The audit log (GET /api/v1/audit): every admin change and everything the console did, newest first. */

import { type AuditEntry, get } from "../api.ts";
import type { PageProps } from "../router.ts";
import { ErrorBanner, formatTime, html, usePoll } from "../ui.ts";

const refreshMs = 5_000;

export function AuditPage(_props: PageProps) {
  const log = usePoll(() => get<{ entries: AuditEntry[] }>("/audit"), refreshMs);
  const entries = [...(log.data?.entries ?? [])].reverse();
  return html`<h1>Audit log</h1>
    <p class="muted">Mutating requests to the admin API since this process started: topics, groups, offsets, dead letters, timers, and whatever the console sent.</p>
    <${ErrorBanner} error=${log.error} />
    <table class="grid" aria-label="Audit log">
      <thead><tr><th>Time</th><th>From</th><th>Request</th><th>Outcome</th><th>Body</th></tr></thead>
      <tbody>
        ${entries.map(
          (entry) => html`<tr>
            <td>${formatTime(entry.timeMs)}</td><td>${entry.console ? "console" : "API"} <span class="muted mono">${entry.remoteAddress ?? ""}</span></td>
            <td class="mono">${entry.method} ${entry.path}</td>
            <td class=${entry.status >= 400 ? "error-text" : "ok"}>${entry.status}${entry.code === undefined ? "" : ` (${entry.code})`}</td>
            <td class="mono preview">${entry.body ?? ""}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${log.data !== undefined && entries.length === 0 ? html`<p class="muted">Nothing changed yet.</p>` : null}`;
}
