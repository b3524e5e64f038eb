/**
 * Message trace records (issue 13): what the SDK and the broker record about each message's
 * path, as the trace topic stores them and the query answers them.
 *
 * A hop is one thing that happened to one message (its producer msgId): published by an SDK,
 * stored, scheduled, delivered, retried, dead-lettered, redriven, popped, acked by the broker,
 * consumed (before / after the handler) by an SDK consumer, a transaction ended. Hops are written
 * in batches: one trace message holds many hops in a compact binary body (trace-codec.ts; JSON
 * bodies, as a client in another language may write, are read too), and its KEYS are the index
 * keys of the traced msgIds (traceIndexKey: one per client and millisecond) and the hops' user
 * keys, so the store's key index finds every trace message about a message by its msgId (or key)
 * without a scan. A trace message carries `TRACE_ON=false`, so nothing records hops about trace
 * messages themselves.
 *
 * The broker's stored hop of a message in its topic is never written: a trace query builds it
 * from the message's own record (broker/stored-hop.ts), in the same shape.
 *
 * Encoding is lazy: a hop is a plain object until its batch is written.
 */

import { z } from "zod";
import { propertyNames } from "../common/message-properties.ts";
import { messageKeysMax } from "./limits.ts";
import { decodeTraceHops, encodeTraceHops, traceBinaryFormat, traceBinaryFormatUnshared } from "./trace-codec.ts";

export const traceHopNames = [
  "publish",
  "stored",
  "scheduled",
  "delivered",
  "retried",
  "dead-lettered",
  "redriven",
  "popped",
  "acked",
  "consume-before",
  "consume-after",
  "transaction-end",
] as const;
export type TraceHopName = (typeof traceHopNames)[number];

export const traceHopSchema = z.object({
  hop: z.enum(traceHopNames),
  /** The traced message's producer msgId. */
  msgId: z.string().min(1).max(64),
  topic: z.string().max(255),
  /** Who recorded it: a broker's "host:port", or an SDK client's id. */
  host: z.string().max(255),
  /** When it happened (ms since the epoch), by the recorder's clock. */
  timeMs: z.number().int().min(0),
  /** How long it took (a send's round trip, a handler's run), when it has a duration. */
  costMs: z.number().min(0).optional(),
  /** ok, or failed (a send or handler that failed; a consume that asked for a retry). */
  status: z.enum(["ok", "failed"]),
  keys: z.array(z.string()).optional(),
  tags: z.string().optional(),
  /** A producer group (publish) or consumer group (consume, retry, pop). */
  group: z.string().optional(),
  /** The SDK client that sent, consumed or popped it. */
  clientId: z.string().optional(),
  offsetMsgId: z.string().optional(),
  queueId: z.number().int().min(0).optional(),
  queueOffset: z.number().int().min(0).optional(),
  storeTimeMs: z.number().int().min(0).optional(),
  /** Failed deliveries before this one (consume, retry, dead letter). */
  reconsumeTimes: z.number().int().min(0).optional(),
  /** A scheduled or retried message's delivery time. */
  deliverAtMs: z.number().int().min(0).optional(),
  /** The W3C trace context the application set on the message, passed through. */
  traceparent: z.string().optional(),
  /** What else there is to say: an error text, where a redrive went, commit or rollback. */
  detail: z.string().optional(),
});
export type TraceHop = z.infer<typeof traceHopSchema>;
/** A query's answer: hops, oldest first. */
export const traceHopsSchema = z.array(traceHopSchema);

/** The W3C trace-context property an application may set; it passes through untouched. */
export const traceparentProperty = "traceparent";

/** Properties every trace message carries: no hop is recorded about a trace message. */
export const traceMessageProperties: Readonly<Record<string, string>> = { [propertyNames.traceOn]: "false" };

/** A message that opted out of tracing (TRACE_ON=false), as trace messages do. */
export function isTraceOff(properties: Readonly<Record<string, string>> | undefined): boolean {
  return properties !== undefined && properties[propertyNames.traceOn] === "false";
}

