/**
 * Reads a run of messages from one consume queue: entries give CommitLog positions, each record
 * is verified (CRC) and copied into one buffer, so nothing handed out aliases a mapping and a
 * corrupt record is never served. The buffer holds the records as stored: the broker sends it
 * to clients as is, never re-encoded.
 */

import * as limits from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { checkRecord } from "../common/message-record.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueue } from "./consume-queue.ts";

export interface GetMessagesRequest {
  topic: string;
  queueId: number;
  offset: number;
  maxCount: number;
  maxBytes?: number;
  /** Tag hashes to accept; undefined accepts all. */
  tagHashes?: ReadonlySet<number>;
  /** A further filter on the entry (SQL filters read the record); false skips it. */
  accept?: (record: Uint8Array) => boolean;
}

export type GetStatus =
  | "found"
  | "no_matched_message"
  | "offset_overflow_one"
  | "offset_overflow_badly"
  | "offset_too_small"
  | "no_matched_queue";

export interface ReadMessage {
  queueOffset: number;
  physicalOffset: number;
  /** Where the record starts in `buffer`. */
  position: number;
  size: number;
  tagHash: number;
}

export interface GetMessagesResult {
  status: GetStatus;
  minOffset: number;
  maxOffset: number;
  /** Where the next read should start. */
  nextOffset: number;
  buffer: Uint8Array;
  messages: ReadMessage[];
  corruptSkipped: number;
}

const empty = new Uint8Array(0);

export function readMessages(commitLog: CommitLog, queue: ConsumeQueue | undefined, request: GetMessagesRequest, logger: Logger): GetMessagesResult {
  if (queue === undefined) {
    return { status: "no_matched_queue", minOffset: 0, maxOffset: 0, nextOffset: 0, buffer: empty, messages: [], corruptSkipped: 0 };
  }
  const { minOffset, maxOffset } = queue;
  const result = (status: GetStatus, nextOffset: number): GetMessagesResult => ({ status, minOffset, maxOffset, nextOffset, buffer: empty, messages: [], corruptSkipped: 0 });
  if (request.offset < minOffset) return result("offset_too_small", minOffset);
  if (request.offset === maxOffset) return result("offset_overflow_one", maxOffset);
  if (request.offset > maxOffset) return result("offset_overflow_badly", maxOffset);

  const maxCount = Math.max(1, Math.min(request.maxCount, limits.pullMessagesMax));
  const maxBytes = Math.min(request.maxBytes ?? limits.pullBytesMax, limits.pullBytesMax);
  const picked: { queueOffset: number; physicalOffset: number; size: number; tagHash: number }[] = [];
  let bytes = 0;
  // Bound the entries examined per call so a sparse filter cannot stall the event loop.
  const scanLimit = request.offset + Math.max(maxCount * 16, 4096);
  const commitLogMin = commitLog.minOffset;
  const nextOffset = queue.scan(request.offset, (queueOffset, physicalOffset, size, hash) => {
    if (queueOffset >= scanLimit || picked.length >= maxCount) return false;
    if (physicalOffset < commitLogMin) return true; // removed by retention
    if (request.tagHashes !== undefined && !request.tagHashes.has(hash)) return true;
    if (bytes + size > maxBytes && picked.length > 0) return false;
    picked.push({ queueOffset, physicalOffset, size, tagHash: hash });
    bytes += size;
    return true;
  });

  const buffer = new Uint8Array(bytes);
  const messages: ReadMessage[] = [];
  let position = 0;
  let corruptSkipped = 0;
  for (const entry of picked) {
    const located = commitLog.locate(entry.physicalOffset);
    if (located === undefined) continue;
    const { file, position: local } = located;
    const check = checkRecord(file.bytes, file.view, local, commitLog.fileBytes, entry.physicalOffset);
    if (check.kind !== "record" || check.totalSize !== entry.size) {
      corruptSkipped += 1;
      logger.error(`Skipping corrupt record of "${queue.topic}" queue ${queue.queueId} at queue offset ${entry.queueOffset} (CommitLog offset ${entry.physicalOffset})`);
      continue;
    }
    buffer.set(file.bytes.subarray(local, local + entry.size), position);
    if (request.accept !== undefined && !request.accept(buffer.subarray(position, position + entry.size))) continue;
    messages.push({ ...entry, position });
    position += entry.size;
  }
  return {
    status: messages.length > 0 ? "found" : "no_matched_message",
    minOffset,
    maxOffset,
    nextOffset,
    buffer: position === buffer.length ? buffer : buffer.subarray(0, position),
    messages,
    corruptSkipped,
  };
}
