/**
 * One scheduler for everything that must happen later and survive a restart (DESIGN.md §14):
 * pop redelivery and scheduled messages (delay levels, delivery times, and the retry copies
 * sent back with a back-off); transaction check-back registers its own kind next. Time comes
 * from the injected Clock, so tests advance it by hand.
 *
 * Model. A job is (kind, id, dueMs, payload); (id, dueMs) is its key. `schedule` makes a job
 * open (an ADD record in the journal, schedule-journal.ts), `complete` closes it (a DONE record),
 * `reschedule` closes one key and opens another in one write. When a job falls due the scheduler
 * calls its kind's handler, which answers:
 *   - "done": the scheduler records DONE after the handler returned;
 *   - "held": the handler took the job over (pop: the message is visible again); the job stays
 *     open on disk until its owner completes or reschedules it.
 * A handler that throws is called again after `scheduledJobRetryDelayMs`.
 *
 * Exactly once, and what it asks of handlers. Within one run a job is handed to its handler once
 * (until it is rescheduled). Across a crash: every job whose DONE was not written runs again
 * after the restart — so every job runs — and a job whose DONE was written never runs again.
 * The one window left, a crash after a handler's effect and before its DONE (the DONEs of one
 * firing turn go out in one write at its end), is closed by the handler: effects are idempotent by job key (pop's effect is in memory and rebuilt from the
 * journal; scheduled delivery checks for a stored copy carrying its source offset). The tests show both.
 *
 * Bounded memory. At most `inMemoryMax` jobs (scheduledJobsInMemoryMax) are in memory: every
 * open job ordered before the horizon — a (dueMs, journal position), so a million jobs sharing
 * one dueMs can still be split — is in memory or held by its owner; the rest are on disk, filed
 * by due time in the wheel (schedule-wheel.ts). When memory runs low the next earliest are
 * selected from the wheel's next slices (never the whole journal; at most about twice the
 * window at once) and read from the journal; adding an earlier job to a full memory evicts the
 * latest (they stay on disk) and lowers the horizon (all of which is schedule-window.ts). Jobs
 * closed that the wheel still names are told apart by schedule-closed-ahead.ts. Opening and
 * compaction fold the journal's record keys into typed arrays (schedule-open-jobs.ts; about 50
 * bytes per open job, while they run), bounded by `jobsMax` (scheduledJobsMax), the cap on open
 * jobs. What listings, metrics and retention read is counted as jobs open and close
 * (schedule-tally.ts: counts per kind, group and slice of due time, lowest floors), not read
 * from the jobs.
 *
 * Fairness. One turn fires at most `scheduledJobsPerTurnMax` jobs, then yields to the event
 * loop (the next turn is a 0 ms timer): a hot second of a million jobs is drained in turns
 * between which requests are served and newly due, earlier jobs take their place in order.
 *
 * Checkpoint. The journal is the checkpoint; it is fdatasync'ed every `scheduleSyncIntervalMs`
 * and compacted (rewritten with the open jobs only) when it holds many more records than jobs.
 */

