/**
 * The admin HTTP app (hono). This first cut answers the probes: `/health` (the process is
 * alive) and `/ready` (recovery is done and the disk accepts writes: 503 with per-check
 * details otherwise). Later issues add the REST API and console under the same app.
 */

import { Hono } from "hono";
import { MqError } from "../common/errors.ts";

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HttpAppDependencies {
  readiness: () => ReadinessCheck[];
  version: string;
}

export function createHttpApp(dependencies: HttpAppDependencies): Hono {
  const app = new Hono();
  app.get("/health", (context) => context.json({ status: "ok", version: dependencies.version }));
  app.get("/ready", (context) => {
    const checks = dependencies.readiness();
    const ready = checks.every((check) => check.ok);
    return context.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });
  app.notFound((context) => context.json({ code: 1010, error: `Cannot find route "${context.req.path}"`, details: {} }, 404));
  app.onError((error, context) => {
    const mqError = error instanceof MqError ? error : new MqError("INTERNAL", { reason: error.message });
    return context.json({ code: mqError.code, error: mqError.message, details: mqError.params }, mqError.http as 400);
  });
  return app;
}
