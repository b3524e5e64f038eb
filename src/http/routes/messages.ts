/**
 * Messages: send (one JSON message, a JSON array as a batch, or a raw octet-stream body with
 * `mq-tags` / `mq-keys` / `mq-sharding-key` headers), browse a queue without a group, and look
 * a message up by msgId / offsetMsgId or by key.
 *
 * A send is answered only once the broker's flush policy says the message is stored.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { MqError } from "../../common/errors.ts";
import { decodeOffsetMsgId, encodeOffsetMsgId } from "../../common/ids.ts";
import { decodeRecord, type StoredMessage } from "../../common/message-record.ts";
import type { ApiContext } from "../api-context.ts";
import type { OutgoingMessage } from "../message-sender.ts";
import { type MessageView, messageView } from "../message-view.ts";
import { browsePath, browseQuery, encodingQuery, type MessageInput, messageBatchInput, messageIdPath, messageInput, messageQuery, topicPath } from "../schemas.ts";
import { parseParams, parseQuery, parseWith, readJson } from "../validation.ts";

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
      messages = batch ? parseWith(messageBatchInput, json).map((input, index) => toOutgoing(input, `[${index}].body`)) : [toOutgoing(parseWith(messageInput, json), "body")];
    }
    const answers = await api.sender.send(topic, messages);
    api.metrics.sendLatency.observe({ transport: "http" }, (performance.now() - startMs) / 1000);
    return context.json(batch ? answers : answers[0]);
  });

  routes.get("/topics/:topic/queues/:queueId/messages", (context) => {
    const { topic, queueId } = parseParams(context, browsePath);
    const query = parseQuery(context, browseQuery);
    const config = api.broker.topics.require(topic);
    const queues = Math.max(config.readQueues, config.writeQueues);
    if (queueId >= queues) throw new MqError("QUEUE_NOT_FOUND", { topic, queueId, queues });
    const store = api.broker.store;
    const minOffset = store.minOffset(topic, queueId);
    const maxOffset = store.maxOffset(topic, queueId);
    const offset = query.offset ?? minOffset;
    if (offset < minOffset || offset > maxOffset) throw new MqError("OFFSET_OUT_OF_RANGE", { topic, queueId, offset, min: minOffset, max: maxOffset });
    const result = store.getMessages({ topic, queueId, offset, maxCount: query.max });
    const messages = result.status === "found" ? result.messages.map((read) => decodeRecord(result.buffer, read.position)) : [];
    const nextOffset = result.status === "found" ? result.nextOffset : offset;
    return context.json({ topic, queueId, minOffset, maxOffset, nextOffset, messages: views(api, messages, query.encoding) });
  });

  routes.get("/messages/:id", (context) => {
    const { id } = parseParams(context, messageIdPath);
    const { encoding } = parseQuery(context, encodingQuery);
    const message = findById(api, id);
    if (message === undefined) throw new MqError("MESSAGE_NOT_FOUND", { id });
    return context.json(views(api, [message], encoding)[0]!);
  });

  routes.get("/messages", (context) => {
    const { topic, key, max, encoding } = parseQuery(context, messageQuery);
    api.broker.topics.require(topic);
    return context.json({ topic, key, messages: views(api, api.broker.store.queryByKey(topic, key, max), encoding) });
  });

  return routes;
}

function views(api: ApiContext, messages: readonly StoredMessage[], encoding: "utf8" | "base64" | undefined): MessageView[] {
  let bytes = 0;
  for (const message of messages) bytes += message.body.length;
  if (messages.length > 0) api.metrics.delivered(messages[0]!.topic, "http", messages.length, bytes);
  return messages.map((message) => messageView(message, encoding));
}

/** An offsetMsgId of this broker is read at its CommitLog offset; anything else is tried as a producer msgId. */
function findById(api: ApiContext, id: string): StoredMessage | undefined {
  const { store, advertisedHost, port } = api.broker;
  const thisBroker = encodeOffsetMsgId({ host: advertisedHost, port, physicalOffset: 0 }).slice(0, 16);
  if (id.slice(0, 16).toUpperCase() === thisBroker) {
    try {
      const { physicalOffset } = decodeOffsetMsgId(id);
      const found = physicalOffset < store.commitLog.writePosition ? store.getByPhysicalOffset(physicalOffset) : undefined;
      if (found !== undefined) return found;
    } catch {
      // Not a valid offset of this broker: it may still be a msgId.
    }
  }
  return store.queryByMsgId(id);
}

function toOutgoing(input: MessageInput, field: string): OutgoingMessage {
  let body: Uint8Array;
  if (input.encoding === "base64") {
    if (!base64Pattern.test(input.body)) throw new MqError("INVALID_FIELD", { field, reason: "must be base64 when encoding is \"base64\"" });
    body = new Uint8Array(Buffer.from(input.body, "base64"));
  } else {
    body = Buffer.from(input.body, "utf8");
  }
  return { body, tags: input.tags, keys: input.keys, properties: input.properties, shardingKey: input.shardingKey };
}

/** A raw body: tags, keys and sharding key come from headers (keys split on commas or spaces). */
function rawMessage(context: Context, body: Uint8Array): OutgoingMessage {
  const header = (name: string) => context.req.header(name);
  const keysText = header("mq-keys");
  const parsed = parseWith(messageInput.pick({ tags: true, keys: true, shardingKey: true }), {
    tags: header("mq-tags"),
    keys: keysText === undefined ? undefined : keysText.split(/[\s,]+/).filter((key) => key.length > 0),
    shardingKey: header("mq-sharding-key"),
  }, "header mq-");
  return { body, tags: parsed.tags, keys: parsed.keys, shardingKey: parsed.shardingKey };
}
