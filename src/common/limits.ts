/**
 * Every limit of mq in one place, each a named constant with its unit last. Relations between
 * them are asserted when this module loads, so an edit that breaks one fails at start-up.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** The OS page size assumed for msync alignment; Linux x86-64 and arm64 (4 KiB pages). */
export const pageBytes = 4 * KiB;

// Messages
export const messageBodyBytesMax = 4 * MiB;
export const messagePropertiesBytesMax = 32 * KiB;
export const topicNameLengthMax = 127;
export const topicNamePattern = /^[%|a-zA-Z0-9_-]{1,127}$/;
export const tagLengthMax = 255;
export const batchBytesMax = 4 * MiB;
export const batchMessagesMax = 10_000;
/**
 * A producer's automatic batch (sends to one queue in one event-loop turn, send-accumulator.ts):
 * at most this many messages and body bytes, well inside one SEND_BATCH, so one batch's answer
 * stays quick and its per-entry headers never push it past batchBytesMax.
 */
export const producerBatchMessagesMax = 1_024;
export const producerBatchBytesMax = 1 * MiB;
export const queuesPerTopicMax = 1024;

// Topics
/** Topics one broker holds at once unless configured (`topicsMax`): each costs queues, files and route size. */
export const topicsPerBrokerMaxDefault = 10_000;
export const topicsPerBrokerMaxLimit = 1_000_000;
/** Deleted topic names a broker remembers (so a restart never brings them back); the oldest is forgotten past this. */
export const deletedTopicNamesMax = 10_000;

// CommitLog
export const commitLogFileBytesDefault = 1 * GiB;
/**
 * The CommitLog file size of the all-in-one sandbox (`mq start` with role all and no size
 * configured): a fresh sandbox allocates this twice (the file in use and the next one, pre-warmed)
 * instead of 2 GiB. A production broker (an explicit role) keeps RocketMQ's 1 GiB.
 */
export const sandboxCommitLogFileBytes = 64 * MiB;
/** A CommitLog file must hold at least one largest message plus its end-of-file marker. */
export const commitLogFileBytesMin = 64 * KiB;
export const commitLogFileBytesMax = 4 * GiB - pageBytes; // one ArrayBuffer view spans < 4 GiB
/**
 * The most the CommitLog keeps faulted in ahead of its write position (warming costs ~0.5 s per
 * GiB); the window starts at 8 MiB and grows to this only for a writer that keeps up.
 */
export const commitLogWarmAheadBytesDefault = 256 * MiB;

// Consume queue
export const consumeQueueEntryBytes = 20;
export const consumeQueueEntriesPerFileDefault = 300_000;
export const consumeQueueEntriesPerFileMin = 8;
/** The sandbox's consume-queue files: 600 KiB each (a production broker's are 6 MiB, allocated whole). */
export const sandboxConsumeQueueEntriesPerFile = 30_000;

// Index
export const indexSlotsPerFileDefault = 1_000_000;
export const indexEntriesPerFileDefault = 4_000_000;
/** The sandbox's index files: about 8 MiB each instead of 84 MiB, allocated whole when created. */
export const sandboxIndexSlotsPerFile = 100_000;
export const sandboxIndexEntriesPerFile = 400_000;
export const indexQueryResultsMax = 64 * KiB;

// Flush and recovery
export const flushIntervalMsDefault = 500;
export const checkpointBytes = 4 * KiB;
export const recoveryProgressIntervalMs = 1_000;
/** Recovery verifies this much CommitLog per event-loop turn, so /health answers meanwhile. */
export const recoveryStepBytes = 8 * MiB;
/** A consume-queue repair scans this much CommitLog per event-loop turn. */
export const queueRepairStepBytes = 64 * MiB;
/** A flush request not answered by its thread within this long fails with FLUSH_TIMEOUT. */
export const flushRequestTimeoutMs = 60_000;
/** A flush waiting this long makes the broker report itself not ready (before it times out). */
export const flushStallReportMs = 5_000;

