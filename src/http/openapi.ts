/**
 * The OpenAPI 3.1 document of the REST API, generated from the same zod schemas the routes parse
 * with (zod 4's `z.toJSONSchema`, input side: what a client sends). Response shapes are described
 * in prose where they are plain maps; every error answer is the one `Error` schema.
 */

import { z } from "zod";
import { errorCatalog } from "../common/errors.ts";
import { clusterInfoSchema, groupDetailSchema, groupMemberSchema } from "../protocol/responses.ts";
import { traceHopSchema } from "../protocol/trace-record.ts";
import * as schemas from "./schemas.ts";

type JsonSchema = Record<string, unknown>;

interface Operation {
  readonly method: "get" | "post" | "put" | "delete";
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly body?: z.ZodType;
  readonly rawBody?: boolean;
  readonly query?: z.ZodObject;
  readonly response?: z.ZodType;
  /** Path parameters that differ from the shared ones below. */
  readonly pathParameters?: Record<string, z.ZodType>;
}

/** GET /api/v1/messages/{id}/trace: the hops of a message's trace, oldest first (the console draws its timeline from it). */
const traceView = z.object({
  id: z.string().meta({ description: "The id asked for: msgId, offsetMsgId or message key" }),
  hops: z.array(traceHopSchema.meta({ id: "TraceHop", description: "One thing that happened to one message, recorded by an SDK client or a broker" })),
});

/** GET /api/v1/groups/{group}: GET_GROUP's answer (queues name their broker in cluster mode). */
const groupView = groupDetailSchema.extend({
  members: z
    .array(groupMemberSchema.extend({ version: z.string().optional().meta({ description: "The client's mq version; absent for clients whose heartbeat carries none" }) }))
    .optional()
    .meta({ description: "Live members: client id, connection address, version and subscriptions; absent from older brokers" }),
  queues: z.array(groupDetailSchema.shape.queues.element.extend({ brokerName: z.string().optional().meta({ description: "Cluster mode: the broker group holding the queue" }) })),
});

/** GET /api/v1/cluster: GET_CLUSTER_INFO's brokers, plus where the view comes from. */
const clusterView = z.object({
  source: z.enum(["namesrv", "local", "broker"]).meta({ description: "namesrv: a NameServer's route table; local: the broker in this process alone; broker: the one broker of --broker" }),
  brokers: z.array(
    clusterInfoSchema.shape.brokers.element.extend({
      lastHeartbeatAgeMs: z.int().min(0).optional().meta({ description: "Ms since a NameServer last heard from the broker; absent when none has" }),
      storeBytes: z.int().min(0).optional().meta({ description: "Bytes the broker's store holds: measured for the broker in this process, else as its last NameServer registration reported; absent when unreported" }),
      diskUsedRatio: z.number().min(0).max(1).optional().meta({ description: "Fraction of the broker's data dir's disk in use: measured for the broker in this process, else as its last NameServer registration reported; absent when unreported" }),
    }),
  ),
  nameServers: z.array(z.string()).meta({ description: "NameServer addresses this process knows: its own and those given by --namesrv" }),
});

/** GET /api/v1/metrics/series: what the console's charts draw. */
const seriesView = z.object({
  intervalMs: z.int(),
  topicRateWindowMs: z.int(),
  samples: z.array(
    z.object({
      timeMs: z.int(),
      inPerSecond: z.number(),
      outPerSecond: z.number(),
      sendLatencyMsMean: z.number().optional().meta({ description: "Absent when no send was answered in the interval" }),
      sendLatencyMsP99: z.number().optional().meta({ description: "Upper bound of the latency bucket holding the 99th percentile" }),
      storeBytes: z.int().optional(),
    }),
  ),
  topics: z.record(z.string(), z.object({ inPerSecond: z.number(), outPerSecond: z.number() })).meta({ description: "Per topic, messages in and out per second over the last topicRateWindowMs" }),
});

const auditView = z.object({
  entries: z.array(
    z.object({
      seq: z.int(),
      timeMs: z.int(),
      method: z.string(),
      path: z.string(),
      status: z.int(),
      code: z.int().optional(),
      console: z.boolean().meta({ description: "The web console made the request" }),
      remoteAddress: z.string().optional(),
      body: z.string().optional().meta({ description: "The JSON body's start" }),
    }),
  ),
});

const consoleSettings = z.object({
  version: z.string(),
  readOnly: z.boolean().meta({ description: "consoleReadOnly: every mutating request is refused (CONSOLE_READ_ONLY)" }),
  csrfToken: z.string().meta({ description: "Sent as the mq-csrf-token header, lets a POST through without a JSON or octet-stream content type" }),
});

