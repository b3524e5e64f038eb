/**
 * Transaction check-back (issue 12): the handler of "transaction.check" jobs. When a half
 * message's job falls due, the broker asks a live producer of its group how the local
 * transaction ended (CHECK_TRANSACTION_STATE, broker → client, the message with it), and applies
 * the answer: commit or rollback end it (transactions.ts); "unknown" schedules the next check.
 *
 *   sent over REST         nobody can be asked: it moves to the exhausted list at once
 *   no live producer       nothing is counted; it is looked at again after transactionTimeoutMs
 *                          (at most transactionNoProducerRetryMs)
 *   a producer's connection fails (closed, no answer in transactionCheckAnswerMs)
 *                          the next live producer of the group is asked; none left: as above
 *   a producer answered    counted (an error answer too: the producer received it); after
 *                          transactionCheckMax counted checks without an outcome the transaction
 *                          moves to the exhausted list, where an operator ends it by id
 *
 * Back-off: after the n-th counted check the next waits transactionTimeoutMs times the n-th of
 * transactionCheckBackoffFactors (the last repeats), at most transactionCheckIntervalMsMax.
 *
 * A transaction open before this run (`recovered`) may have its outcome written already (a kill
 * -9 between its steps): that is looked for first, and completed without asking anyone.
 *
 * Each step that changes the job is one journal write (transactions.ts: reschedule, exhaust);
 * the half message is never written again. While a check is waiting for its answer the job
 * stays open on disk ("held"): a restart checks it again.
 */

import { isMqError, MqError } from "../common/errors.ts";
import { transactionCheckAnswerMs, transactionCheckBackoffFactors, transactionCheckIntervalMsMax, transactionNoProducerRetryMs } from "../common/limits.ts";
import { physicalOffset as toPhysicalOffset } from "../common/offsets.ts";
import { restProducerGroup } from "../common/system-topics.ts";
import type { Channel } from "../net/channel.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import { checkTransactionAnswerSchema, type TransactionResolutionAnswer } from "../protocol/responses.ts";
import type { ScheduledJob } from "../store/scheduler.ts";
import type { BrokerContext } from "./broker-context.ts";
import { type TransactionJob, transactionCheckJobKind, transactionExhaustedJobKind } from "./transaction-job.ts";
import { type TransactionEntry, Transactions } from "./transactions.ts";

type Job = ScheduledJob<typeof transactionCheckJobKind, TransactionJob>;

/** What asking the group's producers came to: an answer from one that received it, or nobody reached. */
type CheckOutcome = { readonly received: true; readonly resolution: TransactionResolutionAnswer } | { readonly received: false; readonly reason: string };

const services = new WeakMap<BrokerContext, TransactionChecks>();

export class TransactionChecks {
  readonly counters = { sent: 0, received: 0, noProducer: 0, failedConnections: 0 };

  private constructor(private readonly context: BrokerContext, private readonly transactions: Transactions) {}

  /** Registers the handlers of both transaction job kinds (before the scheduler starts). */
  static start(context: BrokerContext, transactions: Transactions): TransactionChecks {
    const checks = new TransactionChecks(context, transactions);
    services.set(context, checks);
    context.scheduler.register(transactionCheckJobKind, (job) => checks.fire(job));
    // Due only to be renewed: it stays exhausted until an operator ends it.
    context.scheduler.register(transactionExhaustedJobKind, (job) => {
      const entry = transactions.entry(job.payload.halfOffset);
      if (entry === undefined || entry.kind !== transactionExhaustedJobKind || entry.dueMs !== job.dueMs) return "done";
      transactions.renewExhausted(entry);
      return "held";
    });
    return checks;
  }

  /** The broker's check-backs (for their counters). */
  static of(context: BrokerContext): TransactionChecks {
    const checks = services.get(context);
    if (checks === undefined) throw new MqError("INTERNAL", { reason: "the broker has no transaction check-backs: TransactionChecks.start runs at broker start" });
    return checks;
  }

  /** With nobody to ask: look again after the check timeout, at most transactionNoProducerRetryMs later. */
  private noProducerRetryMs(): number {
    return Math.min(transactionNoProducerRetryMs, this.context.config.transactionTimeoutMs);
  }

  /** The wait after the `checks`-th counted check-back. */
  backoffMs(checks: number): number {
    const factors = transactionCheckBackoffFactors;
    const factor = factors[Math.min(Math.max(checks, 1), factors.length) - 1]!;
    return Math.min(transactionCheckIntervalMsMax, this.context.config.transactionTimeoutMs * factor);
  }

