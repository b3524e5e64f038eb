/**
 * Consumer groups: list (with total lag and messages popped but not yet acked), detail (members,
 * subscriptions, per queue the broker offset, the group's offset and the lag), configuration
 * (GET/PUT /groups/{group}/config: retry max, back-off, consumeEnable, orderly), and an offset
 * reset — through the brokers' own admin and offset actions, which also tell the group's running
 * clients to re-read their offsets. Dead letters: a page of the group's DLQ with why each entry
 * failed, and a redrive answering one result per entry.
 */

import { Hono } from "hono";
import type { ApiContext } from "../api-context.ts";
import { deadLettersQuery, groupConfigBody, groupPath, redriveBody, resetOffsetBody } from "../schemas.ts";
import { parseBody, parseParams, parseQuery } from "../validation.ts";

export function groupRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/groups", async (context) => context.json({ groups: await api.backend.listGroups() }));

  routes.get("/groups/:group", async (context) => {
    const { group } = parseParams(context, groupPath);
    return context.json(await api.backend.group(group));
  });

  routes.get("/groups/:group/config", async (context) => {
    const { group } = parseParams(context, groupPath);
    return context.json(await api.backend.groupConfig(group));
  });

  routes.put("/groups/:group/config", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, groupConfigBody);
    return context.json(await api.backend.updateGroupConfig({ ...body, group }));
  });

  routes.post("/groups/:group/offsets/reset", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, resetOffsetBody);
    return context.json({ group, ...(await api.backend.resetOffset(group, body.topic, body.to)) });
  });

  routes.get("/groups/:group/dlq", async (context) => {
    const { group } = parseParams(context, groupPath);
    const query = parseQuery(context, deadLettersQuery);
    return context.json({ group, ...(await api.backend.listDeadLetters(group, { fromMs: query.from, toMs: query.to, msgId: query.msgId, limit: query.limit, after: query.after })) });
  });

  routes.post("/groups/:group/dlq/redrive", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, redriveBody);
    const results = await api.backend.redrive(group, { ids: body.ids, fromMs: body.from, toMs: body.to, all: body.all, toTopic: body.toTopic, ratePerSecond: body.rate, force: body.force });
    return context.json({ group, results });
  });

  return routes;
}
