/**
 * Exactly-once produce: the dedup window. A send to a topic with a window whose id — the
 * sender's `dedupKey`, else its msgId (UNIQ_KEY, which the SDK keeps across its retries) — was
 * stored in that topic within the window is not stored again: it is answered with the original's
 * msgId, queue and offsets, marked duplicate.
 *
 *   window    the topic's `dedupWindowMs` attribute when set (0 turns it off for the topic), else
 *             the broker's `dedupWindowMs` when `dedup` is on; never for system, retry and DLQ
 *             topics (the broker writes those itself)
 *   memory    32-bit fingerprints in time-sliced tables (dedup-window.ts), filled by the "dedup"
 *             dispatcher from every visible record of a topic with a window, and at start from
 *             the CommitLog since the longest window (`startRebuild`, dedup-rebuild.ts: the ids
 *             read from the records' bytes, the same ones the dispatcher keeps)
 *   rebuild   in the background, while the broker already serves: until it is done every send
 *             with a window is confirmed against the store (below) without asking the window —
 *             the index knows every stored id, recovered before the broker starts; the window
 *             only spares the lookups. So a restart is not held up by the log it holds (a
 *             million records cost a second to decode), and a duplicate sent at once after a
 *             kill -9 is still found. The records before the start fill a window of their own,
 *             placed behind the live one when done, so generations stay in time order
 *   confirm   a fingerprint hit is only a candidate: the store reads the record the index names
 *             for the id (message-lookup.ts `byDedupId`) and checks topic, id, store time and
 *             that the topic incarnation is live — so a false positive costs a lookup and never
 *             drops a message, an expired id is stored again, and a deleted topic's ids name
 *             nothing (its tombstone hides them) while their fingerprints age out
 *
 * Races: the check, the append and the dispatch that adds the fingerprint run in one synchronous
 * step of the message service, so of two identical sends the second always finds the first.
 * Under sync flush a duplicate is answered only once its original is durable.
 *
 * Not deduplicated: messages with a delivery time (their timer record is not indexed by id until
 * delivered) and prepared transactional messages.
 */

import type { Clock } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import { propertyNames } from "../common/message-properties.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { deadLetterTopicPrefix, retryTopicPrefix, systemTopics } from "../common/system-topics.ts";
import type { DispatchRecord } from "../store/dispatch/dispatch-record.ts";
import type { Dispatcher } from "../store/dispatch/record-dispatch.ts";
import type { MessageStore } from "../store/message-store.ts";
import { fingerprintFrom, topicSeed } from "./dedup-fingerprint.ts";
import { DedupRebuild } from "./dedup-rebuild.ts";
import { DedupWindow } from "./dedup-window.ts";
import type { OutgoingRecord } from "./message-transform.ts";
import type { TopicConfigManager } from "./topic-config-manager.ts";

export interface DedupServiceOptions {
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The broker-wide switch: every topic without a window of its own gets `windowMs`. */
  readonly enabled: boolean;
  readonly windowMs: number;
}

const ownTopics: ReadonlySet<string> = new Set(Object.values(systemTopics));
/** Topics whose entry is kept at most (more, and the table starts again): a broker's topics, retry and DLQ topics included, are fewer. */
const topicEntriesMax = 4_096;

interface TopicEntry {
  readonly topic: string;
  readonly windowMs: number;
  readonly msgIdSeed: number;
  readonly dedupKeySeed: number;
}

export class DedupService implements Dispatcher {
  readonly accepts = "visible";
  private window: DedupWindow | undefined;
  private longestWindowMs = 0;
  /**
   * The ids the last send (or batch) checked, in order, so the dispatch of their appends, which
   * follows in the same step, does not hash them again: parallel arrays, reused (no allocation
   * per send), `pendingNext` the next one a dispatch may match.
   */
  private readonly pendingTopics: string[] = [];
  private readonly pendingValues: string[] = [];
  private readonly pendingFingerprints: number[] = [];
  private pendingCount = 0;
  private pendingNext = 0;
  /** Per topic: its window and hash seeds, worked out once (cleared on every topic change); the last one looked up first. */
  private readonly topicEntries = new Map<string, TopicEntry>();
  /** `batchFirst`'s table (a power of two long, at least twice the batch) and what it needs between entries. */
  private batchSlots = new Int32Array(0);
  private readonly batchFingerprints: number[] = [];
  private readonly batchUsed: number[] = [];
  private lastEntry: TopicEntry | undefined;
  /** False until the rebuild at start is done (or when it failed): every send with a window is then confirmed against the store. */
  private filled = true;
  private stopped = false;
  private rebuilt: Promise<void> = Promise.resolve();

  constructor(private readonly options: DedupServiceOptions) {
    this.resize();
    options.topics.onChange(() => {
      this.topicEntries.clear();
      this.lastEntry = undefined;
      this.resize();
    });
  }

  /** The window of `topic` in ms; 0: sends to it are not deduplicated. */
  windowOf(topic: string): number {
    return this.entryOf(topic).windowMs;
  }

