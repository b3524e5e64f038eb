/**
 * Messages: send (one JSON message, a JSON array as a batch, or a raw octet-stream body with
 * `mq-tags` / `mq-keys` / `mq-sharding-key` headers), browse a queue without a group, and look
 * a message up by msgId / offsetMsgId or by key.
 *
 * A send is answered only once the broker's flush policy says the message is stored. In a
 * cluster, browsing names the broker (`?broker=`) when the topic's queue ids repeat across brokers.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import type { ReceivedMessage } from "../../client/message.ts";
import { MqError } from "../../common/errors.ts";
import { type QueueOffset, queueOffset } from "../../common/offsets.ts";
import { compileFilter, type MessageFilter } from "../../protocol/filter/filter-expression.ts";
import { compileTagExpression } from "../../protocol/filter/tag-expression.ts";
import type { ApiContext } from "../api-context.ts";
import type { OutgoingMessage } from "../mq-backend.ts";
import { type MessageView, messageView } from "../message-view.ts";
import { browsePath, browseQuery, encodingQuery, type MessageInput, messageBatchInput, messageIdPath, messageInput, messageQuery, topicPath, traceIdPath, traceQuery } from "../schemas.ts";
import { parseParams, parseQuery, parseWith, readJson } from "../validation.ts";
import { acceptMessageInput } from "../message-input-check.ts";
import { batchMessagesMax } from "../../common/limits.ts";

const base64Pattern = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function messageRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.post("/topics/:topic/messages", async (context) => {
    const startMs = performance.now();
    const { topic } = parseParams(context, topicPath);
    const contentType = context.req.header("content-type") ?? "";
    let batch = false;
    let messages: OutgoingMessage[];
    if (contentType.startsWith("application/octet-stream")) {
      messages = [rawMessage(context, new Uint8Array(await context.req.arrayBuffer()))];
    } else {
      const json = await readJson(context);
      batch = Array.isArray(json);
      messages = batch ? parseBatch(json as unknown[]).map((input, index) => toOutgoing(input, `[${index}].body`)) : [toOutgoing(acceptMessageInput(json) ?? parseWith(messageInput, json), "body")];
    }
    const answers = await api.backend.send(topic, messages);
    api.metrics.sendLatency.observe({ transport: "http" }, (performance.now() - startMs) / 1000);
    return context.json(batch ? answers : answers[0]);
  });

  routes.get("/topics/:topic/queues/:queueId/messages", async (context) => {
    const { topic, queueId } = parseParams(context, browsePath);
    const query = parseQuery(context, browseQuery);
    // The query's offset enters here: the one place it becomes a QueueOffset.
    const offset = query.offset !== undefined ? queueOffset(query.offset) : query.from !== undefined ? await api.backend.offsetByTime(topic, queueId, query.from, query.broker) : undefined;
    const page = await api.backend.browse(topic, queueId, { offset, max: query.max, brokerName: query.broker });
    const { minOffset, maxOffset } = page;
    const selected = selectPage(page.messages, { filter: browseFilter(query), toMs: query.to });
    // Past `to`, the cursor stays at the first message left out: a later page with a wider `to` starts there.
    const nextOffset = selected.pastTo === undefined ? page.nextOffset : selected.pastTo;
    const done = selected.pastTo !== undefined || nextOffset >= maxOffset;
    return context.json({ topic, queueId, minOffset, maxOffset, nextOffset, done, messages: views(api, selected.messages, query.encoding) });
  });

  routes.get("/messages/:id", async (context) => {
    const { id } = parseParams(context, messageIdPath);
    const { encoding } = parseQuery(context, encodingQuery);
    return context.json(views(api, [await api.backend.messageById(id)], encoding)[0]!);
  });

  routes.get("/messages/:id/trace", async (context) => {
    const { id } = parseParams(context, traceIdPath);
    const { topic } = parseQuery(context, traceQuery);
    return context.json({ id, hops: await api.backend.trace(id, topic === undefined ? {} : { topic }) });
  });

  routes.get("/messages", async (context) => {
    const { topic, key, max, encoding } = parseQuery(context, messageQuery);
    return context.json({ topic, key, messages: views(api, await api.backend.messagesByKey(topic, key, max), encoding) });
  });

  return routes;
}

/** The browse's tag or SQL92 filter, compiled by the broker's one filter module (cached). */
function browseFilter(query: { tags?: string; sql?: string }): MessageFilter | undefined {
  if (query.sql !== undefined) return compileFilter({ expressionType: "SQL92", expression: query.sql });
  if (query.tags === undefined) return undefined;
  compileTagExpression(query.tags, "tags"); // a bad expression's error names the query field
  return compileFilter({ expressionType: "TAG", expression: query.tags });
}

