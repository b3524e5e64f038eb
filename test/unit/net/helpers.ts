/**
 * Test helpers for the net layer: servers on 127.0.0.1 port 0 that are always stopped, raw
 * sockets for sending bad bytes, and `waitFor`, a bounded poll for a condition (never a fixed
 * sleep standing in for an event).
 */

import { connectRawPeer, type RawPeer } from "../../helpers/raw-peer.ts";
import { MqError } from "../../../src/common/errors.ts";
import { type Connection, type ConnectOptions, connect } from "../../../src/net/connection.ts";
import { Server, type ServerOptions } from "../../../src/net/server.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { waitTimeoutMs, waitUntil } from "../../helpers/wait-for.ts";

const cleanups: Array<() => Promise<void> | void> = [];

afterEachTest(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export async function startServer(options: Partial<ServerOptions> = {}): Promise<Server> {
  const server = await Server.listen({ host: "127.0.0.1", port: 0, ...options });
  cleanups.push(() => server.close());
  return server;
}

export async function connectTo(server: Server, options: Partial<ConnectOptions> = {}): Promise<Connection> {
  const connection = await connect({ host: "127.0.0.1", port: server.port, ...options });
  cleanups.push(() => connection.destroy());
  return connection;
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export function waitFor(what: string, condition: () => boolean, timeoutMs = waitTimeoutMs): Promise<void> {
  return waitUntil(what, condition, timeoutMs, 2);
}

export type { RawPeer } from "../../helpers/raw-peer.ts";

/** A plain socket that records what the server sends back, decoded; destroyed after the test. */
export async function rawPeer(server: Server): Promise<RawPeer> {
  const peer = await connectRawPeer(server.port);
  cleanups.push(() => void peer.socket.destroy());
  return peer;
}

/** The MqError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function rejection(promise: Promise<unknown>): Promise<MqError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MqError) return error;
    throw error;
  }
  throw new Error("expected the promise to reject");
}