/** One trace message to write: its body and the keys that index it. */
export interface PackedTrace {
  readonly body: Uint8Array;
  readonly keys: string[];
  readonly hops: number;
}

/**
 * What a client records for one consumption: its consume-after hop with the time the handler
 * started (`beforeMs`), written once and read back as two hops, consume-before and consume-after.
 */
export type RecordedHop = TraceHop & { beforeMs?: number };

const textDecoder = new TextDecoder();

/**
 * The index key a hop is found by: a producer msgId (32 hex digits: client ip, pid, instance,
 * milliseconds, counter) without its counter, so every message one client made in one millisecond
 * shares a key — a trace message of 128 hops of a busy client is indexed by a few keys, not 128
 * (an index entry costs the broker as much as the hop's whole write). Other ids are their own key.
 * A query looks up an id and its key (trace-query.ts) and keeps the hops naming the id.
 */
export function traceIndexKey(msgId: string): string {
  return msgId.length === 32 ? msgId.slice(0, traceIndexKeyChars) : msgId;
}
const traceIndexKeyChars = 28;

/**
 * Packs hops into trace messages of at most `messageKeysMax` distinct index keys (the limit any
 * producer's message has) and `hopsPerMessageMax` hops each, in order. A message's body is
 * binary (trace-codec.ts); its keys are its hops' index keys (traceIndexKey) and user keys.
 */
export function packTraceHops(hops: readonly RecordedHop[], hopsPerMessageMax: number): PackedTrace[] {
  const packed: PackedTrace[] = [];
  let start = 0;
  let keys = new Set<string>();
  // The last index key added, and the msgId it came from: hops in a row are mostly one client's of
  // one millisecond (a producer's sends, a pulled batch), so a msgId starting with the last key
  // needs no slice and no set lookup.
  let lastKey = "";
  const close = (end: number): void => {
    if (end === start) return;
    packed.push({ body: encodeTraceHops(hops, start, end), keys: [...keys], hops: end - start });
    start = end;
    keys = new Set();
    lastKey = "";
  };
  for (let index = 0; index < hops.length; index++) {
    const hop = hops[index]!;
    const msgId = hop.msgId;
    const hopKeys = hop.keys;
    if (hopKeys === undefined && lastKey.length === traceIndexKeyChars && msgId.length === 32 && msgId.startsWith(lastKey)) {
      if (index - start >= hopsPerMessageMax) {
        close(index);
        keys.add(lastKey = traceIndexKey(msgId));
      }
      continue;
    }
    const key = traceIndexKey(msgId);
    if (hopKeys === undefined && keys.has(key)) {
      if (index - start >= hopsPerMessageMax) close(index);
      keys.add(key);
      lastKey = key;
      continue;
    }
    const added = (keys.has(key) ? 0 : 1) + (hopKeys === undefined ? 0 : hopKeys.filter((each) => !keys.has(each)).length);
    if (index - start >= hopsPerMessageMax || keys.size + added > messageKeysMax) close(index);
    keys.add(key);
    lastKey = key;
    if (hopKeys !== undefined) for (const each of hopKeys) if (keys.size < messageKeysMax) keys.add(each);
  }
  close(hops.length);
  return packed;
}

/**
 * The hops of a stored trace message: binary (trace-codec.ts), or JSON as a client in another
 * language may write it (`{"v":1,"common":{...},"hops":[...]}`). A body that is neither yields
 * none (a user wrote there); a hop of the wrong shape is skipped.
 */
export function unpackTraceHops(body: Uint8Array): TraceHop[] {
  const recorded = body[0] === traceBinaryFormat || body[0] === traceBinaryFormatUnshared ? decodeBinary(body) : decodeJson(body);
  const out: TraceHop[] = [];
  for (const { beforeMs, ...fields } of recorded) {
    const checked = traceHopSchema.safeParse(fields);
    if (!checked.success) continue;
    if (checked.data.hop === "consume-after" && typeof beforeMs === "number") out.push(consumeBefore(checked.data, beforeMs));
    out.push(checked.data);
  }
  return out;
}

