/**
 * Test helpers for the net layer: servers on 127.0.0.1 port 0 that are always stopped, raw
 * sockets for sending bad bytes, and `waitFor`, a bounded poll for a condition (never a fixed
 * sleep standing in for an event).
 */

import { afterEach } from "bun:test";
import { MqError } from "../../../src/common/errors.ts";
import { type Socket, createConnection } from "node:net";
import { type DecodeStep, FrameDecoder } from "../../../src/protocol/frame-decoder.ts";
import type { Frame } from "../../../src/protocol/frame.ts";
import { type Connection, type ConnectOptions, connect } from "../../../src/net/connection.ts";
import { Server, type ServerOptions } from "../../../src/net/server.ts";

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
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

/** Polls `condition` every few ms until it holds; fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A plain socket that records what the server sends back, decoded. */
export interface RawPeer {
  readonly socket: Socket;
  readonly steps: DecodeStep[];
  readonly frames: () => Frame[];
  closed: boolean;
}

export async function rawPeer(server: Server): Promise<RawPeer> {
  const socket = createConnection({ host: "127.0.0.1", port: server.port });
  const decoder = new FrameDecoder();
  const peer: RawPeer = {
    socket,
    steps: [],
    frames: () => peer.steps.flatMap((step) => (step.status === "frame" ? [step.frame] : [])),
    closed: false,
  };
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let step = decoder.next(); step.status !== "need_more"; step = decoder.next()) {
      peer.steps.push(step);
      if (step.status === "fatal") break;
    }
  });
  socket.on("error", () => {});
  socket.on("close", () => (peer.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  cleanups.push(() => void socket.destroy());
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
