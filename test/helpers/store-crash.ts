/**
 * An in-process stand-in for `kill -9` of a store: nothing is flushed, no checkpoint is written
 * and the abort marker stays, but the data-dir lock is released so the next open can proceed.
 * With mmap storage the written pages stay in the page cache, exactly as after a killed process;
 * the store must run on a ManualClock so none of its timers fire afterwards.
 */

import type { MessageStore } from "../../src/store/message-store.ts";

export function killStore(store: MessageStore): void {
  store.commitLog.abandon();
  (store as unknown as { lock: { release(): void } }).lock.release();
}
