/**
 * What dispatch knows of a stored record: the fields the consume queue, the index and the
 * registered dispatchers need, never the body. A live append builds it from the fields it already
 * holds; recovery replay (and later a replica) reads it from the stored bytes with
 * `readDispatchRecord`. Both hand the same shape to the same `RecordDispatch.dispatch`.
 *
 * Visibility is decided from the record alone, so live append and replay always agree:
 *   prepared   sysFlag says a prepared transaction (not visible until committed)
 *   scheduled  topic rmq_sys_wheel_timer, or TIMER_DELIVER_MS / DELIVER_AT later than the
 *              record's store time (not visible until due)
 *   visible    everything else: it goes to its consume queue and the index
 */

import { getUint64, sysFlag as sysFlags } from "../../common/message-record.ts";
import { decodePropertiesText, propertyNames, splitKeys, tagHash, type Properties } from "../../common/message-properties.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../../common/offsets.ts";
import { systemTopics } from "../../common/system-topics.ts";

export type Visibility = "visible" | "prepared" | "scheduled";

export interface DispatchRecord {
  readonly topic: string;
  readonly queueId: number;
  /** The record's entry in its consume queue; 0 for a record that is not visible (it takes none). */
  readonly queueOffset: QueueOffset;
  readonly physicalOffset: PhysicalOffset;
  readonly size: number;
  readonly sysFlag: number;
  /** A committed transaction's message: its half's CommitLog offset (the outcome it records); 0 otherwise. */
  readonly preparedTransactionOffset: number;
  readonly storeTimestampMs: number;
  /** The consume-queue tag field: the hash of the record's tag, 0 without one. */
  readonly tagHash: number;
  readonly keys: readonly string[] | undefined;
  /** The producer's msgId (UNIQ_KEY). */
  readonly msgId: string | undefined;
  /** User and system properties other than TAGS, KEYS and UNIQ_KEY (they may also be present). */
  readonly properties: Readonly<Properties> | undefined;
  readonly visibility: Visibility;
}

/** Decides where a record goes; see the file header. Runs per append: no allocation. */
export function recordVisibility(topic: string, sysFlag: number, properties: Readonly<Properties> | undefined, storeTimestampMs: number): Visibility {
  if ((sysFlag & sysFlags.transactionMask) === sysFlags.transactionPrepared) return "prepared";
  if (topic === systemTopics.wheelTimer) return "scheduled";
  if (properties !== undefined) {
    const deliverAt = properties[propertyNames.timerDeliverMs] ?? properties[propertyNames.deliverAtMs];
    if (deliverAt !== undefined && Number(deliverAt) > storeTimestampMs) return "scheduled";
  }
  return "visible";
}

export function consumeQueueTagHash(tags: string | undefined): number {
  return tags === undefined || tags.length === 0 ? 0 : tagHash(tags);
}

const textDecoder = new TextDecoder();
const preparedTransactionOffsetAt = 76;
const bodyLengthAt = 84;
const bodyAt = 88;

/** Reads what dispatch needs from a record already checked (checkRecord) at `position`. */
/**
 * A record as a scan at start hands it over (`MessageStore.scanSince`): its topic and where its
 * properties text lies, nothing decoded. One object serves every record of a scan: read it in
 * the visit, never keep it.
 */
export interface ScannedRecord {
  topic: string;
  physicalOffset: number;
  storeTimestampMs: number;
  /** The bytes of the record's CommitLog file; the properties text is bytes[propertiesStart, propertiesEnd). */
  bytes: Uint8Array;
  propertiesStart: number;
  propertiesEnd: number;
}

/** Fills `into` from the record at `position` (checked, of topic `topic`). */
export function readScannedRecord(into: ScannedRecord, topic: string, physicalOffset: number, bytes: Uint8Array, view: DataView, position: number): void {
  const topicAt = position + bodyAt + view.getUint32(position + bodyLengthAt);
  const propertiesAt = topicAt + 1 + view.getUint8(topicAt);
  into.topic = topic;
  into.physicalOffset = physicalOffset;
  into.storeTimestampMs = getUint64(view, position + 56);
  into.bytes = bytes;
  into.propertiesStart = propertiesAt + 2;
  into.propertiesEnd = propertiesAt + 2 + view.getUint16(propertiesAt);
}

/** A topic as `RecordTopics` knows it, with a mark per queue id for whoever reads the log. */
export interface KnownTopic {
  readonly topic: string;
  readonly marked: boolean[];
}

/**
 * Finds records' topics without decoding each: recovery asks for every record it verifies, and a
 * log holds few topics. A topic is found by a hash of its bytes, then compared byte by byte.
 */
export class RecordTopics {
  private readonly known = new Map<number, { bytes: Uint8Array; entry: KnownTopic }[]>();

  of(bytes: Uint8Array, view: DataView, position: number): KnownTopic {
    const topicAt = position + bodyAt + view.getUint32(position + bodyLengthAt);
    const start = topicAt + 1;
    const end = start + view.getUint8(topicAt);
    let hash = end - start;
    for (let index = start; index < end; index++) hash = (Math.imul(hash, 31) + bytes[index]!) | 0;
    const candidates = this.known.get(hash);
    if (candidates !== undefined) {
      for (const candidate of candidates) if (sameBytes(candidate.bytes, bytes, start, end)) return candidate.entry;
    }
    const topicBytes = bytes.slice(start, end);
    const entry: KnownTopic = { topic: textDecoder.decode(topicBytes), marked: [] };
    if (candidates === undefined) this.known.set(hash, [{ bytes: topicBytes, entry }]);
    else candidates.push({ bytes: topicBytes, entry });
    return entry;
  }
}

function sameBytes(known: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (known.length !== end - start) return false;
  for (let index = 0; index < known.length; index++) if (known[index] !== bytes[start + index]) return false;
  return true;
}

/** A record's queue id field. */
export function recordQueueId(view: DataView, position: number): number {
  return view.getUint32(position + 12);
}

export function readDispatchRecord(bytes: Uint8Array, view: DataView, position: number): DispatchRecord {
  const size = view.getUint32(position + 4);
  const topicAt = position + bodyAt + view.getUint32(position + bodyLengthAt);
  const topicLength = view.getUint8(topicAt);
  const topic = textDecoder.decode(bytes.subarray(topicAt + 1, topicAt + 1 + topicLength));
  const propertiesAt = topicAt + 1 + topicLength;
  const propertiesLength = view.getUint16(propertiesAt);
  const properties = propertiesLength === 0 ? undefined : decodePropertiesText(textDecoder.decode(bytes.subarray(propertiesAt + 2, propertiesAt + 2 + propertiesLength)));
  const sysFlag = view.getUint32(position + 36);
  const storeTimestampMs = getUint64(view, position + 56);
  const keys = splitKeys(properties?.[propertyNames.keys]);
  return {
    topic,
    queueId: view.getUint32(position + 12),
    queueOffset: toQueueOffset(getUint64(view, position + 20)),
    physicalOffset: toPhysicalOffset(getUint64(view, position + 28)),
    size,
    sysFlag,
    preparedTransactionOffset: getUint64(view, position + preparedTransactionOffsetAt),
    storeTimestampMs,
    tagHash: consumeQueueTagHash(properties?.[propertyNames.tags]),
    keys: keys.length === 0 ? undefined : keys,
    msgId: properties?.[propertyNames.msgId],
    properties,
    visibility: recordVisibility(topic, sysFlag, properties, storeTimestampMs),
  };
}
