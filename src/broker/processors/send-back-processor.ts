/**
 * CONSUMER_SEND_BACK: a consumer hands back a message it failed; the send-back service stores
 * its retry or dead-letter copy (send-back-service.ts) and the answer says which.
 * CONSUMER_SEND_BACK_BATCH does the same for several failed messages of one group in one request
 * (a consumer hands back one event-loop turn's failures together) and answers one result per
 * entry: a refused entry (MESSAGE_NOT_FOUND, a store error) does not refuse the others.
 */

import { MqError } from "../../common/errors.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { SendBackBatchResult, SendBackResult } from "../../protocol/responses.ts";
import type { BrokerContext } from "../broker-context.ts";
import { type SendBackRequest, SendBackService } from "../send-back-service.ts";

type EntryFields = IncomingRequest<typeof RequestCode.CONSUMER_SEND_BACK_BATCH>["fields"]["entries"][number];
type EntryResult = SendBackBatchResult["results"][number];

export function consumerSendBack(context: BrokerContext, request: IncomingRequest<typeof RequestCode.CONSUMER_SEND_BACK>): Reply | Promise<Reply> {
  const { consumerGroup, clientId, ...entry } = request.fields;
  const answer = SendBackService.of(context).sendBack(sendBackRequest(consumerGroup, clientId, entry));
  const reply = (result: SendBackResult): Reply => ({ fields: { ...result } });
  return answer instanceof Promise ? answer.then(reply) : reply(answer);
}

export function consumerSendBackBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.CONSUMER_SEND_BACK_BATCH>): Reply | Promise<Reply> {
  const { consumerGroup, clientId, entries } = request.fields;
  const service = SendBackService.of(context);
  const results: Array<EntryResult | Promise<EntryResult>> = entries.map((entry) => {
    try {
      const answer = service.sendBack(sendBackRequest(consumerGroup, clientId, entry));
      return answer instanceof Promise ? answer.then(resultOf, (error: unknown) => refused(context, error)) : resultOf(answer);
    } catch (error) {
      return refused(context, error);
    }
  });
  const reply = (settled: EntryResult[]): Reply => ({ fields: { results: settled } });
  return results.some((result) => result instanceof Promise) ? Promise.all(results).then(reply) : reply(results as EntryResult[]);
}

function sendBackRequest(group: string, clientId: string, entry: EntryFields): SendBackRequest {
  return {
    group,
    physicalOffset: entry.physicalOffset,
    originMsgId: entry.originMsgId,
    originTopic: entry.originTopic,
    clientId,
    ...(entry.delayLevel === undefined ? {} : { delayLevel: entry.delayLevel }),
    ...(entry.maxReconsumeTimes === undefined ? {} : { maxReconsumeTimes: entry.maxReconsumeTimes }),
    ...(entry.errorText === undefined ? {} : { errorText: entry.errorText }),
  };
}

function resultOf(result: SendBackResult): EntryResult {
  return { ...result };
}

/** A refused entry's catalogue error (anything else is logged and answered INTERNAL, as a whole request's would be). */
function refused(context: BrokerContext, error: unknown): EntryResult {
  if (!(error instanceof MqError)) context.logger.error(`CONSUMER_SEND_BACK_BATCH entry failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const mqError = error instanceof MqError ? error : new MqError("INTERNAL", { reason: error instanceof Error ? error.message : String(error) });
  return { error: { code: mqError.code, message: mqError.message } };
}
