/**
 * Message trace records (issue 13): what the SDK and the broker record about each message's
 * path, as the trace topic stores them and the query answers them.
 *
 * A hop is one thing that happened to one message (its producer msgId): published by an SDK,
 * stored, scheduled, delivered, retried, dead-lettered, redriven, popped, acked by the broker,
 * consumed (before / after the handler) by an SDK consumer, a transaction ended. Hops are written
 * in batches: one trace message holds many hops, JSON in its body (`{"v":1,"hops":[...]}`),
 * and its KEYS are the traced msgIds and user keys of those hops, so the store's key index
 * finds every trace message about a message by its msgId (or key) without a scan. A trace
 * message carries `TRACE_ON=false`, so nothing records hops about trace messages themselves.
 *
 * Encoding is lazy: a hop is a plain object until its batch is written.
 */

import { z } from "zod";
import { propertyNames } from "../common/message-properties.ts";
import { messageKeysMax } from "./limits.ts";

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

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Packs hops into trace messages of at most `messageKeysMax` distinct keys (the limit any
 * producer's message has) and `hopsPerMessageMax` hops each, in order.
 */
export function packTraceHops(hops: readonly TraceHop[], hopsPerMessageMax: number): PackedTrace[] {
  const packed: PackedTrace[] = [];
  let current: TraceHop[] = [];
  let keys = new Set<string>();
  const close = (): void => {
    if (current.length === 0) return;
    packed.push({ body: textEncoder.encode(JSON.stringify({ v: 1, hops: current })), keys: [...keys], hops: current.length });
    current = [];
    keys = new Set();
  };
  for (const hop of hops) {
    const added = indexKeysOf(hop).filter((key) => !keys.has(key));
    if (current.length >= hopsPerMessageMax || keys.size + added.length > messageKeysMax) close();
    for (const key of indexKeysOf(hop)) keys.add(key);
    current.push(hop);
  }
  close();
  return packed;
}

/** The keys a hop is found by: its msgId, then its message's keys (as many as fit one trace message). */
function indexKeysOf(hop: TraceHop): string[] {
  if (hop.keys === undefined || hop.keys.length === 0) return [hop.msgId];
  return [hop.msgId, ...hop.keys.filter((key) => key !== hop.msgId)].slice(0, messageKeysMax);
}

/** The hops of a stored trace message; a body that is not one yields none (a user wrote there). */
export function unpackTraceHops(body: Uint8Array): TraceHop[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(body));
  } catch {
    return [];
  }
  const hops = (parsed as { hops?: unknown } | null)?.hops;
  if (!Array.isArray(hops)) return [];
  const out: TraceHop[] = [];
  for (const hop of hops) {
    const checked = traceHopSchema.safeParse(hop);
    if (checked.success) out.push(checked.data);
  }
  return out;
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
