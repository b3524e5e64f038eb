/**
 * The dedup window's fill from the CommitLog at start: each record the store's scan hands over
 * (`ScannedRecord`: its topic and where its properties text lies) gives the fingerprint of its id
 * — DEDUP_KEY, else UNIQ_KEY — read straight from the bytes. Decoding every record (its
 * properties into an object, then hashing the strings) cost about a microsecond a record: a
 * second per million, which a restart after a burst of scheduled sends paid before it served.
 *
 * What is kept is what the live "dedup" dispatcher keeps (dedup-service.ts `dispatch`): records
 * of a topic with a window, not delivered scheduled messages (TIMER_SOURCE_OFFSET). Topics are
 * looked at once each (their window and seeds kept for the scan).
 */

import { propertyNames } from "../common/message-properties.ts";
import type { ScannedRecord } from "../store/dispatch/dispatch-record.ts";
import { fingerprintFrom, fingerprintOfBytes, topicSeed } from "./dedup-fingerprint.ts";
import type { DedupWindow } from "./dedup-window.ts";

interface TopicEntry {
  readonly windowed: boolean;
  readonly msgIdSeed: number;
  readonly dedupKeySeed: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const msgIdName = encoder.encode(propertyNames.msgId);
const dedupKeyName = encoder.encode(propertyNames.dedupKey);
const timerSourceName = encoder.encode(propertyNames.timerSourceOffset);
/** The properties text's separators (message-properties.ts): name \u0001 value \u0002. */
const nameValueSeparator = 0x01;
const pairSeparator = 0x02;

export class DedupRebuild {
  private readonly topics = new Map<string, TopicEntry>();
  /** Records whose id was added. */
  added = 0;

  constructor(
    private readonly windowOf: (topic: string) => number,
    private readonly into: DedupWindow,
  ) {}

  visit(record: ScannedRecord): void {
    let entry = this.topics.get(record.topic);
    if (entry === undefined) {
      entry = { windowed: this.windowOf(record.topic) > 0, msgIdSeed: topicSeed(record.topic, false), dedupKeySeed: topicSeed(record.topic, true) };
      this.topics.set(record.topic, entry);
    }
    if (!entry.windowed) return;
    const bytes = record.bytes;
    const end = record.propertiesEnd;
    let msgIdStart = -1;
    let msgIdEnd = -1;
    let keyStart = -1;
    let keyEnd = -1;
    // Pairs in order; a name given twice counts by its last value, as decoding the text does.
    let pair = record.propertiesStart;
    while (pair < end) {
      let cursor = pair;
      while (cursor < end && bytes[cursor] !== nameValueSeparator && bytes[cursor] !== pairSeparator) cursor += 1;
      if (cursor === end) break;
      if (bytes[cursor] === pairSeparator) {
        pair = cursor + 1; // a pair without a value: not a property
        continue;
      }
      const valueStart = cursor + 1;
      let valueEnd = valueStart;
      while (valueEnd < end && bytes[valueEnd] !== pairSeparator) valueEnd += 1;
      if (cursor > pair) {
        if (named(bytes, pair, cursor, msgIdName)) {
          msgIdStart = valueStart;
          msgIdEnd = valueEnd;
        } else if (named(bytes, pair, cursor, dedupKeyName)) {
          keyStart = valueStart;
          keyEnd = valueEnd;
        } else if (named(bytes, pair, cursor, timerSourceName)) return; // a delivered scheduled message: not deduplicated when sent
      }
      pair = valueEnd + 1;
    }
    const byKey = keyStart >= 0;
    const start = byKey ? keyStart : msgIdStart;
    if (start < 0) return;
    const stop = byKey ? keyEnd : msgIdEnd;
    const seed = byKey ? entry.dedupKeySeed : entry.msgIdSeed;
    let fingerprint = fingerprintOfBytes(seed, bytes, start, stop, !byKey);
    if (fingerprint < 0) fingerprint = fingerprintFrom(seed, decoder.decode(bytes.subarray(start, stop)), !byKey);
    this.into.add(fingerprint, record.storeTimestampMs, record.storeTimestampMs);
    this.added += 1;
  }
}

function named(bytes: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let index = 0; index < name.length; index++) if (bytes[start + index] !== name[index]) return false;
  return true;
}