/**
 * The messages of a browsed page a user asked for: those the filter takes and stored before
 * `toMs`; `pastTo` is the queue offset of the first message at or after `toMs`.
 */
function selectPage(messages: readonly ReceivedMessage[], options: { filter?: MessageFilter; toMs?: number }): { messages: ReceivedMessage[]; pastTo?: QueueOffset } {
  const selected: ReceivedMessage[] = [];
  for (const message of messages) {
    if (options.toMs !== undefined && message.storeTimestampMs >= options.toMs) return { messages: selected, pastTo: message.queueOffset };
    if (options.filter === undefined || options.filter.matches(message.tags, message.properties)) selected.push(message);
  }
  return { messages: selected };
}

/** A batch through the hand-written check; the first entry it cannot accept sends the whole batch to zod for the error. */
function parseBatch(json: unknown[]): MessageInput[] {
  if (json.length === 0 || json.length > batchMessagesMax) return parseWith(messageBatchInput, json);
  const accepted: MessageInput[] = [];
  for (const entry of json) {
    const input = acceptMessageInput(entry);
    if (input === undefined) return parseWith(messageBatchInput, json);
    accepted.push(input);
  }
  return accepted;
}

function views(api: ApiContext, messages: readonly ReceivedMessage[], encoding: "utf8" | "base64" | undefined): MessageView[] {
  let bytes = 0;
  for (const message of messages) bytes += message.body.length;
  if (messages.length > 0) api.metrics.delivered(messages[0]!.topic, "http", messages.length, bytes);
  return messages.map((message) => messageView(message, encoding));
}

function toOutgoing(input: MessageInput, field: string): OutgoingMessage {
  let body: Uint8Array;
  if (input.encoding === "base64") {
    if (!base64Pattern.test(input.body)) throw new MqError("INVALID_FIELD", { field, reason: "must be base64 when encoding is \"base64\"" });
    body = new Uint8Array(Buffer.from(input.body, "base64"));
  } else {
    body = Buffer.from(input.body, "utf8");
  }
  const deliverAtMs = typeof input.deliverAt === "string" ? Date.parse(input.deliverAt) : input.deliverAt;
  return {
    body,
    tags: input.tags,
    keys: input.keys,
    properties: input.properties,
    shardingKey: input.shardingKey,
    ...(deliverAtMs === undefined ? {} : { deliverAtMs }),
    ...(input.delayMs === undefined ? {} : { delayMs: input.delayMs }),
    ...(input.delayLevel === undefined ? {} : { delayLevel: input.delayLevel }),
    ...(input.dedupKey === undefined ? {} : { dedupKey: input.dedupKey }),
    ...(input.transaction === true ? { transaction: true } : {}),
  };
}

/**
 * A raw body: tags, keys, sharding key, delivery time and dedup key come from headers (keys split on commas,
 * a space inside a key refused as everywhere; `mq-deliver-at` ms since the epoch or an ISO date-time, `mq-delay-ms` a number,
 * `mq-dedup-key`).
 */
function rawMessage(context: Context, body: Uint8Array): OutgoingMessage {
  const header = (name: string) => context.req.header(name);
  const keysText = header("mq-keys");
  const deliverAtText = header("mq-deliver-at");
  const delayText = header("mq-delay-ms");
  const parsed = parseWith(messageInput.pick({ tags: true, keys: true, shardingKey: true, deliverAt: true, delayMs: true, dedupKey: true }), {
    tags: header("mq-tags"),
    // Commas separate keys, as in `mq send --keys`; a space inside a key is refused like on every transport.
    keys: keysText === undefined ? undefined : keysText.split(",").map((key) => key.trim()).filter((key) => key.length > 0),
    shardingKey: header("mq-sharding-key"),
    deliverAt: deliverAtText === undefined ? undefined : /^\d{1,15}$/.test(deliverAtText) ? Number(deliverAtText) : deliverAtText,
    delayMs: delayText === undefined ? undefined : /^-?\d{1,15}$/.test(delayText) ? Number(delayText) : delayText,
    dedupKey: header("mq-dedup-key"),
  }, "header mq-");
  const deliverAtMs = typeof parsed.deliverAt === "string" ? Date.parse(parsed.deliverAt) : parsed.deliverAt;
  return { body, tags: parsed.tags, keys: parsed.keys, shardingKey: parsed.shardingKey, ...(deliverAtMs === undefined ? {} : { deliverAtMs }), ...(parsed.delayMs === undefined ? {} : { delayMs: parsed.delayMs }), ...(parsed.dedupKey === undefined ? {} : { dedupKey: parsed.dedupKey }) };
}