import { join } from "node:path";
import type { TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { checkHeapNow } from "../common/heap-valve.ts";
import * as limits from "../common/limits.ts";
import { encodeAdd, encodeDone, ScheduleJournal } from "./schedule-journal.ts";
import { jobOfRecord as jobOf } from "./schedule-journal-records.ts";
import { compactJournal, scanOpenJobs } from "./schedule-compaction.ts";
import { OpenJobs } from "./schedule-open-jobs.ts";
import type { MemoryJob } from "./schedule-memory.ts";
import type { JobKey } from "./schedule-keys.ts";
import { countOpenJobs, findOpenJob, type OpenJobPage, type OpenJobRange, pageOpenJobs, type QuerySource } from "./schedule-query.ts";
import { ScheduleTally } from "./schedule-tally.ts";
import { ScheduleWheel, type WheelKey } from "./schedule-wheel.ts";
import { ScheduleWindow } from "./schedule-window.ts";

export type { JobKey } from "./schedule-keys.ts";
export type { AnyJob, FireListener, JobHandler, JobKindMap, JobOutcome, KindedJobKey, OpenJobsAnswer, ScheduledJob, SchedulerOptions } from "./scheduled-job.ts";
import type { AnyJob, FireListener, JobHandler, JobKindMap, JobOutcome, KindedJobKey, OpenJobsAnswer, ScheduledJob, SchedulerOptions } from "./scheduled-job.ts";

export class Scheduler<M extends JobKindMap> {
  readonly counters = { scheduled: 0, completed: 0, fired: 0, held: 0, failed: 0, loaded: 0, evicted: 0, compactions: 0 };
  private readonly journal: ScheduleJournal;
  private readonly wheel: ScheduleWheel;
  private readonly handlers = new Map<string, (job: ScheduledJob) => JobOutcome>();
  /** Which open jobs are in memory, and the horizon past which they are on disk only (schedule-window.ts). */
  private readonly window: ScheduleWindow;
  private readonly jobsMax: number;
  private readonly compactRecordsMin: number;
  private readonly jobsPerTurnMax: number;
  private readonly unhandledKinds = new Set<string>();
  private readonly fireListeners: FireListener[] = [];
  /** Every open job, from the opening scan and kept up to date until start(): owners rebuilding their state read it instead of the journal. */
  private openAtOpen: OpenJobs | undefined;
  /** The open jobs counted (in all, per kind, group and slice), the fired ones per kind, the floors (schedule-tally.ts). */
  private readonly tally = new ScheduleTally();
  /** Set when closedAhead outgrows the window: the next compaction check compacts. */
  private compactWanted = false;
  private timer: TimerHandle | undefined;
  private timerDueMs = Infinity;
  private readonly intervals: TimerHandle[] = [];
  private running = false;
  private firing = false;
  private closed = false;

  private constructor(private readonly options: SchedulerOptions, initial: OpenJobs, journal: ScheduleJournal) {
    this.journal = journal;
    this.jobsMax = options.jobsMax ?? limits.scheduledJobsMax;
    this.compactRecordsMin = options.compactRecordsMin ?? limits.scheduleCompactRecordsMin;
    this.jobsPerTurnMax = options.jobsPerTurnMax ?? limits.scheduledJobsPerTurnMax;
    this.wheel = new ScheduleWheel(join(options.dir, "wheel"));
    this.wheel.rebuildWith((take) => initial.forEach((job) => take(job.dueMs, job.position)));
    this.tally.recount(initial);
    this.window = new ScheduleWindow(options.inMemoryMax ?? limits.scheduledJobsInMemoryMax, this.wheel, journal, options.clock, this.counters);
    this.window.load();
    this.openAtOpen = initial;
  }

  /** Opens the journal in `options.dir` (creating it), and loads the earliest open jobs. */
  static open<M extends JobKindMap>(options: SchedulerOptions): Scheduler<M> {
    const open = new OpenJobs();
    const journal = ScheduleJournal.open(join(options.dir, "journal"), options.logger, (key) => open.apply(key));
    const scheduler = new Scheduler<M>(options, open, journal);
    options.logger.info(`Scheduler: ${open.count} open jobs in the journal (${journal.bytes} bytes), ${scheduler.memory.size} in memory`);
    return scheduler;
  }

  private get memory() {
    return this.window.memory;
  }

  /** Jobs in memory now (at most inMemoryMax, plus ties at the horizon). */
  get inMemory(): number {
    return this.memory.size;
  }

  /** Open jobs: in memory, held by their owners, or waiting on disk. */
  get open(): number {
    return this.tally.open;
  }

  /** Jobs that can still be scheduled before the cap (SCHEDULE_FULL). */
  get room(): number {
    return Math.max(0, this.jobsMax - this.tally.open);
  }

  get journalBytes(): number {
    return this.journal.bytes;
  }

  /** Jobs closed ahead of the horizon and remembered until it passes them (bounded by the window). */
  get closedAheadCount(): number {
    return this.window.closedAhead.size;
  }

  /** Refs filed in the wheel (open jobs, and closed ones until the next rebuild). */
  get wheelRefs(): number {
    return this.wheel.refs;
  }

  /** Open jobs of `kind` (exact when every completion names its kind; compaction recounts). */
  openOfKind(kind: keyof M & string): number {
    return this.tally.openOfKind(kind);
  }

  /** Jobs of `kind` handed to their handler since this scheduler opened. */
  firedOfKind(kind: keyof M & string): number {
    return this.tally.firedOfKind(kind);
  }

  /** Calls `listener` after each job a handler took (done or held), with how late it fired; returns the unsubscribe. */
  onFire(listener: FireListener): () => void {
    this.fireListeners.push(listener);
    return () => {
      const index = this.fireListeners.indexOf(listener);
      if (index >= 0) this.fireListeners.splice(index, 1);
    };
  }

  /**
   * The open jobs of a kind (and group) due in [fromMs, toMs), counted per bucket, and one page of
   * them in (dueMs, id) order: counts from the slice summaries, the page walked from the wheel
   * (schedule-query.ts), so the cost is the page's, not the journal's.
   */
  openBetween<K extends keyof M & string>(range: OpenJobRange & { kind: K }, page: OpenJobPage): OpenJobsAnswer<ScheduledJob<K, M[K]>> {
    this.checkOpen();
    const source = this.querySource();
    const buckets = countOpenJobs(source, range, page.bucketMs);
    const jobs = pageOpenJobs(source, range, page, (record) => jobOf(record) as ScheduledJob<K, M[K]>);
    return { total: buckets.reduce((sum, bucket) => sum + bucket.count, 0), buckets, jobs };
  }

  /** What a query reads, and which jobs the wheel names are open: below the horizon, those in memory; at or after it, those no DONE closed. */
  private querySource(): QuerySource {
    const closedAhead = this.window.closedAhead;
    return { wheel: this.wheel, journal: this.journal, counts: this.tally.counts, openRef: this.window.openRefTest(), openAt: (key, position) => !closedAhead.closes(key, position) };
  }

  /** The open job of `kind` with `id`, from memory when it is there, else from the journal. */
  findOpen<K extends keyof M & string>(kind: K, id: string): ScheduledJob<K, M[K]> | undefined {
    this.checkOpen();
    for (const entry of this.memory.values()) {
      if (entry.job.kind === kind && entry.job.id === id) return entry.job as ScheduledJob<K, M[K]>;
    }
    const ref = findOpenJob(this.journal, kind, id);
    return ref === undefined ? undefined : (this.jobAt(ref) as ScheduledJob<K, M[K]>);
  }

  /**
   * Closes the open job of `kind` with `id` before it fires, durably (a DONE written before this
   * returns). Answers the job closed, or undefined when none was open. Synchronous, like firing,
   * so a job is either fired or cancelled, never both.
   */
  cancel<K extends keyof M & string>(kind: K, id: string): ScheduledJob<K, M[K]> | undefined {
    const job = this.findOpen(kind, id);
    if (job !== undefined) this.complete(job);
    return job;
  }

  /**
   * The lowest floor of the open jobs that have one (undefined: none), from the slice summaries:
   * no job is read, only the in-memory window, for the earliest open job. Jobs handed to their
   * handler and held count no more (scheduled delivery's are stored by then), nor do jobs of a
   * kind without a handler, which leave memory unfired.
   */
  lowestFloor(): number | undefined {
    return this.tally.floors.lowest(Math.min(this.window.horizon.dueMs, this.memory.earliestDueMs()));
  }

  /** Registers the handler of a kind; jobs of a kind with no handler stay open and wait for one. */
  register<K extends keyof M & string>(kind: K, handler: JobHandler<K, M[K]>): void {
    if (this.handlers.has(kind)) throw new MqError("INTERNAL", { reason: `job kind "${kind}" is registered twice` });
    this.handlers.set(kind, handler as unknown as (job: ScheduledJob) => JobOutcome);
    this.unhandledKinds.delete(kind);
  }

  /** Starts firing due jobs (at once for jobs already due), syncing and compacting. */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.openAtOpen = undefined;
    const { clock } = this.options;
    this.intervals.push(clock.setInterval(() => void this.sync().catch((error: Error) => this.options.logger.error(`Scheduler: ${error.message}`)), limits.scheduleSyncIntervalMs));
    this.intervals.push(clock.setInterval(() => this.compactIfWorthIt(), limits.scheduleCompactIntervalMs));
    this.arm();
  }

  /** Makes a job open: durable when this returns (to a kill -9), due at `job.dueMs`. */
  schedule(job: AnyJob<M>): void {
    this.openJob(job, false);
  }

  /**
   * Makes a job open, due at `job.dueMs`, durable at the latest by the next `sync` (its ADD goes
   * out with the next write, or once the event loop's current turn is done): for owners that
   * derive a job lost to a kill -9 again, as scheduled delivery does from the CommitLog, whose
   * checkpoint waits for `sync`. A million sends served in few turns cost few writes.
   */
  scheduleSoon(job: AnyJob<M>): void {
    this.openJob(job, true);
  }

  private openJob(job: AnyJob<M>, soon: boolean): void {
    this.checkOpen();
    if (this.tally.open >= this.jobsMax) throw new MqError("SCHEDULE_FULL", { id: job.id, jobs: this.tally.open, limit: this.jobsMax });
    const add = encodeAdd(job.kind, job.id, job.dueMs, JSON.stringify(job.payload), job);
    const position = soon ? this.journal.appendSoon(add, 1) : this.journal.append(add, 1);
    this.opened(job, { dueMs: job.dueMs, position, length: add.length });
  }

  /** Closes an open job (acked, cancelled); a key that is not open changes nothing but the journal. */
  complete(key: KindedJobKey): void {
    this.checkOpen();
    const donePosition = this.journal.append(encodeDone(key.id, key.dueMs), 1);
    this.closedKey(key, donePosition);
    if (this.memory.size === 0 && this.window.horizon.dueMs !== Infinity) this.arm();
  }

  /** Closes `previous` and opens `job` with one write: after a crash exactly one of them is open. */
  reschedule(previous: KindedJobKey, job: AnyJob<M>): void {
    this.checkOpen();
    const done = encodeDone(previous.id, previous.dueMs);
    const add = encodeAdd(job.kind, job.id, job.dueMs, JSON.stringify(job.payload), job);
    const both = new Uint8Array(done.length + add.length);
    both.set(done, 0);
    both.set(add, done.length);
    const position = this.journal.append(both, 2);
    this.closedKey({ kind: job.kind, ...previous }, position);
    this.opened(job, { dueMs: job.dueMs, position: position + done.length, length: add.length });
  }

  /**
   * Runs `body` with every journal record it causes written in one write when it ends (or
   * throws): a receive handing out many messages costs one syscall, and all are durable before
   * the caller answers.
   */
  batch<T>(body: () => T): T {
    this.journal.beginBatch();
    try {
      return body();
    } finally {
      this.journal.endBatch();
    }
  }

  /** Runs every job due by now; callers that must see expiries at once (a receive) call this first. */
  runDue(): void {
    if (!this.running || this.firing) return;
    this.firing = true;
    try {
      const nowMs = this.options.clock.nowMs();
      // At most one turn's worth: the rest follow on a 0 ms timer (arm), after other work. The
      // turn's DONEs go out in one write when it ends, each still after its handler returned.
      this.batch(() => {
        for (let fired = 0; fired < this.jobsPerTurnMax; fired++) {
          const entry = this.memory.takeDue(nowMs);
          if (entry === undefined) break;
          this.fire(entry, nowMs);
        }
      });
      this.window.refillIfLow();
    } finally {
      this.firing = false;
    }
    // A turn of due jobs makes megabytes of garbage (a delivered copy each): the heap is checked after each.
    checkHeapNow();
    this.arm();
  }

  /**
   * Every open job of `kind` (from the journal), for an owner rebuilding its state at start.
   * Before start() it comes from the opening scan (no second pass over the journal).
   */
  openOf<K extends keyof M & string>(kind: K): ScheduledJob<K, M[K]>[] {
    const jobs: ScheduledJob<K, M[K]>[] = [];
    for (const ref of this.openRefsOf(kind)) jobs.push(this.jobAt(ref) as ScheduledJob<K, M[K]>);
    return jobs.sort((a, b) => a.dueMs - b.dueMs);
  }

  /**
   * Whether the job of `kind` with `key` is open, before start() only (from the opening scan):
   * an owner attaching at start asks per record instead of copying a million keys.
   */
  openBeforeStart(kind: keyof M & string, key: JobKey): boolean {
    if (this.openAtOpen === undefined) throw new MqError("INTERNAL", { reason: "the scheduler answers openBeforeStart only before it starts" });
    return this.openAtOpen.has(kind, key);
  }

  private openRefsOf(kind: string): Array<{ readonly position: number; readonly length: number }> {
    const refs: Array<{ readonly position: number; readonly length: number }> = [];
    (this.openAtOpen ?? scanOpenJobs(this.journal)).forEach((job) => refs.push({ position: job.position, length: job.length }), kind);
    return refs;
  }

  /** Makes every journal record written so far durable (fdatasync, off the event loop); the store awaits it before a checkpoint. */
  sync(): Promise<void> {
    return this.closed ? Promise.resolve() : this.journal.syncInBackground();
  }

  /** Rewrites the journal with the open jobs only, and the wheel with them (schedule-compaction.ts). */
  compact(): void {
    this.checkOpen();
    const { open, horizon } = compactJournal(this.journal, this.wheel, this.memory.values(), this.window.horizon);
    this.window.compacted(horizon);
    if (this.openAtOpen !== undefined) this.openAtOpen = scanOpenJobs(this.journal);
    this.tally.recount(open);
    this.counters.compactions += 1;
  }

  /** Stops the timers and closes the journal (synced). Jobs stay open for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.timer?.cancel();
    for (const interval of this.intervals.splice(0)) interval.cancel();
    // The wheel is not flushed: it is rebuilt from the journal at the next open.
    this.journal.close();
  }

  private fire(entry: MemoryJob, nowMs: number): void {
    const job = entry.job;
    const handler = this.handlers.get(job.kind);
    this.memory.forget(job);
    if (handler === undefined) {
      // Kept open on disk: a later start with a handler for the kind runs it.
      if (!this.unhandledKinds.has(job.kind)) this.options.logger.warn(`Scheduler: no handler for job kind "${job.kind}"; its jobs wait until one is registered`);
      this.unhandledKinds.add(job.kind);
      return;
    }
    let outcome: JobOutcome;
    try {
      outcome = handler(job);
    } catch (error) {
      this.counters.failed += 1;
      this.options.logger.error(`Scheduler: job "${job.id}" (${job.kind}) failed: ${(error as Error).message}; retrying in ${limits.scheduledJobRetryDelayMs} ms`);
      this.memory.remember(job, nowMs + limits.scheduledJobRetryDelayMs, entry.position);
      return;
    }
    this.counters.fired += 1;
    this.tally.fired(job.kind);
    if (outcome === "done") this.complete(job);
    else this.counters.held += 1;
    const lateMs = Math.max(0, nowMs - job.dueMs);
    for (const listener of this.fireListeners) listener(job, lateMs);
  }

  private opened(job: ScheduledJob, ref: WheelKey & { readonly length: number }): void {
    this.counters.scheduled += 1;
    this.tally.opened(job, this.memory.get(job) === undefined);
    this.wheel.add(ref);
    this.openAtOpen?.opened({ kind: job.kind, id: job.id, dueMs: job.dueMs, position: ref.position, length: ref.length, ...(job.floor === undefined ? {} : { floor: job.floor }), ...(job.group === undefined ? {} : { group: job.group }) });
    this.window.opened(job, ref);
    if (job.dueMs < this.timerDueMs) this.arm();
  }

  private closedKey(key: KindedJobKey, donePosition: number): void {
    this.counters.completed += 1;
    const entry = this.window.closed(key, donePosition);
    this.tally.closed(entry?.job.kind ?? key.kind, entry?.job.group ?? key.group, key.dueMs);
    if (this.window.closedAhead.overfull) this.compactWanted = true;
    this.openAtOpen?.closed(key);
  }

  private arm(): void {
    if (!this.running) return;
    let dueMs = this.memory.nextFireMs();
    if (dueMs === Infinity && this.window.horizon.dueMs !== Infinity) {
      // Memory emptied by completions, not by firing: bring the next jobs in from disk.
      this.window.refillIfLow();
      dueMs = this.memory.nextFireMs();
    }
    if (dueMs === this.timerDueMs && this.timer !== undefined) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerDueMs = dueMs;
    if (dueMs === Infinity) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = Infinity;
      this.runDue();
    }, Math.max(0, dueMs - this.options.clock.nowMs()));
  }

  private compactIfWorthIt(): void {
    if (!this.compactWanted && this.journal.records < this.compactRecordsMin + 2 * this.tally.open) return;
    // Not while jobs are due (a hot second draining): compaction holds the thread for a pass
    // over the journal, which the drain would wait for; it runs once the drain is done.
    const nowMs = this.options.clock.nowMs();
    if (this.memory.nextFireMs() <= nowMs || this.window.horizon.dueMs <= nowMs) return;
    this.compactWanted = false;
    this.compact();
  }

  private jobAt(ref: { readonly position: number; readonly length: number }): ScheduledJob {
    return jobOf(this.journal.readRecord(ref.position, ref.length));
  }

  private checkOpen(): void {
    if (this.closed) throw new MqError("STORE_CLOSED", { state: "closed (scheduler)" });
  }
}