// Retention
export const fileReservedTimeHoursDefault = 72;
export const deleteWhenHourDefault = 4;
export const diskMaxUsedSpaceRatioDefault = 0.75;
export const diskFullRatioDefault = 0.9;
export const retentionCheckIntervalMsDefault = 10_000;
export const filesDeletedPerRetentionRunMax = 10;
/** Appends re-read the free space after this many bytes written (a statfs, ~2 µs). */
export const diskCheckIntervalBytes = 1 * MiB;
/** While appends are refused for a full disk, free space is re-read at most this often. */
export const diskFullRecheckIntervalMs = 200;

// Reads
export const pullMessagesMax = 1024;
export const pullBytesMax = 16 * MiB;
/** Compiled tag expressions kept for reuse (pulls repeat the same few); the oldest is dropped past this. */
export const tagExpressionCacheEntriesMax = 1_024;
/**
 * Compiled SQL92 filters kept for reuse, keyed by consumer group and expression (each pull and
 * pop of a subscription finds its evaluator here); the oldest is dropped past this.
 */
export const sqlFilterCacheEntriesMax = 1_024;
/** NOTs and parentheses a SQL92 filter may nest: parsing recurses once per level. */
export const filterSqlDepthMax = 64;
/**
 * Consume-queue entries one filtered pull or pop examines at most (SQL92 reads each entry's
 * properties from the CommitLog): a filter that matches nothing answers within this bound with
 * the offset to continue from, instead of holding the event loop over a long backlog.
 */
export const filterScanEntriesPerRequestMax = 32_768;

// Command line
/** The longest `mq consume --timeout`: a day, far past any wait a script means. */
export const consumeIdleTimeoutMsMax = 86_400_000;

// Consumer groups
/**
 * Groups with committed offsets. A group with live members (it heartbeats) may always commit;
 * an offset commit from any other unknown group creates it only below this, then GROUP_LIMIT_REACHED.
 */
export const consumerGroupsMax = 10_000;

// Retry and dead letters (broker/send-back-service.ts)
/** A consumer's error text carried by a send-back and kept on a DLQ entry (UTF-8). */
export const consumeErrorTextBytesMax = 1 * KiB;
/** Reconsumes a group allows when its config does not say (RocketMQ's default). */
export const maxReconsumeTimesDefault = 16;
/** The first delay level of the `levels` back-off: the first retry waits level 3 (10 s by default). */
export const retryFirstDelayLevel = 3;
/** Send-backs remembered (oldest forgotten first) so that a consumer repeating one stores it once. */
export const sendBacksRememberedMax = 65_536;
/** Group configs one broker stores (a config is created on first use, within consumerGroupsMax). */
export const groupConfigsMax = consumerGroupsMax;

// Pop consumption (broker/pop-service.ts)
/** Un-acked messages one (group, topic) may hold; past it a receive gets re-deliveries only. */
export const popInFlightMax = 65_536;
/** Receives held at once; more are answered at once (empty), so waiting cannot grow memory unbounded. */
export const popWaitersMax = 10_000;
/** How often idle (group, topic) pop state (nothing in flight, no receive held) is dropped. */
export const popStateSweepIntervalMs = 60_000;

// Scheduler (store/scheduler.ts)
/**
 * Scheduled jobs kept in memory: the earliest due; the rest wait on disk, filed in the wheel. Small
 * on purpose: a refill from the wheel reads only what it loads, so a small window costs little
 * time, and it keeps the live heap (and so each full collection's pause) small.
 */
