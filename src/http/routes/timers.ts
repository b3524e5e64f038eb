/**
 * Scheduled messages: `GET /timers` counts the pending ones per time bucket and lists a page of
 * them (earliest delivery first; `next` is the cursor of the following page), `DELETE
 * /timers/{msgId}` cancels one and says how it went: cancelled, already-delivered or unknown.
 */

import { Hono } from "hono";
import type { ApiContext } from "../api-context.ts";
import { timerPath, timersQuery } from "../schemas.ts";
import { parseParams, parseQuery } from "../validation.ts";

export function timerRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/timers", async (context) => {
    const query = parseQuery(context, timersQuery);
    const after = query.after === undefined ? undefined : cursorOf(query.after);
    const listing = await api.backend.listScheduled({ topic: query.topic, fromMs: query.from, toMs: query.to, bucketMs: query.bucketMs, limit: query.limit, after });
    const { next, ...rest } = listing;
    return context.json({ ...rest, ...(next === undefined ? {} : { next: `${next.deliverAtMs}.${next.msgId}` }) });
  });

  routes.delete("/timers/:msgId", async (context) => {
    const { msgId } = parseParams(context, timerPath);
    const outcome = await api.backend.cancelScheduled(msgId.toUpperCase());
    return context.json({ msgId: msgId.toUpperCase(), outcome });
  });

  return routes;
}

/** `deliverAtMs.msgId`, as `next` was written. */
function cursorOf(text: string): { deliverAtMs: number; msgId: string } {
  const dot = text.indexOf(".");
  return { deliverAtMs: Number(text.slice(0, dot)), msgId: text.slice(dot + 1).toUpperCase() };
}
