/**
 * The client end: `connect()` opens a TCP connection with `node:net` (so the SDK runs on Node
 * as well as Bun) and returns a Channel, which sends requests, pipelines them, and answers the
 * broker's own requests (transaction check-back, consumer-ids-changed) through `handle()`.
 */

import { createConnection } from "node:net";
import { type Clock, systemClock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { type FrameLimits, defaultFrameLimits } from "../protocol/frame.ts";
import {
  connectTimeoutMsDefault,
  pendingRequestsPerConnectionMax,
  requestTimeoutMsDefault,
} from "../protocol/limits.ts";
import { Channel } from "./channel.ts";

export type Connection = Channel;

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs?: number;
  /** Default per-request timeout; each request may override it. */
  readonly requestTimeoutMs?: number;
  readonly pendingRequestsMax?: number;
  readonly frameLimits?: FrameLimits;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** Opens a connection; rejects with CONNECT_FAILED (refused, unreachable, timed out) or ABORTED. */
export function connect(options: ConnectOptions): Promise<Connection> {
  const address = `${options.host}:${options.port}`;
  const clock = options.clock ?? systemClock;
  const connectTimeoutMs = options.connectTimeoutMs ?? connectTimeoutMsDefault;
  return new Promise<Connection>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new MqError("ABORTED", { reason: `connect to ${address} was cancelled` }));
      return;
    }
    const socket = createConnection({ host: options.host, port: options.port });
    let settled = false;
    const settle = (error: MqError | undefined) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      options.signal?.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      if (error === undefined) return;
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error) => settle(new MqError("CONNECT_FAILED", { address, reason: error.message }));
    const onAbort = () => settle(new MqError("ABORTED", { reason: `connect to ${address} was cancelled` }));
    const timer = clock.setTimeout(() => settle(new MqError("CONNECT_FAILED", { address, reason: `no answer within ${connectTimeoutMs} ms` })), connectTimeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once("connect", () => {
      if (settled) return;
      settle(undefined);
      resolve(
        new Channel({
          socket,
          address,
          clock,
          logger: options.logger ?? silentLogger,
          requestTimeoutMs: options.requestTimeoutMs ?? requestTimeoutMsDefault,
          pendingRequestsMax: options.pendingRequestsMax ?? pendingRequestsPerConnectionMax,
          // A client never stops reading: its output is bounded by pendingRequestsMax instead.
          outputBytesHighWater: Number.POSITIVE_INFINITY,
          outputBytesLowWater: Number.POSITIVE_INFINITY,
          frameLimits: options.frameLimits ?? defaultFrameLimits,
        }),
      );
    });
  });
}
