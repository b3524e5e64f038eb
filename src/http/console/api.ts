/**
 * The console's only way to the server: the documented REST API (`/api/v1`, the OpenAPI
 * document lists every call made here). Mutations carry the CSRF token of GET
 * /api/v1/console/settings (which also marks them as the console's in the audit log) and a JSON
 * body. Errors come back as the catalogue's `{ code, error }`, thrown as ApiError.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface Settings {
  version: string;
  readOnly: boolean;
  csrfToken: string;
}

let csrfToken = "";

export function useCsrfToken(token: string): void {
  csrfToken = token;
}

export async function get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  return call<T>("GET", path + queryString(query));
}

export async function mutate<T>(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T> {
  return call<T>(method, path, body);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = method === "GET" ? {} : { "mq-csrf-token": csrfToken };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  const json: unknown = text.length === 0 ? {} : JSON.parse(text);
  if (!response.ok) {
    const error = json as { code?: number; error?: string };
    throw new ApiError(response.status, error.code, error.error ?? `${method} ${path} answered ${response.status}`);
  }
  return json as T;
}

function queryString(query: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

export const enc = encodeURIComponent;

// --- Shapes of the answers (as the OpenAPI document describes them) -----------------------------

export interface ClusterBroker {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  role?: "master" | "slave";
  brokerAddr: string;
  version: string;
  lastHeartbeatAgeMs?: number;
  topics: number;
  storeBytes?: number;
  diskUsedRatio?: number;
}

export interface ClusterView {
  source: "namesrv" | "local" | "broker";
  brokers: ClusterBroker[];
  nameServers: string[];
}

export interface SeriesSample {
  timeMs: number;
  inPerSecond: number;
  outPerSecond: number;
  sendLatencyMsMean?: number;
  sendLatencyMsP99?: number;
  storeBytes?: number;
}

export interface Series {
  intervalMs: number;
  topicRateWindowMs: number;
  samples: SeriesSample[];
  topics: Record<string, { inPerSecond: number; outPerSecond: number }>;
}

export interface TopicConfig {
  topic: string;
  readQueues: number;
  writeQueues: number;
  perm: number;
  order: boolean;
}

export interface QueueOffsets {
  queueId: number;
  minOffset: number;
  maxOffset: number;
  brokerName?: string;
}

export interface TopicDescription extends TopicConfig {
  queues: QueueOffsets[];
  route: { brokers: Array<{ brokerName: string; brokerId: number; address: string; readQueues: number; writeQueues: number; perm: number }> };
}

export interface MessageView {
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
  offsetMsgId: string;
  tags?: string;
  keys: string[];
  properties: Record<string, string>;
  body: string;
  encoding: "utf8" | "base64";
  bornTimestampMs: number;
  storeTimestampMs: number;
  bornHost: string;
  storeHost: string;
  reconsumeTimes: number;
  storeSize: number;
}

export interface BrowsePage {
  minOffset: number;
  maxOffset: number;
  nextOffset: number;
  done: boolean;
  messages: MessageView[];
}

export interface GroupSummary {
  group: string;
  clients: number;
  subscriptions: Array<{ topic: string; expression?: string; expressionType?: string }>;
  totalLag: number;
  inFlight?: number;
}

export interface GroupMember {
  clientId: string;
  host: string;
  /** Absent for clients whose heartbeat names no version (older SDKs). */
  version?: string;
  subscriptions: Array<{ topic: string; expressionType: string; expression: string }>;
}

export interface GroupDetail extends GroupSummary {
  clientIds: string[];
  /** Absent from older brokers: then only client ids are known. */
  members?: GroupMember[];
  subscriptionConflict?: string;
  queues: Array<{ topic: string; queueId: number; brokerOffset: number; consumerOffset: number; lag: number; lockedBy?: string; brokerName?: string }>;
}

export interface DeadLetter {
  id: string;
  msgId?: string;
  originTopic?: string;
  originMsgId?: string;
  reconsumeTimes: number;
  firstFailureMs?: number;
  lastFailureMs?: number;
  clientId?: string;
  errorText?: string;
  storeTimestampMs: number;
  tags?: string;
  keys: string[];
  bodyBytes: number;
  redriven?: boolean;
  brokerName?: string;
}

export interface RedriveResult {
  id: string;
  status: "resent" | "failed";
  topic?: string;
  msgId?: string;
  reason?: string;
}

export interface TimerListing {
  total: number;
  bucketMs: number;
  buckets: Array<{ startMs: number; count: number }>;
  bucketsTruncated: boolean;
  messages: Array<{ msgId: string; topic: string; queueId: number; deliverAtMs: number; tags?: string; bodyBytes: number }>;
  next?: string;
}

export interface AuditEntry {
  seq: number;
  timeMs: number;
  method: string;
  path: string;
  status: number;
  code?: number;
  console: boolean;
  remoteAddress?: string;
  body?: string;
}
