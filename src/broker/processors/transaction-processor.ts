/**
 * Transactions over TCP: END_TRANSACTION (a producer, or an operator, ends a half message by its
 * transaction id) and LIST_TRANSACTIONS (pending or exhausted ones, a page at a time). The work
 * is the broker's Transactions (transactions.ts), shared with REST.
 */

import { MqError } from "../../common/errors.ts";
import { transactionListPageDefault } from "../../common/limits.ts";
import { resultReply } from "../../protocol/response-body.ts";
import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { BrokerContext } from "../broker-context.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../../common/offsets.ts";
import { type EndTransactionBatchAnswer, transactionEndState } from "../../protocol/responses.ts";
import { Transactions, type TransactionEndAnswer, type TransactionEnded } from "../transactions.ts";

export function endTransaction(context: BrokerContext, request: IncomingRequest<typeof RequestCode.END_TRANSACTION>): Reply | Promise<Reply> {
  const { transactionId, resolution, producerGroup, msgId } = request.fields;
  const transactions = Transactions.of(context);
  if (resolution === "unknown") {
    context.assertWritable();
    return { fields: { transactionId, msgId: msgId ?? "0".repeat(32), state: "pending", already: false } };
  }
  const ended = transactions.end(transactionId, resolution, producerGroup === undefined ? "operator" : "producer");
  return ended instanceof Promise ? ended.then(endReply) : endReply(ended);
}

export function listTransactions(context: BrokerContext, request: IncomingRequest<typeof RequestCode.LIST_TRANSACTIONS>): Reply {
  const { state, limit, afterTransactionId } = request.fields;
  return { fields: Transactions.of(context).list({ state, limit: limit ?? transactionListPageDefault, ...(afterTransactionId === undefined ? {} : { afterTransactionId }) }) };
}

/**
 * Ends each transaction in turn; one answer each, in columns (responses.ts
 * endTransactionBatchAnswerSchema), an entry refused carrying its error (the others go on).
 * Under async flush every end is done when the loop is; under sync flush the answer waits for
 * the flushes.
 */
export function endTransactionBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.END_TRANSACTION_BATCH>): Reply | Promise<Reply> {
  const { transactionIds, resolutions, producerGroup } = request.fields;
  const transactions = Transactions.of(context);
  const by = producerGroup === undefined ? "operator" : "producer";
  const count = transactionIds.length;
  const answer: EndTransactionBatchAnswer = { states: new Array<number>(count), msgIds: new Array<string>(count), queueIds: new Array<number>(count), queueOffsets: new Array<QueueOffset>(count), physicalOffsets: new Array<PhysicalOffset>(count) };
  const errors: NonNullable<EndTransactionBatchAnswer["errors"]> = [];
  const put = (index: number, ended: TransactionEnded): void => {
    const committed = ended.committed;
    answer.states[index] = ended.resolution === "commit" ? (ended.already ? transactionEndState.committedBefore : transactionEndState.committed) : ended.already ? transactionEndState.rolledBackBefore : transactionEndState.rolledBack;
    answer.msgIds[index] = ended.msgId;
    answer.queueIds[index] = committed?.queueId ?? 0;
    answer.queueOffsets[index] = committed?.queueOffset ?? toQueueOffset(0);
    answer.physicalOffsets[index] = committed?.physicalOffset ?? toPhysicalOffset(0);
  };
  const refuse = (index: number, error: unknown): void => {
    if (!(error instanceof MqError)) throw error;
    put(index, { msgId: "", resolution: "commit", already: false, committed: undefined });
    answer.states[index] = transactionEndState.refused;
    errors.push({ index, code: error.code, message: error.message });
  };
  const waits: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    try {
      const ended = transactions.endById(transactionIds[index]!, resolutions[index]!, by);
      if (ended instanceof Promise) waits.push(ended.then((done) => put(index, done), (error: unknown) => refuse(index, error)));
      else put(index, ended);
    } catch (error) {
      refuse(index, error);
    }
  }
  const reply = (): Reply => resultReply(errors.length === 0 ? answer : { ...answer, errors: errors.sort((a, b) => a.index - b.index) });
  return waits.length === 0 ? reply() : Promise.all(waits).then(reply);
}

function endReply(answer: TransactionEndAnswer): Reply {
  return { fields: { ...answer } } as Reply;
}