function decodeBinary(body: Uint8Array): Array<Record<string, unknown>> {
  try {
    return decodeTraceHops(body);
  } catch (error) {
    if (error instanceof RangeError) return [];
    throw error;
  }
}

function decodeJson(body: Uint8Array): Array<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(body));
  } catch {
    return [];
  }
  const hops = (parsed as { hops?: unknown } | null)?.hops;
  if (!Array.isArray(hops)) return [];
  const common = (parsed as { common?: unknown }).common;
  const shared = typeof common === "object" && common !== null ? common : {};
  return hops.map((hop) => ({ ...shared, ...(typeof hop === "object" && hop !== null ? hop : {}) }));
}

/** The consume-before hop a consumption's record holds: when the handler started. */
function consumeBefore(after: TraceHop, beforeMs: number): TraceHop {
  const { costMs: _cost, detail: _detail, ...before } = after;
  return { ...before, hop: "consume-before", timeMs: beforeMs, status: "ok" };
}

/** A stored copy of a message, as a trace query reads it: what names a publish hop's offsetMsgId. */
export interface StoredCopy {
  readonly msgId: string;
  readonly offsetMsgId: string;
  /** The copy's place in time (a CommitLog offset on one broker, a store time across brokers): the earliest copy of a message is the one its send stored. */
  readonly order: number;
}

/**
 * Gives each publish hop without an offsetMsgId the one of the record its send stored: the
 * earliest stored copy with its msgId (a later copy is a retry, a dead letter, a scheduled
 * message's delivery). The SDK writes publish hops without it (trace-dispatcher.ts): the broker's
 * record names it at no cost to the send. A broker's trace query completes them from the records
 * it holds, Admin.trace from the stored hops of the others (the trace topic and the message may
 * live on two brokers). A publish hop that has one (an older SDK's, another
 * language's) keeps it. Changes the hops in place.
 */
export function completePublishHops(hops: readonly TraceHop[], copies: readonly StoredCopy[]): void {
  if (copies.length === 0) return;
  const earliest = new Map<string, StoredCopy>();
  for (const copy of copies) {
    const msgId = copy.msgId.toUpperCase();
    const known = earliest.get(msgId);
    if (known === undefined || copy.order < known.order) earliest.set(msgId, copy);
  }
  for (const hop of hops) {
    if (hop.hop !== "publish" || hop.offsetMsgId !== undefined || hop.status !== "ok") continue;
    const copy = earliest.get(hop.msgId.toUpperCase());
    if (copy !== undefined) hop.offsetMsgId = copy.offsetMsgId;
  }
}

/** Whether a hop is about the message an id names (its msgId, offsetMsgId, or one of its keys). */
export function hopMatches(hop: TraceHop, id: string): boolean {
  const upper = id.toUpperCase();
  return hop.msgId.toUpperCase() === upper || hop.offsetMsgId?.toUpperCase() === upper || (hop.keys?.includes(id) ?? false);
}

/** The order of a message's path, for hops recorded in the same millisecond: a failed consume comes before the retry it caused. */
const pathOrder: readonly TraceHopName[] = ["publish", "stored", "scheduled", "delivered", "popped", "consume-before", "consume-after", "acked", "retried", "dead-lettered", "redriven", "transaction-end"];

/** A timeline: by time, then in the order a message's path runs (a hop and the next may share a millisecond). */
export function sortTimeline(hops: TraceHop[]): TraceHop[] {
  return hops.sort((a, b) => a.timeMs - b.timeMs || pathOrder.indexOf(a.hop) - pathOrder.indexOf(b.hop));
}

/** The same hop found twice (two trace topics, two brokers asked) counts once. */
export function uniqueHops(hops: readonly TraceHop[]): TraceHop[] {
  const seen = new Set<string>();
  return hops.filter((hop) => {
    const key = `${hop.hop}|${hop.msgId}|${hop.host}|${hop.timeMs}|${hop.group ?? ""}|${hop.queueOffset ?? ""}|${hop.clientId ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