export const scheduledJobsInMemoryMax = 4_096;
/** Open scheduled jobs of every kind at once; past it a new job is refused with SCHEDULE_FULL. */
export const scheduledJobsMax = 4_000_000;
/** A job's id (UTF-8) and kind name. */
export const scheduledJobIdBytesMax = 1 * KiB;
/** A job's payload (JSON, UTF-8). */
export const scheduledJobPayloadBytesMax = 16 * KiB;
/** The journal is fdatasync'ed this often when written (a kill -9 loses nothing written; power loss at most this). */
export const scheduleSyncIntervalMs = 500;
/** How often the journal is checked for compaction. */
export const scheduleCompactIntervalMs = 10_000;
/** The journal is rewritten once it holds this many records more than twice its open jobs. */
export const scheduleCompactRecordsMin = 4_096;
/** Jobs fired in one turn of the event loop; the rest of what is due follows in the next turns. */
export const scheduledJobsPerTurnMax = 4_096;
/** A handler that throws is called again after this long. */
export const scheduledJobRetryDelayMs = 1_000;
/**
 * The due time one file of the scheduler's wheel covers (store/schedule-wheel.ts): a refill reads
 * the next slices only. 30 s: a day of timers is 2,880 files; at most 2^15 ms, as a ref packs
 * the time within its slice and a journal position into one exact f64.
 */
export const scheduleWheelSliceMs = 30_000;

// The heap valve (common/heap-valve.ts)
/** How often a running broker reads the JavaScript heap's size. */
export const heapValveCheckIntervalMs = 250;
/**
 * Heap growth since the last collection past which the valve acts: its timed checks ask for a
 * concurrent collection, a check asked for by work in progress collects synchronously.
 */
export const heapGrowthBeforeCollectBytes = 32 * MiB;
/** Growth past which the timed checks collect synchronously too (the concurrent one did not keep up). */
export const heapGrowthBeforeSyncCollectBytes = 2 * heapGrowthBeforeCollectBytes;
/**
 * The share of the event loop's time the valve's collections may take: after a collection of T
 * ms started at t, the next comes no sooner than t + T / share. A busy broker's heap regrows past
 * the bound between two checks, and a full collection costs in proportion to what is live (tens
 * of ms), so without a pace the valve took 10–15 % of the broker's CPU under steady produce load.
 */
export const heapValveTimeShareMax = 0.05;

// Event-loop stalls (common/loop-stall-monitor.ts): GC pauses show up as stalls
/** A timer waking this much later than due counts as a stall. */
export const loopStallMinMs = 10;
/** The tick of `mq bench`'s monitor of its load generator. */
export const loopStallTickBenchMs = 2;
/** The tick of a broker's own monitor (its metrics): coarser, it runs all the time. */
export const loopStallTickBrokerMs = 5;

// Scheduled delivery (broker/scheduled-delivery.ts)
/** The longest delay a scheduled message may ask for by default (setting timerMaxDelayMs): 40 days. */
export const timerMaxDelayMsDefault = 40 * 24 * 3_600_000;
/** The highest timerMaxDelayMs setting: one year. */
export const timerMaxDelayMsLimit = 366 * 24 * 3_600_000;
/** RocketMQ's 18 delay levels (setting messageDelayLevel): level n waits the n-th duration. */
export const messageDelayLevelDefault = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

// Dedup window (broker/dedup-window.ts, broker/dedup-service.ts)
/** The dedup window when none is configured: NATS JetStream's duplicate window. */
export const dedupWindowMsDefault = 120_000;
/** The longest dedup window a broker or topic may set: one day. */
export const dedupWindowMsMax = 24 * 3_600_000;
/** A dedup key (what the window is keyed by instead of the msgId), in UTF-16 units. */
export const dedupKeyLengthMax = 255;
/** The window's fingerprints are kept in this many generations per window length (expired whole). */
export const dedupGenerationsPerWindow = 4;
/** A generation's table starts at this many slots (4 bytes each) and grows by a quarter as it fills... */
export const dedupGenerationSlotsMin = 1_024;
/** ...up to this many (32 MiB); a burst past it starts the next generation. */
export const dedupGenerationSlotsMax = 2 ** 23;
/** Stored records read to confirm one fingerprint hit (index candidates of one id, newest first). */
export const dedupConfirmCandidatesMax = 8;

