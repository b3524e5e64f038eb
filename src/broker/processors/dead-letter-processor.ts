/**
 * Dead letters over TCP: LIST_DEAD_LETTERS (one page of a group's DLQ entries with why they
 * failed) and REDRIVE_DEAD_LETTERS (resend them; one result per entry). The work is the broker's
 * DeadLetters (dead-letters.ts), shared with REST. These are admin reads and sends: the DLQ's
 * permission, which refuses client pulls, does not apply.
 */

import { redriveMessagesMax } from "../../common/limits.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { BrokerContext } from "../broker-context.ts";

export function listDeadLetters(context: BrokerContext, request: IncomingRequest<typeof RequestCode.LIST_DEAD_LETTERS>): Reply {
  const { consumerGroup, fromMs, toMs, msgId, afterQueueId, afterQueueOffset, limit } = request.fields;
  const after = afterQueueId !== undefined && afterQueueOffset !== undefined ? { queueId: afterQueueId, queueOffset: afterQueueOffset } : undefined;
  return { fields: context.deadLetters.list(consumerGroup, { fromMs, toMs, msgId, after, limit }) };
}

export async function redriveDeadLetters(context: BrokerContext, request: IncomingRequest<typeof RequestCode.REDRIVE_DEAD_LETTERS>): Promise<Reply> {
  context.assertWritable();
  // `all` only says the caller meant every entry: without ids or a range, the scan takes them all.
  const { consumerGroup, ids, fromMs, toMs, toTopic, ratePerSecond, force } = request.fields;
  return { fields: await context.deadLetters.redrive(consumerGroup, { ids, fromMs, toMs, toTopic, ratePerSecond, force, max: redriveMessagesMax }) };
}
