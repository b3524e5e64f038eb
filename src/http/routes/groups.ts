/**
 * Consumer groups: list (with total lag and messages popped but not yet acked), detail (members,
 * subscriptions, per queue the broker offset, the group's offset and the lag), configuration
 * (GET/PUT /groups/{group}/config: retry max, back-off, consumeEnable, orderly), and an offset
 * reset — through the brokers' own admin and offset actions, which also tell the group's running
 * clients to re-read their offsets.
 */

import { Hono } from "hono";
import type { ApiContext } from "../api-context.ts";
import { groupConfigBody, groupPath, resetOffsetBody } from "../schemas.ts";
import { parseBody, parseParams } from "../validation.ts";

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

  return routes;
}