// Scheduled messages: listing and cancelling (broker/scheduled-messages.ts)
/** Pending scheduled messages one listing page returns at most (default: scheduledListPageDefault). */
export const scheduledListPageMax = 1_000;
export const scheduledListPageDefault = 100;
/** Time buckets one listing counts at most; past it the latest are left out (and the answer says so). */
export const scheduledListBucketsMax = 1_000;
/** A listing's bucket width when none is asked for, and the narrowest allowed. */
export const scheduledListBucketMsDefault = 60_000;
export const scheduledListBucketMsMin = 1_000;
/** How long the marker of a cancelled scheduled message stays open (recovery skips its timer record meanwhile). */
export const scheduledCancelMarkerMs = 3_600_000;
/** Index candidates read to find the copy a send-back stored for one failure (its timer record and its delivered copy share the key). */
export const sendBackCopiesLookupMax = 8;
/** Stored copies of one msgId read to tell a delivered scheduled message from a pending or unknown one. */
export const scheduledCopiesLookupMax = 8;

// Web Streams bindings and consumer retries (client)
/** `producer.writable`: sends in flight at once, unless `inFlight` says otherwise, and its maximum. */
export const streamSendsInFlightDefault = 64;
export const streamSendsInFlightMax = 65_536;
/** `consumer.readable`: unacknowledged messages buffered, unless `highWaterMark` says otherwise, and its maximum. */
export const streamHighWaterMarkMessagesDefault = 64;
export const streamHighWaterMarkMessagesMax = 65_536;
/** An orderly consumer's pause before it retries a failed message, at most. */
export const suspendCurrentQueueMsMax = 3_600_000;

// Dead letters: listing and redrive (broker/dead-letters.ts)
/** DLQ entries one listing page returns at most (default: deadLetterPageDefault). */
export const deadLetterPageMax = 1_000;
export const deadLetterPageDefault = 100;
/** DLQ records one listing or redrive reads at most: a filter that matches little stops here. */
export const deadLetterScanMax = 100_000;
/** Entries one redrive request resends at most, and ids it names at most. */
export const redriveMessagesMax = 10_000;
/** A redrive's rate, messages per second, at most (absent: as fast as the store takes them). */
export const redriveRatePerSecondMax = 100_000;
/** How long the SDK waits for a redrive's answer at least; a paced redrive gets the time its rate needs on top. */
export const redriveAnswerWaitMsMin = 120_000;

// Transactions (broker/transactions.ts, transaction-check.ts)
/** A half message is first checked back this long after it was stored (setting transactionTimeoutMs; RocketMQ: 6 s). */
export const transactionTimeoutMsDefault = 6_000;
/** The highest transactionTimeoutMs setting: one day. */
export const transactionTimeoutMsLimit = 24 * 3_600_000;
/** Check-backs a producer received before a half becomes "exhausted" (setting transactionCheckMax; RocketMQ: 15). */
export const transactionCheckMaxDefault = 15;
export const transactionCheckMaxLimit = 1_000;
/**
 * After the n-th check-back the next waits transactionTimeoutMs times the n-th factor (the last
 * one repeats): 6 s, 30 s, 60 s, 120 s, then 300 s with the default timeout.
 */
export const transactionCheckBackoffFactors = [1, 5, 10, 20, 50] as const;
/** The longest wait between two check-backs, whatever the timeout and factors say. */
export const transactionCheckIntervalMsMax = 600_000;
/** With no live producer in the group, a half is looked at again after transactionTimeoutMs, at most this long (not counted as a check). */
export const transactionNoProducerRetryMs = 30_000;
/** How long the broker waits for a producer's answer to one check-back before trying the next producer. */
export const transactionCheckAnswerMs = 3_000;
/** The body of a state record in RMQ_SYS_TRANS_OP_HALF_TOPIC (the outcome and the half's offset), at most. */
export const transactionStateRecordBodyBytesMax = 64;
/** Outcomes of transactions ended in this run kept in memory, so a repeated end needs no lookup. */
export const transactionEndedRememberedMax = 65_536;
/**
 * An exhausted transaction's job falls due this often, only to be renewed: it waits for an
 * operator, and a timer further out than setTimeout's 2^31 - 1 ms would fire at once.
 */
