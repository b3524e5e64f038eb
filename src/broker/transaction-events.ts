/**
 * What the broker says on the in-process bus when a transaction ends, for whoever records it
 * (message trace's "transaction end", metrics). Emitted once per transaction, after the outcome
 * was written (the committed message and the state record appended), in the same turn.
 */

export type TransactionResolution = "commit" | "rollback";

/** Who ended it: the producer (END_TRANSACTION), a check-back answer, or an operator (REST, CLI, Admin). */
export type TransactionEndedBy = "producer" | "check" | "operator";

export type TransactionEvents = {
  "transaction.ended": {
    readonly transactionId: string;
    readonly msgId: string;
    readonly producerGroup: string;
    readonly topic: string;
    readonly resolution: TransactionResolution;
    readonly by: TransactionEndedBy;
    /** Check-backs the producer received before the end. */
    readonly checks: number;
    /** The committed message: its queue and offsetMsgId; absent for a rollback. */
    readonly committed?: { readonly queueId: number; readonly offsetMsgId: string };
    readonly endedMs: number;
  };
};
