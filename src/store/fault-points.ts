/**
 * Named fault points in the store that tests switch on to make that step fail, instead of
 * monkey-patching internals (Redpanda's failure probes): `append`, `flush`, `roll` and
 * `checkpoint` of the CommitLog, and opening the next file of a consume queue or the index.
 */

import { MqError } from "../common/errors.ts";

export type FaultPoint = "append" | "flush" | "roll" | "checkpoint" | "consume_queue_open" | "index_open";

/** What the failing step was doing, for the error message ("Cannot {operation} ..."). */
const operations: Record<FaultPoint, string> = {
  append: "append",
  flush: "flush",
  roll: "roll",
  checkpoint: "checkpoint",
  consume_queue_open: "open consume-queue file",
  index_open: "open index file",
};

export class FaultPoints {
  private readonly armed = new Map<FaultPoint, { skip: number; remaining: number }>();

  /**
   * Makes the next `times` passes through `point` fail (Infinity: until disarmed), after letting
   * `skip` passes succeed first (to fail, say, the third append of a batch).
   */
  arm(point: FaultPoint, times = Infinity, skip = 0): void {
    this.armed.set(point, { skip, remaining: times });
  }

  disarm(point: FaultPoint): void {
    this.armed.delete(point);
  }

  /** Throws a STORE_IO error when `point` is armed. */
  check(point: FaultPoint, path = ""): void {
    const state = this.armed.get(point);
    if (state === undefined) return;
    if (state.skip > 0) {
      state.skip -= 1;
      return;
    }
    state.remaining -= 1;
    if (state.remaining <= 0) this.armed.delete(point);
    throw new MqError("STORE_IO", { operation: operations[point], path, reason: "fault point is armed" });
  }
}
