/**
 * Consumer groups: list (with total lag), detail (members, subscriptions, per queue the broker
 * offset, the group's offset and the lag, plus messages received over pop and not yet acked),
 * and an offset reset — through the broker's own admin and offset processors, which also tell
 * the group's running clients to re-read their offsets.
 */

import { Hono } from "hono";
import * as admin from "../../broker/processors/admin-processor.ts";
import * as offsets from "../../broker/processors/offset-processor.ts";
import { type ApiContext, callProcessor } from "../api-context.ts";
import { groupPath, resetOffsetBody } from "../schemas.ts";
import { parseBody, parseParams } from "../validation.ts";

export function groupRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/groups", (context) => {
    const result = callProcessor(admin.listGroups, api, {}) as { groups: { group: string }[] };
    return context.json({ groups: result.groups.map((group) => ({ ...group, inFlight: api.pop.inFlight(group.group) })) });
  });

  routes.get("/groups/:group", (context) => {
    const { group } = parseParams(context, groupPath);
    const detail = callProcessor(admin.getGroup, api, { consumerGroup: group });
    return context.json({ ...detail, inFlight: api.pop.inFlight(group) });
  });

  routes.post("/groups/:group/offsets/reset", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, resetOffsetBody);
    const to = typeof body.to === "number" ? { to: "timestamp", timestampMs: body.to } : { to: body.to };
    const result = callProcessor(offsets.resetOffset, api, { consumerGroup: group, topic: body.topic, force: true, ...to });
    return context.json({ group, ...result });
  });

  return routes;
}