const operations: readonly Operation[] = [
  { method: "get", path: "/api/v1/cluster", summary: "Brokers of the cluster: as a NameServer sees them, or the broker in this process alone", tag: "cluster", response: clusterView },
  { method: "get", path: "/api/v1/topics", summary: "List topics", tag: "topics" },
  { method: "post", path: "/api/v1/topics", summary: "Create a topic", tag: "topics", body: schemas.createTopicBody },
  { method: "get", path: "/api/v1/topics/{topic}", summary: "A topic's settings, route and per-queue min/max offsets", tag: "topics" },
  { method: "put", path: "/api/v1/topics/{topic}", summary: "Change a topic's queue count (read and write), permission or dedup window; fields left out keep their value", tag: "topics", body: schemas.updateTopicBody },
  { method: "delete", path: "/api/v1/topics/{topic}", summary: "Delete a topic", tag: "topics" },
  {
    method: "post",
    path: "/api/v1/topics/{topic}/messages",
    summary: "Send one message, or a batch (a JSON array), or a raw body (application/octet-stream with mq-tags, mq-keys, mq-sharding-key headers); answered once stored under the flush policy",
    tag: "messages",
    body: z.union([schemas.messageInput, schemas.messageBatchInput]),
    rawBody: true,
    response: z.union([schemas.sendResult, z.array(schemas.sendResult)]),
  },
  {
    method: "get",
    path: "/api/v1/topics/{topic}/queues/{queueId}/messages",
    summary: "Browse a queue from an offset or a time, without a group, optionally by tag and up to a time; `nextOffset` is the cursor of the next page, `done` says the queue's end or `to` was reached",
    tag: "messages",
    query: schemas.browseQuery,
  },
  { method: "get", path: "/api/v1/messages/{id}", summary: "A message by msgId or offsetMsgId", tag: "messages", query: schemas.encodingQuery },
  { method: "get", path: "/api/v1/messages", summary: "Messages of a topic carrying a key, newest first", tag: "messages", query: schemas.messageQuery },
  {
    method: "get",
    path: "/api/v1/messages/{id}/trace",
    summary: "A message's trace by msgId, offsetMsgId or key: every hop (publish, stored, scheduled, delivered, retried, dead-lettered, redriven, popped, acked, consume-before, consume-after, transaction-end) with host, time, cost and status, oldest first",
    tag: "messages",
    query: schemas.traceQuery,
    pathParameters: { id: schemas.traceIdPath.shape.id },
    response: traceView,
  },
  { method: "get", path: "/api/v1/groups", summary: "Consumer groups with their total lag", tag: "groups" },
  { method: "get", path: "/api/v1/groups/{group}", summary: "A group's members (client id, host, version, subscriptions), subscriptions and per-queue offsets and lag", tag: "groups", response: groupView },
  { method: "get", path: "/api/v1/groups/{group}/config", summary: "A group's configuration: maxReconsumeTimes, back-off, consumeEnable, orderly (the defaults if nobody set it)", tag: "groups", response: schemas.groupConfigView },
  {
    method: "put",
    path: "/api/v1/groups/{group}/config",
    summary: "Create or change a group's configuration; fields left out keep their value. Answered once stored",
    tag: "groups",
    body: schemas.groupConfigBody,
    response: schemas.groupConfigView,
  },
  { method: "post", path: "/api/v1/groups/{group}/offsets/reset", summary: "Move a group's offsets on a topic to first, last or a timestamp", tag: "groups", body: schemas.resetOffsetBody },
  { method: "post", path: "/api/v1/groups/{group}/receive", summary: "Receive messages (pop): each stays invisible to the group for invisibleMs unless acked; long-polls up to waitMs", tag: "consume", body: schemas.receiveBody },
  { method: "post", path: "/api/v1/groups/{group}/ack", summary: "Acknowledge received messages by receipt handle", tag: "consume", body: schemas.ackBody },
  {
    method: "get",
    path: "/api/v1/timers",
    summary: "Scheduled messages waiting for their delivery time: counts per time bucket and one page, earliest first; `next` continues",
    tag: "timers",
    query: schemas.timersQuery,
  },
  { method: "delete", path: "/api/v1/timers/{msgId}", summary: "Cancel a scheduled message by msgId: outcome cancelled, already-delivered or unknown", tag: "timers" },
  {
    method: "get",
    path: "/api/v1/transactions",
    summary: "Unresolved transactions, oldest first: producer group, topic, age, check-backs; state pending (waiting for an outcome or the next check-back) or exhausted (checked transactionCheckMax times, or sent over REST, without one). `next` continues",
    tag: "transactions",
    query: schemas.transactionsQuery,
    response: schemas.transactionListing,
  },
  {
    method: "post",
    path: "/api/v1/transactions/{id}/commit",
    summary: "Commit a pending or exhausted transaction by id: its message appears in its topic with its msgId, keys, tags and properties. Repeated: already true, nothing stored; after a rollback: 409 TRANSACTION_ALREADY_ENDED",
    tag: "transactions",
    response: schemas.transactionEndResult,
  },
  {
    method: "post",
    path: "/api/v1/transactions/{id}/rollback",
    summary: "Roll a pending or exhausted transaction back by id: its message is discarded. After a commit: 409 TRANSACTION_ALREADY_ENDED",
    tag: "transactions",
    response: schemas.transactionEndResult,
  },
  { method: "get", path: "/api/v1/groups/{group}/dlq", summary: "A group's dead letters with why they failed (origin, reconsume count, failure times, client id, error text); one page, `next` continues", tag: "groups", query: schemas.deadLettersQuery },
  { method: "post", path: "/api/v1/groups/{group}/dlq/redrive", summary: "Resend dead letters by ids, time range or all, to their origin topic or toTopic, at a rate; one result per entry (resent or failed with the reason); never twice unless force", tag: "groups", body: schemas.redriveBody },
  { method: "get", path: "/api/v1/console/settings", summary: "What the web console needs first: version, whether the API is read-only, the CSRF token", tag: "console", response: consoleSettings },
  { method: "get", path: "/api/v1/audit", summary: "The audit log of mutating requests (admin actions, and anything the console did): who, what, when, outcome; `after` continues", tag: "console", query: schemas.auditQuery, response: auditView },
  {
    method: "get",
    path: "/api/v1/metrics/series",
    summary: "The last hour of messages in/out per second, send latency (mean, p99) and store size, one sample a second, and per-topic rates over the last minute",
    tag: "console",
    query: schemas.seriesQuery,
    response: seriesView,
  },
  { method: "post", path: "/api/v1/groups/{group}/nack", summary: "Failed deliveries: visible again after delayMs or the group's back-off; past maxReconsumeTimes moved to %DLQ%<group> with errorText", tag: "consume", body: schemas.nackBody },
];

