/**
 * CONSUMER_SEND_BACK: a consumer hands back a message it failed; the send-back service stores
 * its retry or dead-letter copy (send-back-service.ts) and the answer says which.
 */

import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { SendBackResult } from "../../protocol/responses.ts";
import type { BrokerContext } from "../broker-context.ts";
import { SendBackService } from "../send-back-service.ts";

export function consumerSendBack(context: BrokerContext, request: IncomingRequest<typeof RequestCode.CONSUMER_SEND_BACK>): Reply | Promise<Reply> {
  const { consumerGroup, physicalOffset, originMsgId, originTopic, delayLevel, maxReconsumeTimes, clientId, errorText } = request.fields;
  const answer = SendBackService.of(context).sendBack({
    group: consumerGroup,
    physicalOffset,
    originMsgId,
    originTopic,
    clientId,
    ...(delayLevel === undefined ? {} : { delayLevel }),
    ...(maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes }),
    ...(errorText === undefined ? {} : { errorText }),
  });
  const reply = (result: SendBackResult): Reply => ({ fields: { ...result } });
  return answer instanceof Promise ? answer.then(reply) : reply(answer);
}
