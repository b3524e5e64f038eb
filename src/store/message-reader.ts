/**
 * Reads a run of messages from one consume queue: entries give CommitLog positions, each record
 * is checked and copied into one buffer, so nothing handed out aliases a mapping and a corrupt
 * record is never served. The buffer holds the records as stored: the broker sends it to
 * clients as is, never re-encoded.
 *
 * Records below `verifyCrcBelow` (written by an earlier run and not re-verified by recovery) get
 * their CRC checked on every read; records this process wrote or recovery verified get the cheap
 * structural checks only.
 *
 * A damaged entry (a size no record can have, an offset outside the log, or a record that is not
 * this entry's: another topic, queue or queue offset) is skipped, logged and reported through
 * `onDamagedEntry` so the queue is repaired from the CommitLog; it is never served. `nextOffset`
 * always moves past what was examined, so a reader never stalls on damage.
 */

import * as limits from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { checkedRecordSize, getUint64, recordFixedBytes } from "../common/message-record.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";
import { entryBytes } from "./consume-queue-entry.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";

export interface GetMessagesRequest {
  topic: string;
  queueId: number;
  offset: QueueOffset;
  maxCount: number;
  maxBytes?: number;
  /** Tag hashes to accept; undefined accepts all. */
  tagHashes?: ReadonlySet<number>;
  /**
   * A further filter on the record as stored (`bytes` holds it at `position`, its structure
   * checked): SQL92 filters read its properties region there. A record it refuses is skipped
   * before any copy and does not count toward maxCount or maxBytes.
   */
  acceptRecord?: (bytes: Uint8Array, position: number) => boolean;
  /** Entries examined at most (default: maxCount × 16, at least 4096). */
  scanEntriesMax?: number;
  /** A buffer to copy into when it is large enough (the caller owns its reuse). */
  target?: Uint8Array;
}

export type GetStatus =
  | "found"
  | "no_matched_message"
  | "offset_overflow_one"
  | "offset_overflow_badly"
  | "offset_too_small"
  | "no_matched_queue";

export interface ReadMessage {
  queueOffset: QueueOffset;
  physicalOffset: PhysicalOffset;
  /** Where the record starts in `buffer`. */
  position: number;
  size: number;
  tagHash: number;
}

export interface GetMessagesResult {
  status: GetStatus;
  minOffset: QueueOffset;
  maxOffset: QueueOffset;
  /** Where the next read should start. */
  nextOffset: QueueOffset;
  buffer: Uint8Array;
  messages: ReadMessage[];
  corruptSkipped: number;
}

const empty = new Uint8Array(0);
const noOffset = toQueueOffset(0);

export interface ReadContext {
  commitLog: CommitLog;
  logger: Logger;
  verifyCrcBelow: number;
  /** Called for each damaged entry found (the store repairs the queue from the CommitLog). */
  onDamagedEntry?: (queue: ConsumeQueue, queueOffset: QueueOffset, reason: string) => void;
}

const textEncoder = new TextEncoder();
const topicBytesOfQueue = new WeakMap<ConsumeQueue, Uint8Array>();
/** Where the body length sits in a record (see message-record.ts); the topic follows the body. */
const bodyLengthAt = 84;
const bodyAt = 88;

/** Whether the record at `position` is the one the entry names: its topic, queue and queue offset. */
function topicBytesOf(queue: ConsumeQueue): Uint8Array {
  let topic = topicBytesOfQueue.get(queue);
  if (topic === undefined) {
    topic = textEncoder.encode(queue.topic);
    topicBytesOfQueue.set(queue, topic);
  }
  return topic;
}

function recordBelongsTo(bytes: Uint8Array, view: DataView, position: number, queue: ConsumeQueue, topic: Uint8Array, queueOffset: QueueOffset): boolean {
  if (view.getUint32(position + 12) !== queue.queueId || getUint64(view, position + 20) !== queueOffset) return false;
  const topicLengthAt = position + bodyAt + view.getUint32(position + bodyLengthAt);
  if (bytes[topicLengthAt] !== topic.length) return false;
  for (let index = 0; index < topic.length; index++) if (bytes[topicLengthAt + 1 + index] !== topic[index]) return false;
  return true;
}

