/**
 * Topics: list, create, describe (route and per-queue min/max offsets), update (queues, perm), delete. The backend runs
 * the broker's own admin actions (in-process, or over TCP through the SDK), so REST and TCP agree
 * on rules and errors.
 */

import { Hono } from "hono";
import type { ApiContext } from "../api-context.ts";
import { createTopicBody, topicPath, updateTopicBody } from "../schemas.ts";
import { parseBody, parseParams } from "../validation.ts";

export function topicRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/topics", async (context) => context.json({ topics: await api.backend.listTopics() }));

  routes.post("/topics", async (context) => {
    const body = await parseBody(context, createTopicBody);
    return context.json(await api.backend.createTopic(body), 201);
  });

  routes.get("/topics/:topic", async (context) => {
    const { topic } = parseParams(context, topicPath);
    return context.json(await api.backend.describeTopic(topic));
  });

  routes.put("/topics/:topic", async (context) => {
    const { topic } = parseParams(context, topicPath);
    const body = await parseBody(context, updateTopicBody);
    return context.json(await api.backend.updateTopic(topic, body));
  });

  routes.delete("/topics/:topic", async (context) => {
    const { topic } = parseParams(context, topicPath);
    await api.backend.deleteTopic(topic);
    return context.json({ deleted: topic });
  });

  return routes;
}
