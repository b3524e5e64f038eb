/**
 * Scheduled messages over TCP: LIST_SCHEDULED_MESSAGES (counts per time bucket and one page of
 * the pending ones) and CANCEL_SCHEDULED_MESSAGE (by msgId). The work is the broker's
 * ScheduledMessages (scheduled-messages.ts), shared with REST.
 */

import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { BrokerContext } from "../broker-context.ts";
import { ScheduledMessages } from "../scheduled-messages.ts";

export function listScheduledMessages(context: BrokerContext, request: IncomingRequest<typeof RequestCode.LIST_SCHEDULED_MESSAGES>): Reply {
  const { topic, fromMs, toMs, bucketMs, afterDeliverAtMs, afterMsgId, limit } = request.fields;
  const after = afterDeliverAtMs !== undefined && afterMsgId !== undefined ? { deliverAtMs: afterDeliverAtMs, msgId: afterMsgId.toUpperCase() } : undefined;
  return { fields: scheduledMessages(context).list({ topic, fromMs, toMs, bucketMs, after, limit }) };
}

export function cancelScheduledMessage(context: BrokerContext, request: IncomingRequest<typeof RequestCode.CANCEL_SCHEDULED_MESSAGE>): Reply {
  context.assertWritable();
  const msgId = request.fields.msgId.toUpperCase();
  return { fields: { msgId, outcome: scheduledMessages(context).cancel(msgId) } };
}

function scheduledMessages(context: BrokerContext): ScheduledMessages {
  return new ScheduledMessages(context.scheduler, context.store, context.clock);
}