export const transactionExhaustedRenewMs = 20 * 24 * 3_600_000;
/** Transactions one END_TRANSACTION_BATCH ends at most. */
export const transactionEndBatchMax = 1_024;
/** Pending or exhausted transactions one listing page returns at most, and by default. */
export const transactionListPageMax = 1_000;
export const transactionListPageDefault = 100;
// Message trace (broker/trace-writer.ts, client/trace-dispatcher.ts)
/** Trace hops waiting to be written, per broker and per SDK client; past it hops are dropped (and counted), never a send slowed. */
export const traceQueueHopsMax = 65_536;
/** Hops one trace message holds at most (its keys are bounded by messageKeysMax too). */
export const traceHopsPerMessageMax = 128;
/** Hops written per run of a trace writer at most; the rest wait for the next run. */
export const traceHopsPerFlushMax = 8_192;
/** Characters of one text field of a trace hop (an error text, a traceparent, a key) kept at most; the rest is cut. */
export const traceTextCharsMax = 16_000;
/**
 * Bytes of trace messages one SEND_BATCH of an SDK client carries at most: under the socket's
 * coalescing size (64 KiB), so a trace batch goes out in the same write as the sends around it.
 */
export const traceSendBytesMax = 48 * 1024;
/** How long a hop waits at most before its batch is written. */
export const traceFlushIntervalMs = 20;
/** Hops one trace query answers at most (oldest first). */
export const traceQueryHopsMax = 1_000;
/** Messages a trace query by key follows at most (each found by its msgId too). */
export const traceKeyMessagesMax = 32;
/** Trace messages one query reads per id and trace topic at most. */
export const traceQueryMessagesMax = 256;

function assertRelation(holds: boolean, relation: string): void {
  if (!holds) throw new Error(`Limits are inconsistent: expected ${relation}`);
}

assertRelation(commitLogFileBytesMin % pageBytes === 0, "commitLogFileBytesMin to be page aligned");
assertRelation(commitLogFileBytesDefault <= commitLogFileBytesMax, "default CommitLog file within the maximum");
assertRelation(sandboxCommitLogFileBytes >= commitLogFileBytesMin && sandboxCommitLogFileBytes % pageBytes === 0, "sandbox CommitLog file size to be valid");
assertRelation(messagePropertiesBytesMax < 65_536, "properties length to fit the record's u16 field");
assertRelation(topicNameLengthMax < 256, "topic length to fit the record's u8 field");
assertRelation(batchBytesMax >= messageBodyBytesMax, "a batch to hold at least one largest message");
assertRelation(producerBatchMessagesMax <= batchMessagesMax && producerBatchBytesMax * 2 <= batchBytesMax, "a producer's automatic batch, entry headers included, to fit one SEND_BATCH");
assertRelation(pullBytesMax >= messageBodyBytesMax + messagePropertiesBytesMax + 4 * KiB, "a pull to return one largest message");
assertRelation(scheduledJobsInMemoryMax >= 16 && scheduledJobsInMemoryMax <= scheduledJobsMax, "the in-memory job window to be at least 16 and within the open-job cap");
assertRelation(dedupWindowMsDefault <= dedupWindowMsMax, "the default dedup window within the maximum");
assertRelation(dedupGenerationSlotsMin >= 64 && dedupGenerationSlotsMin <= dedupGenerationSlotsMax, "dedup tables to start small and within their maximum");
assertRelation(transactionTimeoutMsDefault * transactionCheckBackoffFactors[0] <= transactionCheckIntervalMsMax, "the first check-back wait to be within the longest");
assertRelation(heapGrowthBeforeSyncCollectBytes > heapGrowthBeforeCollectBytes, "the heap valve's synchronous bound to be past its concurrent one");
assertRelation(transactionExhaustedRenewMs < 2 ** 31, "an exhausted transaction's renewal to fit a timer");
