/**
 * What the web console reads besides the cluster's own resources — each an ordinary documented
 * call, so anything the console shows a script can fetch too:
 * - `GET /console/settings`: the version, whether the API is read-only (the console then hides
 *   its actions), and the CSRF token a POST may carry instead of a JSON content type;
 * - `GET /audit`: the audit log of mutating requests (audit-log.ts), continued with `after`;
 * - `GET /metrics/series`: the last hour of messages in/out per second, send latency and store
 *   size, one sample a second, and per-topic rates over the last minute (metrics-series.ts).
 */

import { Hono } from "hono";
import type { AuditLog } from "../audit-log.ts";
import { auditPageMax, metricsSampleIntervalMs, topicRateWindowMs } from "../limits.ts";
import type { MetricsSeries } from "../metrics-series.ts";
import { auditQuery, seriesQuery } from "../schemas.ts";
import { parseQuery } from "../validation.ts";

export interface ConsoleRoutesOptions {
  readonly version: string;
  readonly readOnly: boolean;
  readonly csrfToken: string;
  readonly audit: AuditLog;
  readonly series: MetricsSeries;
}

export function consoleRoutes(options: ConsoleRoutesOptions): Hono {
  const routes = new Hono();

  routes.get("/console/settings", (context) => context.json({ version: options.version, readOnly: options.readOnly, csrfToken: options.csrfToken }));

  routes.get("/audit", (context) => {
    const { after, limit } = parseQuery(context, auditQuery);
    return context.json({ entries: options.audit.list({ after, limit: limit ?? auditPageMax }) });
  });

  routes.get("/metrics/series", (context) => {
    const { since } = parseQuery(context, seriesQuery);
    return context.json({ intervalMs: metricsSampleIntervalMs, topicRateWindowMs, samples: options.series.since(since), topics: options.series.topicRates() });
  });

  return routes;
}
