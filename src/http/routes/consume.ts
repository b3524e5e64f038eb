/**
 * HTTP consumption in RocketMQ 5's pop style (the broker's PopService does the work):
 *
 *   POST /groups/{group}/receive {topic, max?, invisibleMs?, waitMs?, tags?}
 *     → {messages: [{...message, receiptHandle, invisibleUntilMs, deliveryAttempt}]}
 *   POST /groups/{group}/ack  {receiptHandles}            → {acked, failed: [...]}
 *   POST /groups/{group}/nack {receiptHandles, delayMs?}  → {nacked, failed: [...]}
 *
 * A receive long-polls up to waitMs; a client that disconnects meanwhile takes no messages (the
 * request's abort signal drops its hold). Ack and nack take many handles: each is settled on its
 * own and failures are listed; when none succeeds the answer is the first failure's error.
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
    const popped = await api.pop.receive({
      group,
      topic: body.topic,
      maxMessages: body.max,
      invisibleMs: body.invisibleMs,
      waitMs: body.waitMs,
      filter: body.tags === undefined ? undefined : { expressionType: "TAG", expression: body.tags },
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
    const { done, failed } = settleEach(body.receiptHandles, (handle) => api.pop.ack(group, body.topic, handle));
    return context.json({ acked: done, failed });
  });

  routes.post("/groups/:group/nack", async (context) => {
    const { group } = parseParams(context, groupPath);
    const body = await parseBody(context, nackBody);
    const { done, failed } = settleEach(body.receiptHandles, (handle) => void api.pop.changeInvisibleTime(group, body.topic, handle, body.delayMs));
    return context.json({ nacked: done, failed });
  });

  return routes;
}

function settleEach(handles: readonly string[], settle: (handle: string) => void): { done: number; failed: Failure[] } {
  let done = 0;
  let firstError: MqError | undefined;
  const failed: Failure[] = [];
  for (const receiptHandle of handles) {
    try {
      settle(receiptHandle);
      done += 1;
    } catch (error) {
      const mqError = toMqError(error);
      firstError ??= mqError;
      failed.push({ receiptHandle, code: mqError.code, error: mqError.message });
    }
  }
  if (done === 0 && firstError !== undefined) throw firstError;
  return { done, failed };
}
