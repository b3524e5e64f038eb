/**
 * The admin HTTP app (hono): the probes (`/health`: the process is alive; `/ready`: recovery
 * done, disk OK... — 503 with per-check details otherwise), `/metrics` (Prometheus text), and the
 * REST API under `/api/v1` (routes/*) over a backend — the in-process broker, or brokers elsewhere
 * through the SDK (mq-backend.ts) — with its OpenAPI document. Mutating API requests pass the
 * cross-site and read-only guard (request-guard.ts) and are written to the audit log. The web
 * console's page and assets are not hono's: startHttp serves them as Bun.serve routes.
 *
 * Every error leaves as JSON `{ code, error, details }` from the shared catalogue with that
 * entry's HTTP status; anything that is not a catalogue error is a bug and a 500 INTERNAL.
 * Bodies over `httpBodyBytesMax` are refused before they are read (413 REQUEST_TOO_LARGE).
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { BrokerContext } from "../broker/broker-context.ts";
import { MqError } from "../common/errors.ts";
import { clusterDefaults } from "../config/config-schema.ts";
import type { ClusterInfo } from "../protocol/responses.ts";
import type { ApiContext } from "./api-context.ts";
import { BrokerMetrics } from "./broker-metrics.ts";
import { httpBodyBytesMax } from "./limits.ts";
import { LocalBackend, type LocalBrokerIdentity } from "./local-backend.ts";
import type { MqBackend } from "./mq-backend.ts";
import { openApiDocument } from "./openapi.ts";
import { AuditLog } from "./audit-log.ts";
import { MetricsSeries } from "./metrics-series.ts";
import { requestGuard } from "./request-guard.ts";
import { clusterRoutes } from "./routes/cluster.ts";
import { consoleRoutes } from "./routes/console.ts";
import { consumeRoutes } from "./routes/consume.ts";
import { groupRoutes } from "./routes/groups.ts";
import { messageRoutes } from "./routes/messages.ts";
import { timerRoutes } from "./routes/timers.ts";
import { transactionRoutes } from "./routes/transactions.ts";
import { topicRoutes } from "./routes/topics.ts";
import { errorResponse, toMqError } from "./validation.ts";

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HttpAppDependencies {
  readiness: () => ReadinessCheck[];
  version: string;
  /** The broker running in this process: the API works on it in-process (LocalBackend). */
  broker?: BrokerContext;
  /**
   * Without a local broker: brokers elsewhere, through the SDK (SdkBackend). With neither, /api/v1
   * answers 503 (STORE_NOT_READY). The caller (startHttp) closes it.
   */
  backend?: MqBackend;
  /** The local broker's cluster, group name and id, for routes and the single-broker cluster view (default: the config defaults). */
  identity?: LocalBrokerIdentity;
  /** Ms since a NameServer last took the local broker's registration; undefined while none has. */
  registrationAgeMs?: () => number | undefined;
  /** The cluster as the NameServer sees it (GET_CLUSTER_INFO); default: this broker alone. */
  cluster?: () => ClusterInfo | Promise<ClusterInfo>;
  /** Open TCP connections of the broker's server, for mq_connections. */
  connections?: () => number;
  /** Metrics to serve; created here when absent (startHttp passes its own to close them). */
  metrics?: BrokerMetrics;
  /** The time series of the console's charts; created here (not sampling) when absent: startHttp passes its own, sampling. */
  series?: MetricsSeries;
  /** `consoleReadOnly`: every mutating request refused, the console's actions hidden. */
  readOnly?: boolean;
  /** NameServer addresses this process knows, for the cluster view. */
  nameServers?: () => readonly string[];
}

/** The backend the API works on: the given one, else the local broker's, else none. */
export function chooseBackend(dependencies: Pick<HttpAppDependencies, "broker" | "backend" | "identity" | "registrationAgeMs" | "version" | "cluster">): MqBackend | undefined {
  if (dependencies.backend !== undefined) return dependencies.backend;
  if (dependencies.broker === undefined) return undefined;
  const { clusterName, brokerName, brokerId } = clusterDefaults;
  return new LocalBackend({
    broker: dependencies.broker,
    identity: dependencies.identity ?? { clusterName, brokerName, brokerId },
    version: dependencies.version,
    cluster: dependencies.cluster,
    registrationAgeMs: dependencies.registrationAgeMs,
  });
}

/** `audit.log` in the local broker's data dir, when it is a directory on disk. */
function auditFile(broker: BrokerContext | undefined): string | undefined {
  const dataDir = broker?.store.options.dataDir;
  return dataDir !== undefined && existsSync(dataDir) ? join(dataDir, "audit.log") : undefined;
}

export function createHttpApp(dependencies: HttpAppDependencies): Hono {
  const app = new Hono();
  const backend = chooseBackend(dependencies);
  const pop = backend instanceof LocalBackend ? backend.pop : undefined;
  const metrics = dependencies.metrics ?? new BrokerMetrics({ broker: dependencies.broker, pop, version: dependencies.version, connections: dependencies.connections });

  app.use("*", async (context, next) => {
    await next();
    metrics.httpRequests.inc({ method: context.req.method, route: context.req.routePath, status: context.res.status });
  });
  app.get("/health", (context) => context.json({ status: "ok", version: dependencies.version }));
  app.get("/ready", (context) => {
    const checks = dependencies.readiness();
    const ready = checks.every((check) => check.ok);
    return context.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });
  app.get("/metrics", (context) => context.body(metrics.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/api/v1/openapi.json", (context) => context.json(openApiDocument(dependencies.version)));

  app.use("/api/v1/*", bodyLimit({ maxSize: httpBodyBytesMax, onError: (context) => errorResponse(context, new MqError("REQUEST_TOO_LARGE", { limit: httpBodyBytesMax })) }));
  // The audit log sees refused requests too, so it wraps the guard.
  const csrfToken = crypto.randomUUID();
  const audit = new AuditLog({ file: auditFile(dependencies.broker) });
  const readOnly = dependencies.readOnly ?? false;
  app.use("/api/v1/*", audit.middleware(csrfToken));
  app.use("/api/v1/*", requestGuard({ readOnly, csrfToken }));
  const series = dependencies.series ?? new MetricsSeries(metrics);
  app.route("/api/v1", consoleRoutes({ version: dependencies.version, readOnly, csrfToken, audit, series }));
  if (backend === undefined) {
    app.all("/api/v1/*", () => {
      throw new MqError("STORE_NOT_READY", { reason: "no broker runs in this process: start with --namesrv or --broker to serve the API for brokers elsewhere" });
    });
  } else {
    const api: ApiContext = { backend, metrics, version: dependencies.version };
    app.route("/api/v1", clusterRoutes(api, { broker: dependencies.broker, identity: dependencies.identity ?? clusterDefaults, nameServers: dependencies.nameServers }));
    app.route("/api/v1", topicRoutes(api));
    app.route("/api/v1", messageRoutes(api));
    app.route("/api/v1", groupRoutes(api));
    app.route("/api/v1", consumeRoutes(api));
    app.route("/api/v1", timerRoutes(api));
    app.route("/api/v1", transactionRoutes(api));
  }

  app.notFound((context) => errorResponse(context, new MqError("NOT_FOUND", { what: "route", name: `${context.req.method} ${context.req.path}` })));
  app.onError((error, context) => errorResponse(context, toMqError(error)));
  return app;
}
