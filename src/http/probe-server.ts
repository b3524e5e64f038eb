/**
 * The probes before the rest of the process is up: `mq start` binds the HTTP port first and
 * serves `/health` (the process is alive: 200) and `/ready` (503 with per-check details, such
 * as recovery progress) while the store recovers, so a liveness probe never restarts a broker in
 * the middle of a long recovery. Every other path answers 503 STORE_NOT_READY. Once the process
 * is up, `startHttp` takes the same server over (Bun's reload): the port never closes.
 */

import { Hono } from "hono";
import { MqError } from "../common/errors.ts";
import type { ReadinessCheck } from "./app.ts";
import { receiveWaitMsMax } from "./limits.ts";
import { errorResponse, toMqError } from "./validation.ts";

/** Above the longest receive long poll, so Bun never cuts a held receive (start-http.ts takes the server over). */
const idleTimeoutSeconds = Math.ceil(receiveWaitMsMax / 1000) + 30;

export interface ProbeServerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly version: string;
  readonly readiness: () => ReadinessCheck[];
}

export interface ProbeServer {
  readonly server: ReturnType<typeof Bun.serve>;
  readonly port: number;
  stop(): Promise<void>;
}

export function startProbeServer(options: ProbeServerOptions): ProbeServer {
  const app = new Hono();
  app.get("/health", (context) => context.json({ status: "ok", version: options.version }));
  app.get("/ready", (context) => context.json({ status: "not_ready", checks: options.readiness() }, 503));
  app.all("*", () => {
    throw new MqError("STORE_NOT_READY", { reason: "the broker is starting (see /ready)" });
  });
  app.onError((error, context) => errorResponse(context, toMqError(error)));
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: options.hostname, port: options.port, fetch: app.fetch, idleTimeout: idleTimeoutSeconds });
  } catch (error) {
    throw new MqError("LISTEN_FAILED", { address: `${options.hostname}:${options.port}`, reason: (error as Error).message });
  }
  return {
    server,
    port: server.port ?? options.port,
    async stop() {
      await server.stop(true);
    },
  };
}