  /**
   * The stored original of `message` when the window holds its id, else undefined (store it).
   * Runs on every send: without a window, or on a fingerprint miss, it reads nothing.
   */
  originalOf(message: OutgoingRecord): StoredMessage | undefined {
    this.pendingCount = 0;
    this.pendingNext = 0;
    return this.check(message);
  }

  /** `originalOf` without forgetting the ids checked before (a batch's). */
  private check(message: OutgoingRecord): StoredMessage | undefined {
    const window = this.window;
    if (window === undefined || message.transactionPrepared === true || hasDeliveryTime(message)) return undefined;
    const entry = this.entryOf(message.topic);
    const windowMs = entry.windowMs;
    if (windowMs === 0) return undefined;
    const byKey = message.dedupKey !== undefined;
    const value = message.dedupKey ?? message.msgId;
    if (value === undefined) return undefined;
    const fingerprint = fingerprintFrom(byKey ? entry.dedupKeySeed : entry.msgIdSeed, value, !byKey);
    // The append that follows in the same step dispatches this id: its fingerprint is kept for it.
    const pending = this.pendingCount++;
    this.pendingTopics[pending] = message.topic;
    this.pendingValues[pending] = value;
    this.pendingFingerprints[pending] = fingerprint;
    if (this.filled && !window.mayContain(fingerprint)) return undefined;
    const sinceMs = this.options.clock.nowMs() - windowMs;
    return this.options.store.queryDedupOriginal({ topic: message.topic, id: { kind: byKey ? "dedupKey" : "msgId", value }, sinceMs });
  }

  /**
   * `originalOf` for each message of a batch, where a message repeating an earlier one of the
   * same batch gets that one's index instead: it is answered with what that one is answered.
   * Undefined when the batch's topic has no window.
   */
  originalsOf(messages: readonly OutgoingRecord[]): (StoredMessage | number | undefined)[] | undefined {
    if (this.window === undefined || messages.length === 0 || this.windowOf(messages[0]!.topic) === 0) return undefined;
    this.pendingCount = 0;
    this.pendingNext = 0;
    // The first entry stored with each fingerprint (batchFirst); an equal fingerprint is a repeat
    // only when the ids are equal. Entries with a fingerprint an earlier, other id has (rare) are kept aside.
    let others: Map<number, number[]> | undefined;
    try {
      return messages.map((message, index) => {
        const checked = this.pendingCount;
        const original = this.check(message);
        if (original !== undefined || this.pendingCount === checked) return original;
        const fingerprint = this.pendingFingerprints[checked]!;
        const first = this.batchFirst(fingerprint, index, messages.length);
        if (first === index) return undefined;
        if (sameId(messages[first]!, message)) return first;
        others ??= new Map();
        const sharing = others.get(fingerprint);
        const repeated = sharing?.find((other) => sameId(messages[other]!, message));
        if (repeated !== undefined) return repeated;
        if (sharing === undefined) others.set(fingerprint, [index]);
        else sharing.push(index);
        return undefined;
      });
    } finally {
      for (const slot of this.batchUsed) this.batchSlots[slot] = 0;
      this.batchUsed.length = 0;
    }
  }

  /**
   * The index of the batch's first entry with `fingerprint`, or `index` (then it is that entry):
   * a reused open-addressed table of entry index + 1 by fingerprint, cleared after each batch by
   * the slots it used. A Map made per batch took 3 % of the broker's CPU under plain sends (a CPU
   * profile of SDK sends, which travel as batches).
   */
  private batchFirst(fingerprint: number, index: number, count: number): number {
    if (this.batchSlots.length < count * 2) this.batchSlots = new Int32Array(2 ** Math.ceil(Math.log2(count * 2)));
    const slots = this.batchSlots;
    const mask = slots.length - 1;
    let slot = fingerprint & mask;
    for (;;) {
      const held = slots[slot]!;
      if (held === 0) break;
      if (this.batchFingerprints[held - 1] === fingerprint) return held - 1;
      slot = (slot + 1) & mask;
    }
    slots[slot] = index + 1;
    this.batchFingerprints[index] = fingerprint;
    this.batchUsed.push(slot);
    return index;
  }

  /** The "dedup" dispatcher slot: remembers the id of every visible record of a topic with a window. */
  dispatch(record: DispatchRecord): void {
    const window = this.window;
    if (window === undefined) return;
    const entry = this.entryOf(record.topic);
    if (entry.windowMs === 0) return;
    // A delivered scheduled message was not deduplicated when sent (see the header).
    if (record.properties?.[propertyNames.timerSourceOffset] !== undefined) return;
    const dedupKey = record.properties?.[propertyNames.dedupKey];
    const value = dedupKey ?? record.msgId;
    if (value === undefined) return;
    let fingerprint = -1;
    // The ids checked for this append, in order: a duplicate left out of a batch is skipped over.
    while (this.pendingNext < this.pendingCount) {
      const pending = this.pendingNext++;
      if (this.pendingValues[pending] === value && this.pendingTopics[pending] === record.topic) {
        fingerprint = this.pendingFingerprints[pending]!;
        break;
      }
    }
    if (fingerprint < 0) fingerprint = fingerprintFrom(dedupKey !== undefined ? entry.dedupKeySeed : entry.msgIdSeed, value, dedupKey === undefined);
    // The record's store time stands for now: it is now for a live append, and a replay expires by the records it meets.
    window.add(fingerprint, record.storeTimestampMs, record.storeTimestampMs);
  }