  private fire(job: Job): "done" | "held" {
    const entry = this.transactions.entry(job.payload.halfOffset);
    // Ended (or rescheduled) since this job was written: nothing left to check.
    if (entry === undefined || entry.kind !== transactionCheckJobKind || entry.dueMs !== job.dueMs) return "done";
    if (entry.recovered && this.transactions.settleRecovered(entry) !== undefined) return "held";
    if (entry.job.producerGroup === restProducerGroup) {
      // Sent over REST: nobody to ask. Listed as exhausted for an operator (or the sender) to end by id.
      this.transactions.exhaust(entry, entry.job.checks);
      return "held";
    }
    const channels = this.context.consumers.producerChannels(entry.job.producerGroup);
    if (channels.length === 0) {
      this.counters.noProducer += 1;
      this.transactions.reschedule(entry, this.context.clock.nowMs() + this.noProducerRetryMs(), entry.job.checks);
      return "held";
    }
    entry.checking = true;
    void this.ask(entry, channels).then(
      (outcome) => this.apply(entry, outcome),
      (error: unknown) => this.apply(entry, { received: false, reason: String(error) }),
    );
    return "held";
  }

  /** Asks the producers in turn until one receives the check-back. */
  private async ask(entry: TransactionEntry, channels: readonly Channel[]): Promise<CheckOutcome> {
    const { job } = entry;
    const half = this.context.store.getByPhysicalOffset(toPhysicalOffset(job.halfOffset));
    if (half === undefined) return { received: false, reason: `its half message is not at CommitLog offset ${job.halfOffset}` };
    const fields = {
      producerGroup: job.producerGroup,
      topic: job.topic,
      msgId: job.msgId,
      transactionId: this.transactions.transactionId(job.halfOffset),
      checkTimes: job.checks,
      storeTimestampMs: job.storedMs,
      ...(half.tags === undefined ? {} : { tags: half.tags }),
      ...(half.keys.length === 0 ? {} : { keys: half.keys }),
      properties: userProperties(half.properties),
    };
    const body = half.body.slice();
    let reason = "no producer answered";
    for (const channel of channels) {
      if (channel.isClosed) continue;
      this.counters.sent += 1;
      try {
        const frame = await channel.request({ code: RequestCode.CHECK_TRANSACTION_STATE, fields, body, timeoutMs: transactionCheckAnswerMs });
        const answer = checkTransactionAnswerSchema.safeParse(frame.header);
        return { received: true, resolution: answer.success ? answer.data.resolution : "unknown" };
      } catch (error) {
        // An error answer means the producer received it (it cannot tell): counted, as unknown.
        if (isMqError(error) && error.errorName !== "CONNECTION_CLOSED" && error.errorName !== "REQUEST_TIMEOUT") return { received: true, resolution: "unknown" };
        this.counters.failedConnections += 1;
        reason = (error as Error).message;
      }
    }
    return { received: false, reason };
  }

  private apply(entry: TransactionEntry, outcome: CheckOutcome): void {
    entry.checking = false;
    if (outcome.received) this.counters.received += 1;
    // Ended meanwhile (by its producer, an operator, another answer): the answer is late, and ignored.
    if (this.transactions.entry(entry.job.halfOffset) !== entry || entry.kind !== transactionCheckJobKind) return;
    const { clock, logger } = this.context;
    try {
      if (!outcome.received) {
        this.counters.noProducer += 1;
        logger.debug(`Check-back of transaction "${this.transactions.transactionId(entry.job.halfOffset)}" reached no producer: ${outcome.reason}`);
        this.transactions.reschedule(entry, clock.nowMs() + this.noProducerRetryMs(), entry.job.checks);
        return;
      }
      const checks = entry.job.checks + 1;
      entry.job = { ...entry.job, checks };
      switch (outcome.resolution) {
        case "commit":
        case "rollback": {
          const finished = this.transactions.finish(entry, outcome.resolution, "check");
          if (finished instanceof Promise) finished.catch((error: unknown) => logger.error(`Cannot end transaction after its check-back: ${String(error)}`));
          return;
        }
        case "unknown":
          if (checks >= this.context.config.transactionCheckMax) this.transactions.exhaust(entry, checks);
          else this.transactions.reschedule(entry, clock.nowMs() + this.backoffMs(checks), checks);
          return;
      }
    } catch (error) {
      // The entry stays unresolved with its job open: a restart, or the producer, ends it.
      logger.error(`Cannot record the check-back of transaction "${this.transactions.transactionId(entry.job.halfOffset)}": ${String(error)}`);
    }
  }
}

/** The properties a check listener sees: the user's, without the half's own markers. */
function userProperties(properties: Readonly<Record<string, string>>): Record<string, string> {
  const { REAL_TOPIC: _topic, REAL_QID: _queue, TAGS: _tags, KEYS: _keys, ...rest } = properties;
  return rest;
}
