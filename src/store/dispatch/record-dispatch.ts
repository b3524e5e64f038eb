/**
 * The one dispatch pipeline: every stored record — appended live, replayed at recovery, or
 * (later) applied by a replica — goes through `dispatch(record)` to an ordered list of
 * dispatchers, one per slot:
 *
 *   consume_queue | index | schedule | transaction | dedup | trace | replication
 *
 * The first two are the store's own; the others are filled by the features that need them
 * through `register`. A dispatcher takes only the records whose visibility it accepts, so a
 * prepared or scheduled record reaches its own dispatcher and no consume queue. Records of a
 * deleted topic from before its deletion reach none (topic tombstones).
 *
 * Failure-atomic: a dispatcher throws only when something the record needs cannot be had (the
 * next file cannot be opened); the store then undoes the append, calling `rollback` with the
 * record's offset so every dispatcher forgets what it took from there on.
 */

import { assert } from "../../common/assert.ts";
import type { PhysicalOffset } from "../../common/offsets.ts";
import type { DispatchRecord, Visibility } from "./dispatch-record.ts";

export const dispatcherSlots = ["consume_queue", "index", "schedule", "transaction", "dedup", "trace", "replication"] as const;
export type DispatcherSlot = (typeof dispatcherSlots)[number];

export interface Dispatcher {
  /** The records it takes: one visibility, or "all". */
  readonly accepts: Visibility | "all";
  /**
   * Takes one record. May throw a catalogue error (STORE_IO) only for a resource the record
   * needs; the append is then undone. Replays hand it records it may have seen: be idempotent.
   * The record is valid only during the call.
   */
  dispatch(record: DispatchRecord): void;
  /** Forgets what it took from records at or past `physicalOffset`: those appends were undone. */
  rollback(physicalOffset: PhysicalOffset): void;
}

/** Decides whether a record belongs to a deleted incarnation of its topic. */
export interface RecordFilter {
  hides(record: DispatchRecord): boolean;
}

export class RecordDispatch {
  private readonly bySlot = new Map<DispatcherSlot, Dispatcher>();
  private ordered: Dispatcher[] = [];

  constructor(private readonly filter: RecordFilter) {}

  /** Fills `slot`; each slot takes one dispatcher. */
  register(slot: DispatcherSlot, dispatcher: Dispatcher): void {
    assert(!this.bySlot.has(slot), `dispatcher slot "${slot}" is already taken`);
    this.bySlot.set(slot, dispatcher);
    this.ordered = dispatcherSlots.flatMap((name) => {
      const registered = this.bySlot.get(name);
      return registered === undefined ? [] : [registered];
    });
  }

  has(slot: DispatcherSlot): boolean {
    return this.bySlot.has(slot);
  }

  dispatch(record: DispatchRecord): void {
    if (this.filter.hides(record)) return;
    const ordered = this.ordered;
    const visibility = record.visibility;
    for (let index = 0; index < ordered.length; index++) {
      const dispatcher = ordered[index]!;
      if (dispatcher.accepts === visibility || dispatcher.accepts === "all") dispatcher.dispatch(record);
    }
  }

  rollback(physicalOffset: PhysicalOffset): void {
    for (const dispatcher of this.ordered) dispatcher.rollback(physicalOffset);
  }
}