  /** Nothing to undo: a fingerprint left by an undone append is a false positive, which confirmation rejects. */
  rollback(): void {}

  /**
   * Starts filling the window from the CommitLog: the records stored within the longest window
   * and before this call (later ones reach `dispatch`). Call it once the dispatcher is registered,
   * in the same step, so no append falls between. Sends are served meanwhile (see the header).
   */
  startRebuild(): void {
    if (this.window === undefined) return;
    const startMs = performance.now();
    const past = new DedupWindow(this.longestWindowMs);
    const rebuild = new DedupRebuild((topic) => this.windowOf(topic), past);
    this.filled = false;
    const scan = this.options.store.scanSince(this.options.clock.nowMs() - this.longestWindowMs, (record) => rebuild.visit(record), () => this.stopped);
    this.rebuilt = scan.then(
      ({ visited, complete }) => {
        if (!complete) return;
        // The window may have been made anew meanwhile (a topic's window changed); none left: nothing to keep.
        this.window?.placeBehind(past);
        this.filled = true;
        if (visited > 0) this.options.logger.info(`Dedup window rebuilt from ${visited} stored records (${rebuild.added} ids) in ${Math.round(performance.now() - startMs)} ms`);
      },
      (error: unknown) => this.options.logger.error(`Dedup window not rebuilt: every send with a window is confirmed against the store (${error instanceof Error ? error.message : String(error)})`),
    );
  }

  /** True while the rebuild at start runs (or after it failed): sends with a window are confirmed against the store. */
  get rebuilding(): boolean {
    return !this.filled;
  }

  /** Resolves once the rebuild at start has ended (done, failed, or stopped). */
  whenRebuilt(): Promise<void> {
    return this.rebuilt;
  }

  /** Ends the rebuild, before the store closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.rebuilt;
  }

  /** Fingerprints held and their bytes: what the window costs. */
  stats(): { ids: number; bytes: number } {
    return { ids: this.window?.size ?? 0, bytes: this.window?.bytes ?? 0 };
  }

  private entryOf(topic: string): TopicEntry {
    const last = this.lastEntry;
    if (last !== undefined && last.topic === topic) return last;
    let entry = this.topicEntries.get(topic);
    if (entry === undefined) {
      if (this.topicEntries.size >= topicEntriesMax) this.topicEntries.clear();
      entry = { topic, windowMs: this.windowOfTopic(topic), msgIdSeed: topicSeed(topic, false), dedupKeySeed: topicSeed(topic, true) };
      this.topicEntries.set(topic, entry);
    }
    this.lastEntry = entry;
    return entry;
  }

  private windowOfTopic(topic: string): number {
    if (ownTopics.has(topic) || topic.startsWith(retryTopicPrefix) || topic.startsWith(deadLetterTopicPrefix)) return 0;
    const own = this.options.topics.get(topic)?.dedupWindowMs;
    if (own !== undefined) return own;
    return this.options.enabled ? this.options.windowMs : 0;
  }

  /** Sizes the window for the longest window of any topic (made on first need, dropped when none is left). */
  private resize(): void {
    let longest = this.options.enabled ? this.options.windowMs : 0;
    for (const config of this.options.topics.list()) longest = Math.max(longest, config.dedupWindowMs ?? 0);
    if (longest === this.longestWindowMs) return;
    this.longestWindowMs = longest;
    if (longest === 0) this.window = undefined;
    else if (this.window === undefined) this.window = new DedupWindow(longest);
    else this.window.resize(longest);
  }
}

/**
 * The transform that stores a message's dedup key as its DEDUP_KEY property (indexed per topic,
 * so the window can confirm it); a message without one passes unchanged.
 */
export function dedupKeyTransform(message: OutgoingRecord): OutgoingRecord {
  if (message.dedupKey === undefined) return message;
  return { ...message, properties: { ...message.properties, [propertyNames.dedupKey]: message.dedupKey }, propertiesBytes: undefined };
}

function hasDeliveryTime(message: OutgoingRecord): boolean {
  return message.deliverAtMs !== undefined || message.delayMs !== undefined || (message.delayLevel !== undefined && message.delayLevel > 0);
}

function sameId(a: OutgoingRecord, b: OutgoingRecord): boolean {
  if (a.dedupKey !== undefined || b.dedupKey !== undefined) return a.dedupKey === b.dedupKey;
  return a.msgId !== undefined && b.msgId !== undefined && a.msgId.toUpperCase() === b.msgId.toUpperCase();
}

export { fingerprintOf } from "./dedup-fingerprint.ts";
