/**
 * HTTP consumption in RocketMQ 5's pop style (the brokers' PopService does the work, reached
 * in-process or over TCP POP_MESSAGE through the backend):
 *
 *   POST /groups/{group}/receive {topic, max?, invisibleMs?, waitMs?, tags? | sql?}
 *     → {messages: [{...message, receiptHandle, invisibleUntilMs, deliveryAttempt}]}
 *   POST /groups/{group}/ack  {receiptHandles}            → {acked, failed: [...]}
 *   POST /groups/{group}/nack {receiptHandles, delayMs?, errorText?} → {nacked, failed: [...]}
 *     (a failed delivery: visible again after delayMs, or the group's back-off when absent;
 *     past the group's maxReconsumeTimes it goes to %DLQ%<group> with errorText)
 *
 * A receive long-polls up to waitMs; a client that disconnects meanwhile takes no messages (the
 * request's abort signal drops its hold). Ack and nack take many handles: each is settled on its
 * own (all at once) and failures are listed, in request order; when none succeeds the answer is
 * the first failure's error.
 */

import { Hono } from "hono";
import { MqError } from "../../common/errors.ts";
import type { ApiContext } from "../api-context.ts";
import { messageView } from "../message-view.ts";
import { ackBody, groupPath, nackBody, receiveBody } from "../schemas.ts";
import { parseBody, parseParams, toMqError } from "../validation.ts";

interface Failure {
  receiptHandle: string;
  code: number;
  error: string;
}

export function consumeRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.post("/groups/:group/receive", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, receiveBody);
    const popped = await api.backend.receive({
      group,
      topic: body.topic,
      max: body.max,
      invisibleMs: body.invisibleMs,
      waitMs: body.waitMs,
      tags: body.tags,
      sql: body.sql,
      signal: context.req.raw.signal,
    });
    let bytes = 0;
    const messages = popped.map((item) => {
      bytes += item.message.body.length;
      return { ...messageView(item.message, body.encoding), receiptHandle: item.receiptHandle, invisibleUntilMs: item.invisibleUntilMs, deliveryAttempt: item.deliveryAttempt };
    });
    api.metrics.delivered(body.topic, "http", messages.length, bytes);
    return context.json({ messages });
  });

  routes.post("/groups/:group/ack", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, ackBody);
    const { done, failed } = await settleEach(body.receiptHandles, (handle) => api.backend.ack(group, body.topic, handle));
    return context.json({ acked: done, failed });
  });

  routes.post("/groups/:group/nack", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, nackBody);
    const { done, failed } = await settleEach(body.receiptHandles, (handle) => api.backend.nack(group, body.topic, handle, { ...(body.delayMs === undefined ? {} : { delayMs: body.delayMs }), ...(body.errorText === undefined ? {} : { errorText: body.errorText }) }));
    return context.json({ nacked: done, failed });
  });

  return routes;
}

async function settleEach(handles: readonly string[], settle: (handle: string) => unknown): Promise<{ done: number; failed: Failure[] }> {
  const outcomes = await Promise.allSettled(handles.map(async (handle) => settle(handle)));
  let done = 0;
  let firstError: MqError | undefined;
  const failed: Failure[] = [];
  outcomes.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") {
      done += 1;
      return;
    }
    const mqError = toMqError(outcome.reason);
    firstError ??= mqError;
    failed.push({ receiptHandle: handles[index]!, code: mqError.code, error: mqError.message });
  });
  if (done === 0 && firstError !== undefined) throw firstError;
  return { done, failed };
}
