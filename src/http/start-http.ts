/**
 * Serves the HTTP app and the web console (src/http/console, at `/`) with Bun.serve and owns what
 * it started: the console charts' sampling timer, the metrics' bus subscriptions
 * and the API's backend (closed on stop: held receives answered empty, so no request hangs a
 * shutdown; an SDK backend's client connections closed).
 *
 * The idle timeout is above the longest receive long poll, so Bun never cuts a held receive.
 */

import { MqError } from "../common/errors.ts";
import { chooseBackend, createHttpApp, type HttpAppDependencies } from "./app.ts";
import { BrokerMetrics } from "./broker-metrics.ts";
import { receiveWaitMsMax } from "./limits.ts";
import { LocalBackend } from "./local-backend.ts";
import { MetricsSeries } from "./metrics-series.ts";
import type { ProbeServer } from "./probe-server.ts";
import consolePage from "./console/index.html";

export interface StartHttpOptions extends Omit<HttpAppDependencies, "metrics" | "series"> {
  readonly hostname: string;
  /** 0 picks a free port; read it back from `port`. */
  readonly port: number;
  /** The probe server that held the port during start-up: taken over, so the port never closes. */
  readonly probes?: ProbeServer;
}

export interface RunningHttp {
  readonly port: number;
  readonly url: string;
  readonly metrics: BrokerMetrics;
  stop(): Promise<void>;
}

const idleTimeoutSeconds = Math.ceil(receiveWaitMsMax / 1000) + 30;

export function startHttp(options: StartHttpOptions): RunningHttp {
  const { hostname, port, probes, ...dependencies } = options;
  const backend = chooseBackend(dependencies);
  const pop = backend instanceof LocalBackend ? backend.pop : undefined;
  let server: ReturnType<typeof Bun.serve> | undefined;
  const metrics = new BrokerMetrics({ broker: dependencies.broker, pop, version: dependencies.version, connections: dependencies.connections, httpRequests: () => server?.pendingRequests ?? 0, watchEventLoop: true });
  const series = new MetricsSeries(metrics);
  const app = createHttpApp({ ...dependencies, backend, metrics, series });
  // The console: one HTML route whose scripts and styles Bun bundles (at build time in dist/mq)
  // and serves at hashed paths; `development: false` serves them minified, without hot reload.
  const routes = { "/": consolePage };
  try {
    if (probes === undefined) server = Bun.serve({ hostname, port, routes, fetch: app.fetch, idleTimeout: idleTimeoutSeconds, development: false });
    else {
      server = probes.server;
      server.reload({ routes, fetch: app.fetch, development: false });
    }
    series.start();
  } catch (error) {
    metrics.close();
    void backend?.close();
    throw new MqError("LISTEN_FAILED", { address: `${hostname}:${port}`, reason: (error as Error).message });
  }
  const running = server;
  const boundPort = running.port ?? port;
  let stopping: Promise<void> | undefined;
  return {
    port: boundPort,
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${boundPort}`,
    metrics,
    stop() {
      stopping ??= (async () => {
        await backend?.close(); // answers held receives, so closing the server waits for nothing
        await running.stop(true);
        series.stop();
        metrics.close();
      })();
      return stopping;
    },
  };
}