function reportDamage(context: ReadContext, queue: ConsumeQueue, queueOffset: QueueOffset, physicalOffset: PhysicalOffset, reason: string): void {
  context.logger.error(`Skipping damaged entry of "${queue.topic}" queue ${queue.queueId} at queue offset ${queueOffset} (CommitLog offset ${physicalOffset}): ${reason}`);
  context.onDamagedEntry?.(queue, queueOffset, reason);
}

export function readMessages(context: ReadContext, queue: ConsumeQueue | undefined, request: GetMessagesRequest): GetMessagesResult {
  if (queue === undefined) return emptyResult("no_matched_queue", noOffset, noOffset, noOffset);
  const { minOffset, maxOffset } = queue;
  if (request.offset < minOffset) return emptyResult("offset_too_small", minOffset, maxOffset, minOffset);
  if (request.offset === maxOffset) return emptyResult("offset_overflow_one", minOffset, maxOffset, maxOffset);
  if (request.offset > maxOffset) return emptyResult("offset_overflow_badly", minOffset, maxOffset, maxOffset);
  const scanned = scanEntries(context, queue, request);
  const buffer = request.target !== undefined && request.target.length >= scanned.bytes ? request.target : new Uint8Array(scanned.bytes);
  const messages: ReadMessage[] = [];
  const written = copyRecords(context, queue, request, scanned, buffer, messages);
  // The scan may stop early (count, bytes); when nothing was found, `next` is still past every
  // entry examined, so a run of damaged or filtered entries is never read twice.
  return {
    status: messages.length > 0 ? "found" : "no_matched_message",
    minOffset,
    maxOffset,
    nextOffset: scanned.next,
    buffer: written === buffer.length ? buffer : buffer.subarray(0, written),
    messages,
    corruptSkipped: scanned.corruptSkipped,
  };
}

/** The consume-queue entries a read takes, in parallel arrays (no object per entry). */
interface ScannedEntries {
  readonly physicalOffsets: PhysicalOffset[];
  readonly sizes: number[];
  readonly hashes: number[];
  readonly queueOffsets: QueueOffset[];
  /** Their records' bytes in total. */
  bytes: number;
  /** The first entry not examined. */
  next: QueueOffset;
  corruptSkipped: number;
}

/** Step 1: the entries from `request.offset` that pass the tag filter, within the count and byte bounds. */
function scanEntries(context: ReadContext, queue: ConsumeQueue, request: GetMessagesRequest): ScannedEntries {
  const maxCount = Math.max(1, Math.min(request.maxCount, limits.pullMessagesMax));
  const maxBytes = Math.min(request.maxBytes ?? limits.pullBytesMax, limits.pullBytesMax);
  // Bound the entries examined per call so a sparse filter cannot stall the event loop.
  const scanEnd = Math.min(queue.maxOffset, request.offset + (request.scanEntriesMax ?? Math.max(maxCount * 16, 4096)));
  const commitLogMin = context.commitLog.minOffset;
  const entriesPerFile = queue.entriesInFile;
  const commitLogEnd = context.commitLog.writePosition;
  const recordBytesMax = context.commitLog.fileBytes;
  const scanned: ScannedEntries = { physicalOffsets: [], sizes: [], hashes: [], queueOffsets: [], bytes: 0, next: request.offset, corruptSkipped: 0 };
  const { physicalOffsets } = scanned;
  let offset: number = request.offset;
  for (; offset < scanEnd && physicalOffsets.length < maxCount; offset++) {
    const file = queue.fileAt(toQueueOffset(offset));
    if (file === undefined) break;
    const view = file.view;
    const position = (offset % entriesPerFile) * entryBytes;
    const size = view.getUint32(position + 8);
    if (size === 0) continue; // blank entry
    const physicalOffset = toPhysicalOffset(getUint64(view, position));
    if (physicalOffset < commitLogMin) continue; // removed by retention
    if (size < recordFixedBytes || size > recordBytesMax || physicalOffset + size > commitLogEnd) {
      scanned.corruptSkipped += 1;
      reportDamage(context, queue, toQueueOffset(offset), physicalOffset, `size ${size} at CommitLog offset ${physicalOffset} is outside the log`);
      continue;
    }
    const hash = getUint64(view, position + 12);
    if (request.tagHashes !== undefined && !request.tagHashes.has(hash)) continue;
    if (request.acceptRecord !== undefined && !acceptedRecord(context, queue, request.acceptRecord, scanned, toQueueOffset(offset), physicalOffset, size)) continue;
    if (scanned.bytes + size > maxBytes && physicalOffsets.length > 0) break;
    physicalOffsets.push(physicalOffset);
    scanned.sizes.push(size);
    scanned.hashes.push(hash);
    scanned.queueOffsets.push(toQueueOffset(offset));
    scanned.bytes += size;
  }
  scanned.next = toQueueOffset(offset);
  return scanned;
}

