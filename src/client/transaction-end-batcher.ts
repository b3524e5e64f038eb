/**
 * Ends of transactions, batched: the ends a TransactionProducer starts within one event-loop
 * turn for one broker travel as one END_TRANSACTION_BATCH request (a lone one as
 * END_TRANSACTION), and each still gets its own answer — its state, or the catalogue error that
 * refused it (the others are not affected). At most `transactionEndBatchMax` ends a request.
 */

import { MqError } from "../common/errors.ts";
import { transactionEndBatchMax } from "../common/limits.ts";
import type { EndTransactionResult } from "../protocol/responses.ts";
import type { BrokerClient } from "./broker-client.ts";

interface PendingEnd {
  readonly transactionId: string;
  readonly resolution: "commit" | "rollback";
  readonly msgId: string | undefined;
  resolve(result: EndTransactionResult): void;
  reject(error: unknown): void;
}

export class TransactionEndBatcher {
  private open = new Map<string, PendingEnd[]>();
  private flushScheduled = false;
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const batches = this.open;
    this.open = new Map();
    for (const [address, ends] of batches) {
      for (let start = 0; start < ends.length; start += transactionEndBatchMax) this.dispatch(address, ends.slice(start, start + transactionEndBatchMax));
    }
  };

  constructor(private readonly broker: BrokerClient, private readonly options: { readonly group: string; readonly timeoutMs: number }) {}

  end(address: string, transactionId: string, resolution: "commit" | "rollback", msgId?: string): Promise<EndTransactionResult> {
    return new Promise<EndTransactionResult>((resolve, reject) => {
      let ends = this.open.get(address);
      if (ends === undefined) {
        ends = [];
        this.open.set(address, ends);
      }
      ends.push({ transactionId, resolution, msgId, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushAll);
      }
    });
  }

  private dispatch(address: string, ends: readonly PendingEnd[]): void {
    const { group, timeoutMs } = this.options;
    if (ends.length === 1) {
      const end = ends[0]!;
      this.broker.endTransaction(address, { transactionId: end.transactionId, resolution: end.resolution, producerGroup: group, ...(end.msgId === undefined ? {} : { msgId: end.msgId }) }, { timeoutMs }).then(end.resolve, end.reject);
      return;
    }
    const fields = { transactionIds: ends.map((end) => end.transactionId), resolutions: ends.map((end) => end.resolution), producerGroup: group };
    this.broker.endTransactionBatch(address, fields, { timeoutMs }).then(
      (answer) => {
        ends.forEach((end, index) => {
          const result = answer.results[index];
          if (result === undefined) end.reject(new MqError("INVALID_FIELD", { field: "response.results", reason: `holds ${answer.results.length} results for ${ends.length} transactions` }));
          else if ("error" in result) end.reject(MqError.fromCode(result.error.code, result.error.message));
          else end.resolve(result);
        });
      },
      (error: unknown) => {
        for (const end of ends) end.reject(error);
      },
    );
  }
}
