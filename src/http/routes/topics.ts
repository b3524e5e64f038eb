/**
 * Topics: list, create, describe (route and per-queue min/max offsets), delete. Each action runs
 * the broker's own admin processor, so REST and TCP agree on rules and errors.
 */

import { Hono } from "hono";
import * as admin from "../../broker/processors/admin-processor.ts";
import { type ApiContext, callProcessor } from "../api-context.ts";
import { createTopicBody, topicPath } from "../schemas.ts";
import { parseBody, parseParams } from "../validation.ts";

export function topicRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/topics", (context) => {
    const topics = api.broker.topics.list().map((config) => ({ ...config }));
    return context.json({ topics });
  });

  routes.post("/topics", async (context) => {
    const body = await parseBody(context, createTopicBody);
    const queues = body.queues ?? api.broker.config.defaultTopicQueues;
    callProcessor(admin.createTopic, api, { topic: body.topic, readQueues: queues, writeQueues: queues, perm: body.perm, order: body.order });
    return context.json(describe(api, body.topic), 201);
  });

  routes.get("/topics/:topic", (context) => {
    const { topic } = parseParams(context, topicPath);
    return context.json(describe(api, topic));
  });

  routes.delete("/topics/:topic", (context) => {
    const { topic } = parseParams(context, topicPath);
    callProcessor(admin.deleteTopic, api, { topic });
    return context.json({ deleted: topic });
  });

  return routes;
}

/** A topic's settings, where it lives (this broker) and each queue's offsets. */
function describe(api: ApiContext, topic: string) {
  const detail = callProcessor(admin.getTopic, api, { topic }) as { readQueues: number; writeQueues: number; perm: number };
  const route = {
    brokers: [{ brokerName: api.brokerName, brokerId: 0, address: `${api.broker.advertisedHost}:${api.broker.port}`, readQueues: detail.readQueues, writeQueues: detail.writeQueues, perm: detail.perm }],
  };
  return { ...detail, route };
}
