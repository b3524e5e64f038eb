/**
 * The mq web console: a single page served by `mq start` at `/` (Bun bundles this file, its
 * imports and console.css into the binary). Pages are chosen by the URL's hash (`#/topics`,
 * `#/groups/billing`, `#/messages?topic=orders`), so every view has a link and the server serves
 * one HTML route. Everything shown comes from the documented REST API (api.ts).
 */

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, type Settings, useCsrfToken } from "./api.ts";
import { AuditPage } from "./pages/audit.ts";
import { DeadLettersPage } from "./pages/dead-letters.ts";
import { GroupsPage } from "./pages/groups.ts";
import { MessagesPage } from "./pages/messages.ts";
import { OverviewPage } from "./pages/overview.ts";
import { TimersPage } from "./pages/timers.ts";
import { TopicsPage } from "./pages/topics.ts";
import { TransactionsPage } from "./pages/transactions.ts";
import { link, parseRoute } from "./router.ts";
import { describe, html } from "./ui.ts";

const pages = [
  { page: "overview", label: "Overview", component: OverviewPage },
  { page: "topics", label: "Topics", component: TopicsPage },
  { page: "groups", label: "Groups", component: GroupsPage },
  { page: "messages", label: "Messages", component: MessagesPage },
  { page: "dlq", label: "Dead letters", component: DeadLettersPage },
  { page: "timers", label: "Timers", component: TimersPage },
  { page: "transactions", label: "Transactions", component: TransactionsPage },
  { page: "audit", label: "Audit log", component: AuditPage },
] as const;

function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [settings, setSettings] = useState<Settings | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onHash);
    get<Settings>("/console/settings").then(
      (loaded) => {
        useCsrfToken(loaded.csrfToken);
        setSettings(loaded);
      },
      (failure: unknown) => setError(describe(failure)),
    );
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const current = pages.find((entry) => entry.page === route.page);
  const Page = current?.component;
  return html`<div class="layout">
    <nav class="sidebar" aria-label="Console">
      <div class="brand">mq <span class="muted">console</span></div>
      ${pages.map((entry) => html`<a href=${link(entry.page)} class=${entry.page === route.page ? "active" : ""} aria-current=${entry.page === route.page ? "page" : undefined}>${entry.label}</a>`)}
      <div class="sidebar-foot muted">
        ${settings === undefined ? null : html`<div>v${settings.version}</div>`}
        ${settings?.readOnly === true ? html`<div class="badge" title="consoleReadOnly is true: changes are refused">read-only</div>` : null}
      </div>
    </nav>
    <main class="content">
      ${error !== undefined
        ? html`<p class="error" role="alert">${error}</p>`
        : settings === undefined
          ? html`<p class="muted">Loading…</p>`
          : Page === undefined
            ? html`<h1>Not found</h1><p>No console page is called "${route.page}". <a href=${link("overview")}>Overview</a></p>`
            : html`<${Page} route=${route} settings=${settings} />`}
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app")!);
