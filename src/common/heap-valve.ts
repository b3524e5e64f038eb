/**
 * A bound on the garbage the JavaScript heap may hold. JavaScriptCore collects by its own
 * heuristics, and a broker allocating fast lets garbage pile up far past what is live: draining a
 * million scheduled messages due in one second was measured at 3.3 GB of anonymous memory at its
 * peak, 47 MB after one full collection. So, while a broker runs, the heap's size is read every
 * `heapValveCheckIntervalMs`; once it has grown by `heapGrowthBeforeCollectBytes` since the last
 * collection (or the lowest size seen since), the valve collects at once: a full, synchronous
 * collection, tens of ms when little is live, paid only when that much garbage was made — and, for
 * the timed checks, at most `heapValveTimeShareMax` of the time: a broker under steady load
 * regrows its heap past the bound between two checks, and collecting at every check cost it
 * 10–15 % of its CPU. Work that asks for a check (checkHeapNow) is not paced.
 *
 * The heap is the process's: one valve serves every broker in it (acquired per broker, the last
 * release stops it). It runs on real time, not the injected Clock — memory is not simulated.
 */

import { heapGrowthBeforeCollectBytes, heapValveCheckIntervalMs, heapValveTimeShareMax } from "./limits.ts";

let holders = 0;
let timer: ReturnType<typeof setInterval> | undefined;
let heapAfterCollectBytes = 0;
/** performance.now() before which the valve does not collect again (its pace: heapValveTimeShareMax). */
let nextCollectAllowedMs = 0;
/** Collections the valve made, for tests and diagnostics. */
export const heapValveCounters = { checks: 0, collections: 0, collectMs: 0 };

/** The heap and the memory outside it that its objects hold (typed arrays' bytes, mapped files among them). */
function heapBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapTotal + usage.external;
}

/**
 * Collects when the heap (`bytes`, read now unless given) grew by more than the bound since the
 * last collection, unless `paced` and the last collection was too recent for the valve's pace
 * (`nowMs`, performance.now() unless given).
 */
export function checkHeap(bytes = heapBytes(), nowMs = performance.now(), paced = true): void {
  heapValveCounters.checks += 1;
  // The runtime collects on its own too: growth counts from the lowest size seen since.
  if (bytes < heapAfterCollectBytes) heapAfterCollectBytes = bytes;
  if (bytes - heapAfterCollectBytes <= heapGrowthBeforeCollectBytes) return;
  if (paced && nowMs < nextCollectAllowedMs) return;
  const startedMs = performance.now();
  Bun.gc(true);
  const tookMs = performance.now() - startedMs;
  heapValveCounters.collections += 1;
  heapValveCounters.collectMs += tookMs;
  nextCollectAllowedMs = nowMs + tookMs / heapValveTimeShareMax;
  heapAfterCollectBytes = heapBytes();
}

/**
 * A check now, if the valve runs: for work that makes garbage in long turns (a hot second's drain
 * turns out over 100 MB/s), whose heap would otherwise outgrow the bound by as much again between
 * two timed checks. Not paced: such work asks because it knows its garbage is piling up.
 */
export function checkHeapNow(): void {
  if (timer !== undefined) checkHeap(heapBytes(), performance.now(), false);
}

/** Starts the valve (if it is not running); returns the release, which stops it after the last holder. */
export function acquireHeapValve(): () => void {
  holders += 1;
  if (timer === undefined) {
    heapAfterCollectBytes = heapBytes();
    nextCollectAllowedMs = 0;
    timer = setInterval(checkHeap, heapValveCheckIntervalMs);
    timer.unref();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
    if (holders > 0 || timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
  };
}