const pathParameters: Record<string, z.ZodType> = {
  topic: schemas.topicName,
  group: schemas.groupName,
  id: schemas.messageIdText,
  msgId: schemas.timerPath.shape.msgId,
  queueId: z.int().min(0),
};

/** Named schemas (`.meta({ id })`) go to components.schemas, referenced from where they are used. */
const components: Record<string, unknown> = {};

function jsonSchema(schema: z.ZodType): JsonSchema {
  const text = JSON.stringify(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" })).replaceAll('"#/$defs/', '"#/components/schemas/');
  const generated = JSON.parse(text) as JsonSchema;
  const { $schema: _ignored, $defs, ...rest } = generated as JsonSchema & { $defs?: Record<string, unknown> };
  Object.assign(components, $defs ?? {});
  if (typeof rest.id === "string") {
    // A named schema at the top: register it and answer with a reference.
    const { id, ...named } = rest;
    components[id] = named;
    return { $ref: `#/components/schemas/${id}` };
  }
  return rest;
}

const errorSchema: JsonSchema = {
  type: "object",
  required: ["code", "error", "details"],
  properties: {
    code: { type: "integer", description: "The catalogue code; clients compare codes, never text", enum: Object.values(errorCatalog).map((spec) => spec.code) },
    error: { type: "string", description: "Human-readable message" },
    details: { type: "object", description: "The message's parameters (field, reason, topic, ...)" },
  },
};

let cached: JsonSchema | undefined;

export function openApiDocument(version: string): JsonSchema {
  if (cached !== undefined && (cached.info as { version: string }).version === version) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const parameters: unknown[] = [];
    for (const name of operation.path.match(/\{(\w+)\}/g) ?? []) {
      const key = name.slice(1, -1);
      parameters.push({ name: key, in: "path", required: true, schema: jsonSchema(operation.pathParameters?.[key] ?? pathParameters[key]!) });
    }
    if (operation.query !== undefined) {
      const shape = jsonSchema(operation.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(shape.properties ?? {})) parameters.push({ name, in: "query", required: shape.required?.includes(name) ?? false, schema });
    }
    const content: Record<string, unknown> = {};
    if (operation.body !== undefined) content["application/json"] = { schema: jsonSchema(operation.body) };
    if (operation.rawBody === true) content["application/octet-stream"] = { schema: { type: "string", format: "binary" } };
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      summary: operation.summary,
      tags: [operation.tag],
      parameters,
      ...(operation.body === undefined ? {} : { requestBody: { required: true, content } }),
      responses: {
        "200": { description: "Success", content: { "application/json": { schema: operation.response === undefined ? { type: "object" } : jsonSchema(operation.response) } } },
        default: { description: "An error from the catalogue, with its HTTP status", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    };
  }
  cached = {
    openapi: "3.1.0",
    info: { title: "mq REST API", version, description: "Admin, messaging and pop-style consumption over HTTP. Errors are { code, error, details } from one catalogue." },
    servers: [{ url: "/" }],
    paths,
    components: { schemas: { ...components, Error: errorSchema } },
  };
  return cached;
}
