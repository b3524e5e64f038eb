/**
 * Ends of transactions, batched: the ends a TransactionProducer starts within one event-loop
 * turn for one broker travel as one END_TRANSACTION_BATCH request (a lone one as
 * END_TRANSACTION), and each still gets its own answer — its state, or the catalogue error that
 * refused it (the others are not affected). At most `transactionEndBatchMax` ends a request.
 */

import { transactionEndBatchMax } from "../common/limits.ts";
import type { EndTransactionResult } from "../protocol/responses.ts";
import type { BrokerClient } from "./broker-client.ts";
import { TurnBatcher } from "./turn-batcher.ts";

interface End {
  readonly transactionId: string;
  readonly resolution: "commit" | "rollback";
  readonly msgId: string | undefined;
}

export class TransactionEndBatcher {
  private readonly batcher: TurnBatcher<End, EndTransactionResult>;

  constructor(broker: BrokerClient, options: { readonly group: string; readonly timeoutMs: number }) {
    const { group, timeoutMs } = options;
    this.batcher = new TurnBatcher<End, EndTransactionResult>({
      batchMax: transactionEndBatchMax,
      one: (address, end) =>
        broker.endTransaction(address, { transactionId: end.transactionId, resolution: end.resolution, producerGroup: group, ...(end.msgId === undefined ? {} : { msgId: end.msgId }) }, { timeoutMs }),
      many: async (address, ends) => {
        const fields = { transactionIds: ends.map((end) => end.transactionId), resolutions: ends.map((end) => end.resolution), producerGroup: group };
        return (await broker.endTransactionBatch(address, fields, { timeoutMs })).results;
      },
    });
  }

  end(address: string, transactionId: string, resolution: "commit" | "rollback", msgId?: string): Promise<EndTransactionResult> {
    return this.batcher.add(address, { transactionId, resolution, msgId });
  }
}
