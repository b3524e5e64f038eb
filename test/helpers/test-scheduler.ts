/**
 * Schedulers for store tests: opened on a directory and a ManualClock with a silent logger, and
 * closed after each test (cleanup-hooks.ts), including those a test drops unclosed to play a crash.
 */

import type { ManualClock } from "../../src/common/clock.ts";
import { silentLogger } from "../../src/common/logger.ts";
import { type JobKindMap, Scheduler, type SchedulerOptions } from "../../src/store/scheduler.ts";
import { afterEachTest } from "./cleanup-hooks.ts";

type Tuning = Omit<SchedulerOptions, "dir" | "clock" | "logger">;

const open: Array<{ close(): void }> = [];

afterEachTest(() => {
  for (const scheduler of open.splice(0)) scheduler.close();
});

/** An `openScheduler(dir, clock, tuning)` for a test file's job kinds. */
export function schedulerOpener<K extends JobKindMap>(): (dir: string, clock: ManualClock, tuning?: Tuning) => Scheduler<K> {
  return (dir, clock, tuning = {}) => {
    const scheduler = Scheduler.open<K>({ dir, clock, logger: silentLogger, ...tuning });
    open.push(scheduler);
    return scheduler;
  };
}
