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
 * The timed checks ask first for a concurrent collection (`Bun.gc(false)`: the collector marks
 * beside the running code, the event loop does not wait; ~0.3 ms of it per request). A full
 * synchronous collection stops the loop for 20–35 ms even when little is live, and at 20,000
 * sends/s the broker crossed the bound 7–9 times per 100,000 messages: 150–310 ms of pauses
 * per run, more than 1 % of the messages, so the end-to-end p99 could not be below a pause's
 * length. Only when the heap keeps growing past `heapGrowthBeforeSyncCollectBytes` (the
 * concurrent collection did not keep up) do the timed checks collect synchronously (paced).
 *
 * The heap is the process's: one valve serves every broker in it (acquired per broker, the last
 * release stops it). It runs on real time, not the injected Clock — memory is not simulated.
 */

import { heapGrowthBeforeCollectBytes, heapGrowthBeforeSyncCollectBytes, heapValveCheckIntervalMs, heapValveTimeShareMax } from "./limits.ts";

let holders = 0;
let timer: ReturnType<typeof setInterval> | undefined;
let heapAfterCollectBytes = 0;
/** performance.now() before which the valve does not collect again (its pace: heapValveTimeShareMax). */
let nextCollectAllowedMs = 0;
/** A concurrent collection was asked for since the heap last stood within the bound. */
let concurrentAsked = false;
/**
 * What the valve did, for tests and diagnostics: `collections` (and `collectMs`, the time the
 * event loop waited) count the synchronous ones; `concurrentCollections` those only asked for.
 */
export const heapValveCounters = { checks: 0, collections: 0, collectMs: 0, concurrentCollections: 0 };

/** The heap and the memory outside it that its objects hold (typed arrays' bytes, mapped files among them). */
function heapBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapTotal + usage.external;
}

/**
 * When the heap (`bytes`, read now unless given) grew by more than the bound since the last
 * collection: a timed check (`paced`) asks for a concurrent collection, once until the heap is
 * back within the bound, and collects synchronously only past the second bound and when the
 * valve's pace allows (`nowMs`, performance.now() unless given); a check asked for by work in
 * progress (not `paced`) collects synchronously at once.
 */
export function checkHeap(bytes = heapBytes(), nowMs = performance.now(), paced = true): void {
  heapValveCounters.checks += 1;
  // The runtime collects on its own too (and a concurrent collection finishes later): growth
  // counts from the lowest size seen since.
  if (bytes < heapAfterCollectBytes) heapAfterCollectBytes = bytes;
  const grownBytes = bytes - heapAfterCollectBytes;
  if (grownBytes <= heapGrowthBeforeCollectBytes) {
    concurrentAsked = false;
    return;
  }
  if (paced && grownBytes <= heapGrowthBeforeSyncCollectBytes) {
    if (concurrentAsked) return;
    concurrentAsked = true;
    heapValveCounters.concurrentCollections += 1;
    Bun.gc(false);
    return;
  }
  if (paced && nowMs < nextCollectAllowedMs) return;
  const startedMs = performance.now();
  Bun.gc(true);
  const tookMs = performance.now() - startedMs;
  heapValveCounters.collections += 1;
  heapValveCounters.collectMs += tookMs;
  nextCollectAllowedMs = nowMs + tookMs / heapValveTimeShareMax;
  heapAfterCollectBytes = heapBytes();
  concurrentAsked = false;
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
    concurrentAsked = false;
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
