/**
 * The transaction transform (issue 12, DESIGN §14): a message sent with the transaction flag
 * becomes a half message — stored in RMQ_SYS_TRANS_HALF_TOPIC, queue 0, with the prepared
 * sysFlag and REAL_TOPIC, REAL_QID, TRAN_MSG and PGROUP (RocketMQ's names). Dispatch sends a
 * prepared record to the transaction slot only: no consume queue, no index entry, so no
 * consumer and no lookup by key or msgId sees it until it is committed (transactions.ts).
 *
 * A half message cannot also be scheduled (RocketMQ refuses it too): its commit is its delivery.
 */

import { MqError } from "../common/errors.ts";
import { sysFlag } from "../common/message-record.ts";
import { propertyNames } from "../common/message-properties.ts";
import { systemTopics } from "../common/system-topics.ts";
import type { MessageTransform, OutgoingRecord } from "./message-transform.ts";

export const transactionHalfTransform: MessageTransform = (message) => {
  if (message.transactionPrepared !== true) return message;
  return halfRecord(message);
};

/** The half record of `message`. Throws when the message also asks for a delivery time or lacks its msgId or group. */
export function halfRecord(message: OutgoingRecord): OutgoingRecord {
  if (message.deliverAtMs !== undefined || message.delayMs !== undefined || (message.delayLevel ?? 0) > 0) {
    throw new MqError("BAD_REQUEST", { reason: "a transactional message cannot also be delayed or scheduled" });
  }
  if (message.msgId === undefined) throw new MqError("INVALID_FIELD", { field: "msgId", reason: "is required for a transactional message" });
  if (message.producerGroup === undefined) throw new MqError("INVALID_FIELD", { field: "producerGroup", reason: "is required for a transactional message (check-back asks that group)" });
  const properties: Record<string, string> = { ...message.properties };
  properties[propertyNames.realTopic] = message.topic;
  properties[propertyNames.realQueueId] = String(message.queueId);
  properties[propertyNames.transactionPrepared] = "true";
  properties[propertyNames.producerGroup] = message.producerGroup;
  // One copy of the message: its encoded properties (if any) are the real topic's, so dropped.
  return { ...message, topic: systemTopics.transactionHalf, queueId: 0, properties, sysFlag: sysFlag.transactionPrepared, propertiesBytes: undefined };
}
