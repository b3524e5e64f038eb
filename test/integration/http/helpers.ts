/**
 * A broker in this process with the HTTP app in front of it, on 127.0.0.1 port 0, and a small
 * JSON client for it. Everything started is stopped after each test.
 */

import { startHttp, type RunningHttp } from "../../../src/http/start-http.ts";
import { startTestBroker, type TestBroker, type TestBrokerOptions } from "../../helpers/broker.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";

export interface HttpBroker {
  readonly broker: TestBroker;
  readonly http: RunningHttp;
  readonly url: string;
  /** Sends JSON (or a string as is, typed application/json; bytes untyped unless `headers` say) and returns the status and parsed JSON answer. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Headers }>;
  text(path: string): Promise<{ status: number; text: string }>;
}

const running = new Set<RunningHttp>();

afterEachTest(async () => {
  for (const http of [...running]) {
    running.delete(http);
    await http.stop();
  }
});

export async function startHttpBroker(options: TestBrokerOptions & { ready?: () => { name: string; ok: boolean; detail?: string }[]; readOnly?: boolean } = {}): Promise<HttpBroker> {
  const broker = await startTestBroker(options);
  const http = startHttp({
    hostname: "127.0.0.1",
    port: 0,
    version: "test",
    readiness: options.ready ?? (() => [{ name: "store", ok: true }]),
    broker: broker.broker.context,
    connections: () => broker.server.connections.size,
    readOnly: options.readOnly,
  });
  running.add(http);
  const url = http.url;
  return {
    broker,
    http,
    url,
    async call(method, path, body, headers = {}) {
      const encoded = body === undefined || typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
      const response = await fetch(url + path, { method, body: encoded as string | Uint8Array | undefined, headers: { ...(body !== undefined && !(body instanceof Uint8Array) ? { "content-type": "application/json" } : {}), ...headers } });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, json, headers: response.headers };
    },
    async text(path) {
      const response = await fetch(url + path);
      return { status: response.status, text: await response.text() };
    },
  };
}
