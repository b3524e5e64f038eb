/**
 * Serves the HTTP app with Bun.serve and owns what it started: the metrics' bus subscriptions
 * and the pop service's held receives (answered empty on stop, so no request hangs a shutdown).
 *
 * The idle timeout is above the longest receive long poll, so Bun never cuts a held receive.
 */

import { PopService } from "../broker/pop-service.ts";
import { MqError } from "../common/errors.ts";
import { createHttpApp, type HttpAppDependencies } from "./app.ts";
import { BrokerMetrics } from "./broker-metrics.ts";
import { receiveWaitMsMax } from "./limits.ts";

export interface StartHttpOptions extends Omit<HttpAppDependencies, "metrics"> {
  readonly hostname: string;
  /** 0 picks a free port; read it back from `port`. */
  readonly port: number;
}

export interface RunningHttp {
  readonly port: number;
  readonly url: string;
  readonly metrics: BrokerMetrics;
  stop(): Promise<void>;
}

const idleTimeoutSeconds = Math.ceil(receiveWaitMsMax / 1000) + 30;

export function startHttp(options: StartHttpOptions): RunningHttp {
  const { hostname, port, ...dependencies } = options;
  const pop = dependencies.broker === undefined ? undefined : PopService.of(dependencies.broker);
  let server: ReturnType<typeof Bun.serve> | undefined;
  const metrics = new BrokerMetrics({ broker: dependencies.broker, pop, version: dependencies.version, connections: dependencies.connections, httpRequests: () => server?.pendingRequests ?? 0 });
  const app = createHttpApp({ ...dependencies, metrics });
  try {
    server = Bun.serve({ hostname, port, fetch: app.fetch, idleTimeout: idleTimeoutSeconds });
  } catch (error) {
    metrics.close();
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
        pop?.stop(); // answers held receives, so closing the server waits for nothing
        await running.stop(true);
        metrics.close();
      })();
      return stopping;
    },
  };
}