/**
 * Whether `accept` takes the entry's record, read in place in the CommitLog mapping. A damaged
 * record is refused, counted and reported here, as the copy step does.
 */
function acceptedRecord(context: ReadContext, queue: ConsumeQueue, accept: (bytes: Uint8Array, position: number) => boolean, scanned: ScannedEntries, queueOffset: QueueOffset, physicalOffset: PhysicalOffset, size: number): boolean {
  const file = context.commitLog.fileHolding(physicalOffset);
  if (file === undefined) return false;
  const fileBytes = context.commitLog.fileBytes;
  const position = physicalOffset % fileBytes;
  if (checkedRecordSize(file.bytes, file.view, position, fileBytes, physicalOffset, physicalOffset < context.verifyCrcBelow) !== size) {
    scanned.corruptSkipped += 1;
    reportDamage(context, queue, queueOffset, physicalOffset, "no valid record of the entry's size there");
    return false;
  }
  if (!recordBelongsTo(file.bytes, file.view, position, queue, topicBytesOf(queue), queueOffset)) {
    scanned.corruptSkipped += 1;
    reportDamage(context, queue, queueOffset, physicalOffset, "the record there belongs to another topic, queue or queue offset");
    return false;
  }
  return accept(file.bytes, position);
}

/** Step 2: copies each scanned record that is still there, whole and its queue's own, into `buffer`; returns the bytes written. */
function copyRecords(context: ReadContext, queue: ConsumeQueue, request: GetMessagesRequest, scanned: ScannedEntries, buffer: Uint8Array, messages: ReadMessage[]): number {
  const { physicalOffsets, sizes, hashes, queueOffsets } = scanned;
  let written = 0;
  const commitLog = context.commitLog;
  const fileBytes = commitLog.fileBytes;
  const topic = topicBytesOf(queue);
  for (let index = 0; index < physicalOffsets.length; index++) {
    const physicalOffset = physicalOffsets[index]!;
    const size = sizes[index]!;
    const file = commitLog.fileHolding(physicalOffset);
    if (file === undefined) continue; // removed by retention since the scan
    const position = physicalOffset % fileBytes;
    const checkedSize = checkedRecordSize(file.bytes, file.view, position, fileBytes, physicalOffset, physicalOffset < context.verifyCrcBelow);
    if (checkedSize !== size) {
      scanned.corruptSkipped += 1;
      reportDamage(context, queue, queueOffsets[index]!, physicalOffset, checkedSize < 0 ? "no valid record there" : `the record there is ${checkedSize} bytes, the entry says ${size}`);
      continue;
    }
    if (!recordBelongsTo(file.bytes, file.view, position, queue, topic, queueOffsets[index]!)) {
      scanned.corruptSkipped += 1;
      reportDamage(context, queue, queueOffsets[index]!, physicalOffset, "the record there belongs to another topic, queue or queue offset");
      continue;
    }
    buffer.set(file.bytes.subarray(position, position + size), written);
    messages.push({ queueOffset: queueOffsets[index]!, physicalOffset, position: written, size, tagHash: hashes[index]! });
    written += size;
  }
  return written;
}

function emptyResult(status: GetStatus, minOffset: QueueOffset, maxOffset: QueueOffset, nextOffset: QueueOffset): GetMessagesResult {
  return { status, minOffset, maxOffset, nextOffset, buffer: empty, messages: [], corruptSkipped: 0 };
}
