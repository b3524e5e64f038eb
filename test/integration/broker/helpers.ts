/**
 * Shared pieces of the broker's integration tests: client connections that are always closed,
 * raw sockets for bad bytes, request shorthands, and `waitFor`, a bounded poll for a condition
 * (never a fixed sleep standing in for an event).
 */

import { connectRawPeer, type RawPeer } from "../../helpers/raw-peer.ts";
import { MqError } from "../../../src/common/errors.ts";
import { MsgIdGenerator } from "../../../src/common/ids.ts";
import type { StoredMessage } from "../../../src/common/message-record.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { type Connection, connect } from "../../../src/net/connection.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { readResult } from "../../../src/protocol/response-body.ts";
import type { RequestFieldsInput } from "../../../src/protocol/schemas.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { waitTimeoutMs, waitUntil } from "../../helpers/wait-for.ts";

const cleanups: Array<() => void> = [];

afterEachTest(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

export async function connectTo(broker: { port: number }): Promise<Connection> {
  const connection = await connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 20_000 });
  cleanups.push(() => connection.destroy());
  return connection;
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export function waitFor(what: string, condition: () => boolean, timeoutMs = waitTimeoutMs): Promise<void> {
  return waitUntil(what, condition, timeoutMs, 2);
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

const ids = new MsgIdGenerator({ ip: "127.0.0.1", pid: process.pid, instanceHash: 0x1234 });
export const nextMsgId = (): string => ids.next();

/** A request's result fields (header, or body when moved there). */
export async function call<C extends number>(connection: Channel, code: C, fields?: RequestFieldsInput<C>, body?: Uint8Array): Promise<Record<string, unknown>> {
  return readResult(await connection.request({ code, fields, body }));
}

export interface SendOptions {
  readonly queueId?: number;
  readonly tags?: string;
  readonly keys?: string[];
  readonly properties?: Record<string, string>;
  readonly msgId?: string;
}

export async function send(connection: Channel, topic: string, body: string | Uint8Array, options: SendOptions = {}) {
  const frame = await connection.request({
    code: RequestCode.SEND_MESSAGE,
    fields: { producerGroup: "pg", topic, queueId: options.queueId ?? 0, msgId: options.msgId ?? nextMsgId(), bornTimestampMs: Date.now(), tags: options.tags, keys: options.keys, properties: options.properties },
    body: typeof body === "string" ? new TextEncoder().encode(body) : body,
  });
  return frame.header as { msgId: string; offsetMsgId: string; topic: string; queueId: number; queueOffset: number };
}

export interface PullOptions {
  readonly queueId?: number;
  readonly queueOffset?: number;
  readonly maxMessages?: number;
  readonly group?: string;
  readonly filter?: { expressionType: "TAG" | "SQL92"; expression: string };
  readonly suspendTimeoutMs?: number;
  readonly commitOffset?: number;
}

export interface Pulled {
  status: string;
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
  messages: StoredMessage[];
  body: Uint8Array;
}

export async function pull(connection: Channel, topic: string, options: PullOptions = {}): Promise<Pulled> {
  const frame = await connection.request({
    code: RequestCode.PULL_MESSAGE,
    fields: {
      consumerGroup: options.group ?? "cg",
      topic,
      queueId: options.queueId ?? 0,
      queueOffset: options.queueOffset ?? 0,
      maxMessages: options.maxMessages ?? 32,
      filter: options.filter,
      suspendTimeoutMs: options.suspendTimeoutMs ?? 0,
      commitOffset: options.commitOffset,
    },
  });
  const header = frame.header as unknown as Omit<Pulled, "messages" | "body">;
  return { status: header.status, nextOffset: header.nextOffset, minOffset: header.minOffset, maxOffset: header.maxOffset, messages: splitRecords(frame.body), body: frame.body };
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

export type { RawPeer } from "../../helpers/raw-peer.ts";

/** A plain socket that records what the server sends back, decoded; destroyed after the test. */
export async function rawPeer(broker: { port: number }): Promise<RawPeer> {
  const peer = await connectRawPeer(broker.port);
  cleanups.push(() => void peer.socket.destroy());
  return peer;
}
