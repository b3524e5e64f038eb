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
import { Transactions, type TransactionEndAnswer } from "../transactions.ts";

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

/** Ends each transaction in turn; one result each, an entry refused carrying its error (the others go on). */
export async function endTransactionBatch(context: BrokerContext, request: IncomingRequest<typeof RequestCode.END_TRANSACTION_BATCH>): Promise<Reply> {
  const { transactionIds, resolutions, producerGroup } = request.fields;
  const transactions = Transactions.of(context);
  const by = producerGroup === undefined ? "operator" : "producer";
  const results = await Promise.all(
    transactionIds.map(async (transactionId, index) => {
      try {
        return { ...(await transactions.end(transactionId, resolutions[index]!, by)) };
      } catch (error) {
        if (!(error instanceof MqError)) throw error;
        return { transactionId, error: { code: error.code, message: error.message } };
      }
    }),
  );
  return resultReply({ results });
}

function endReply(answer: TransactionEndAnswer): Reply {
  return { fields: { ...answer } } as Reply;
}
