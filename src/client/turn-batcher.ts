/**
 * Requests of one kind that a client starts within one event-loop turn, collected per broker and
 * sent at the turn's end: up to `batchMax` in one batch request, a lone one as the single request.
 * Each caller still settles with its own entry's answer — its result, or the catalogue error that
 * refused that entry (the others are not affected); a failed request rejects every entry it
 * carried. Used for send-backs (send-back.ts) and transaction ends (transaction-end-batcher.ts).
 */

import { MqError } from "../common/errors.ts";

/** An entry's answer in a batch: its result, or the error that refused it. */
export type BatchEntryAnswer<Result> = Result | { readonly error: { readonly code: number; readonly message: string } };

export interface TurnBatchRequests<Entry, Result> {
  readonly batchMax: number;
  /** One entry alone, as the single request. */
  one(address: string, entry: Entry): Promise<Result>;
  /** Several entries in one batch request: one answer per entry, in order. */
  many(address: string, entries: readonly Entry[]): Promise<ReadonlyArray<BatchEntryAnswer<Result>>>;
}

interface Pending<Entry, Result> {
  readonly entry: Entry;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class TurnBatcher<Entry, Result extends object> {
  private queued = new Map<string, Pending<Entry, Result>[]>();
  private scheduled = false;

  constructor(private readonly requests: TurnBatchRequests<Entry, Result>) {}

  add(address: string, entry: Entry): Promise<Result> {
    return new Promise((resolve, reject) => {
      let queue = this.queued.get(address);
      if (queue === undefined) this.queued.set(address, (queue = []));
      queue.push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After this turn's callers (they run in its microtasks), before the next I/O.
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queued = this.queued;
    this.queued = new Map();
    const { batchMax } = this.requests;
    for (const [address, pending] of queued) {
      for (let start = 0; start < pending.length; start += batchMax) this.send(address, pending.slice(start, start + batchMax));
    }
  };

  private send(address: string, pending: readonly Pending<Entry, Result>[]): void {
    if (pending.length === 1) {
      const only = pending[0]!;
      this.requests.one(address, only.entry).then(only.resolve, only.reject);
      return;
    }
    this.requests.many(address, pending.map((item) => item.entry)).then(
      (answers) =>
        pending.forEach((item, index) => {
          const answer = answers[index];
          if (answer === undefined) item.reject(new MqError("INVALID_FIELD", { field: "response.results", reason: `holds ${answers.length} results for ${pending.length} entries` }));
          else if ("error" in answer) item.reject(MqError.fromCode(answer.error.code, answer.error.message));
          else item.resolve(answer);
        }),
      (error: unknown) => {
        for (const item of pending) item.reject(error);
      },
    );
  }
}
