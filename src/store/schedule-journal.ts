/**
 * The scheduler's journal: one append-only file of ADD and DONE records, the durable truth of
 * which jobs are open. A job is open from its ADD until a DONE with the same (id, dueMs).
 *
 * Layout: an 8-byte file header, "MQSJ" + u32 version (1), then records (their format:
 * schedule-journal-records.ts).
 *
 * Records are written whole, in the order they were appended, by one write() each (or one for
 * a DONE+ADD pair, so a reschedule is never half done; or one for a batch, or for the records
 * appended "soon" during an event-loop turn, which wait for its end unless something writes,
 * reads or syncs first), so a kill -9 keeps everything written; the file is fdatasync'ed on the
 * scheduler's interval and on close, so a power loss keeps a prefix. Opening scans the file
 * and cuts it after the last whole, CRC-valid record: a torn tail is dropped and logged.
 * Compaction (`rewrite`) writes the open records to a temporary file, fsyncs it and renames
 * it over the journal, so a crash leaves the old journal or the new one, never a mix.
 */

import { closeSync, existsSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import { MqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { type Chunk, chunkOf, decodeRecord, decodeRecordKey, type JournalRecord, newRecordKey, type RecordKey, recordBytesMax, recordHeaderBytes } from "./schedule-journal-records.ts";

export { type AddExtras, encodeAdd, encodeDone, type JournalRecord, type RecordKey } from "./schedule-journal-records.ts";

const fileMagic = 0x4a53514d; // "MQSJ" read as a little-endian u32
const fileVersion = 1;
export const journalHeaderBytes = 8;
const scanChunkBytes = 1024 * 1024;
/** Bytes read past the last record a span starts (most records are far smaller). */
const recordGuessBytes = 1024;
/**
 * Records further apart than this are read by reads of their own: reading the gap costs more
 * than a read. Jobs due together are often far apart in the journal (a hot second's jobs were
 * written among everything else), and reading all that lies between them read the journal whole
 * for every refill.
 */
const spanGapBytesMax = 16 * 1024;

/** Where a record is in the file. */
export interface RecordRef {
  readonly position: number;
  readonly length: number;
}

export class ScheduleJournal {
  private fd: number;
  private end: number;
  /** Records in the file (ADD and DONE), for the compaction rule. */
  records = 0;
  private unsynced = false;
  private batchDepth = 0;
  private batched: Uint8Array[] = [];
  private writeQueued = false;
  private closed = false;
  /** The buffer readRecordsAt reads spans into, kept between refills. */
  private spanBuffer: Uint8Array | undefined;
  private batchedCount = 0;
  private batchedBytes = 0;

  private constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const fresh = !existsSync(path);
    this.fd = openSync(path, fresh ? "w+" : "r+");
    if (fresh || fstatSync(this.fd).size === 0) {
      writeSync(this.fd, fileHeader(), 0, journalHeaderBytes, 0);
      fsyncSync(this.fd);
    }
    this.end = journalHeaderBytes;
  }

  /**
   * Opens (or creates) the journal and replays it: `visit` sees every valid record's key in order
   * (no string or object per record: a million-job journal opens in a fraction of a second).
   * A torn or damaged tail is cut off; a file that is not a journal is refused (STORE_CORRUPT).
   */
  static open(path: string, logger: Logger, visit: (key: RecordKey) => void): ScheduleJournal {
    const journal = new ScheduleJournal(path, logger);
    const size = fstatSync(journal.fd).size;
    const header = new Uint8Array(journalHeaderBytes);
    readSync(journal.fd, header, 0, journalHeaderBytes, 0);
    const view = new DataView(header.buffer);
    if (view.getUint32(0, true) !== fileMagic || view.getUint32(4, true) !== fileVersion) {
      closeSync(journal.fd);
      throw new MqError("STORE_CORRUPT", { what: `schedule journal "${path}"`, reason: `it does not start with the journal header (MQSJ, version ${fileVersion})` });
    }
    const validEnd = journal.scanKeys(visit);
    if (validEnd < size) {
      logger.warn(`Schedule journal "${path}": cut ${size - validEnd} bytes after offset ${validEnd} (a torn or damaged tail)`);
      ftruncateSync(journal.fd, validEnd);
      fsyncSync(journal.fd);
    }
    journal.end = validEnd;
    return journal;
  }

  get bytes(): number {
    return this.end;
  }

  /**
   * Appends whole records with one write (or, inside a batch, with the batch's one write; with
   * records held by `appendSoon`, in the same write as them). Returns where the first of them
   * starts (inside a batch: where it will, the batch's parts being written in order).
   */
  append(records: Uint8Array, count: number): number {
    const position = this.hold(records, count);
    if (this.batchDepth > 0) return position;
    try {
      this.writeBatched();
    } catch (error) {
      // Not written: this caller is told so, and the records held before it stay held.
      this.batched.pop();
      this.batchedCount -= count;
      this.batchedBytes -= records.length;
      throw error;
    }
    return position;
  }

  /**
   * Appends records that need not be on disk when this returns: they are written with the next
   * write, before anything reads the journal or syncs it, and at the latest in a write of their
   * own once the current event-loop turn's work is done (so the records of many sends served in
   * one turn cost one write). A record held here and lost to a kill -9 was never synced: the
   * caller must be able to derive it again (the schedule dispatcher's replay does).
   */
  appendSoon(records: Uint8Array, count: number): number {
    const position = this.hold(records, count);
    if (this.batchDepth === 0 && !this.writeQueued) {
      this.writeQueued = true;
      setImmediate(() => {
        this.writeQueued = false;
        if (this.batchDepth > 0 || this.closed) return;
        try {
          this.writeBatched();
        } catch (error) {
          // Still held: the next write or sync tries again, and a sync fails until one succeeds.
          this.logger.error(`Schedule journal "${this.path}": ${(error as Error).message}`);
        }
      });
    }
    return position;
  }

  private hold(records: Uint8Array, count: number): number {
    const position = this.end + this.batchedBytes;
    this.batched.push(records);
    this.batchedCount += count;
    this.batchedBytes += records.length;
    return position;
  }

  /** Appends made until the matching `endBatch` go out as one write, before it returns. */
  beginBatch(): void {
    this.batchDepth += 1;
  }

  endBatch(): void {
    this.batchDepth -= 1;
    if (this.batchDepth === 0) this.writeBatched();
  }

  /** Writes what is held so far (an open batch's records, records appended soon), in one write; kept when the write fails. */
  writeBatched(): void {
    if (this.batched.length === 0) return;
    const parts = this.batched;
    let bytes = parts[0]!;
    if (parts.length > 1) {
      bytes = new Uint8Array(new ArrayBuffer(this.batchedBytes));
      let offset = 0;
      for (const part of parts) {
        bytes.set(part, offset);
        offset += part.length;
      }
    }
    this.write(bytes, this.batchedCount);
    this.batched = [];
    this.batchedCount = 0;
    this.batchedBytes = 0;
  }

  private write(records: Uint8Array, count: number): void {
    const written = writeSync(this.fd, records, 0, records.length, this.end);
    if (written !== records.length) throw new MqError("STORE_IO", { operation: "append to", path: this.path, reason: `wrote ${written} of ${records.length} bytes` });
    this.end += records.length;
    this.records += count;
    this.unsynced = true;
  }

  /** Reads every valid record from the start; returns the offset after the last one. */
  scan(visit: (record: JournalRecord) => void, options: { readonly payloads: boolean } = { payloads: true }): number {
    return this.scanWith((chunk, offset, position) => {
      const record = decodeRecord(chunk, offset, position, options.payloads);
      if (record === undefined) return 0;
      visit(record);
      return record.length;
    });
  }

  /** The same, visiting each record's key only (schedule-journal-records.ts): one object reused for the whole pass. */
  scanKeys(visit: (key: RecordKey) => void): number {
    const key = newRecordKey();
    return this.scanWith((chunk, offset, position) => {
      if (!decodeRecordKey(chunk, offset, position, key)) return 0;
      visit(key);
      return key.length;
    });
  }

  /** Steps through the records from the start: `step` decodes one and answers its length (0: not a record, the pass ends). */
  private scanWith(step: (chunk: Chunk, offset: number, position: number) => number): number {
    this.writeBatched();
    let position = journalHeaderBytes;
    let records = 0;
    let chunk = chunkOf(new Uint8Array(0));
    let chunkStart = position;
    const size = fstatSync(this.fd).size;
    // One read buffer for the whole pass: records (and payload views) live only while visited.
    const buffer = new Uint8Array(new ArrayBuffer(Math.min(Math.max(scanChunkBytes, recordBytesMax), Math.max(0, size - position))));
    while (position < size) {
      const end = chunkStart + chunk.bytes.length;
      if (position + recordHeaderBytes > end || position + lengthAt(chunk.bytes, position - chunkStart) > end) {
        const want = Math.min(buffer.length, size - position);
        chunk = chunkOf(buffer.subarray(0, readSync(this.fd, buffer, 0, want, position)));
        chunkStart = position;
      }
      const length = step(chunk, position - chunkStart, position);
      if (length === 0) break;
      records += 1;
      position += length;
    }
    this.records = records;
    return position;
  }

  /** The record at `position` (found by an earlier scan), decoded. */
  readRecord(position: number, length: number): JournalRecord {
    const record = decodeRecord(chunkOf(this.read(position, length)), 0, position);
    if (record === undefined) throw new MqError("STORE_CORRUPT", { what: `schedule journal "${this.path}"`, reason: `the record at offset ${position} no longer decodes` });
    return record;
  }

  /**
   * The records starting at `positions` (ascending), decoded. Neighbours are read together, one
   * read per span of up to a chunk (plus a guess at the last one's length), so loading thousands
   * of jobs costs few syscalls; a record not whole in its span is read again on its own.
   */
  readRecordsAt(positions: readonly number[], visit: (record: JournalRecord) => void): void {
    this.writeBatched();
    this.spanBuffer ??= new Uint8Array(new ArrayBuffer(scanChunkBytes + recordGuessBytes));
    const buffer = this.spanBuffer;
    for (let first = 0; first < positions.length; ) {
      const start = positions[first]!;
      let last = first;
      while (last + 1 < positions.length && positions[last + 1]! - start < scanChunkBytes && positions[last + 1]! - positions[last]! <= spanGapBytesMax) last += 1;
      const want = Math.min(positions[last]! - start + recordGuessBytes, this.end - start);
      const chunk = chunkOf(buffer.subarray(0, readSync(this.fd, buffer, 0, want, start)));
      for (let index = first; index <= last; index++) {
        const position = positions[index]!;
        visit(decodeRecord(chunk, position - start, position) ?? this.readRecordAlone(position));
      }
      first = last + 1;
    }
  }

  private readRecordAlone(position: number): JournalRecord {
    const header = new Uint8Array(4);
    readSync(this.fd, header, 0, 4, position);
    const length = new DataView(header.buffer).getUint32(0, true);
    if (length < recordHeaderBytes || length > recordBytesMax) throw new MqError("STORE_CORRUPT", { what: `schedule journal "${this.path}"`, reason: `the record at offset ${position} has length ${length}` });
    return this.readRecord(position, length);
  }

  /** One record's bytes, as written (compaction copies them). */
  read(position: number, length: number): Uint8Array {
    this.writeBatched();
    const bytes = new Uint8Array(new ArrayBuffer(length));
    readSync(this.fd, bytes, 0, length, position);
    return bytes;
  }

  /** fdatasync when something was written since the last one. */
  sync(): void {
    this.writeBatched();
    if (!this.unsynced) return;
    this.unsynced = false;
    fdatasyncSync(this.fd);
  }

  /**
   * The same off the event loop (an fdatasync can take tens of ms on a busy disk, and the broker
   * serves nothing meanwhile). It syncs through a descriptor of its own, opened on the path now:
   * compaction may replace the file and close `fd` while this runs, and what it replaced was
   * fsynced by compaction itself.
   */
  async syncInBackground(): Promise<void> {
    this.writeBatched();
    if (!this.unsynced) return;
    this.unsynced = false;
    try {
      const handle = await open(this.path, "r");
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.unsynced = true;
      throw new MqError("STORE_IO", { operation: "sync", path: this.path, reason: (error as Error).message });
    }
  }

  /**
   * Replaces the journal with the given records (the open jobs' ADDs, in file order), atomically:
   * temporary file, fsync, rename, fsync of the directory. The journal then continues from the
   * new file.
   */
  rewrite(records: readonly RecordRef[]): void {
    this.writeBatched();
    const temporary = `${this.path}.compact`;
    const fd = openSync(temporary, "w");
    let position = 0;
    let count = 0;
    try {
      position += writeSync(fd, fileHeader(), 0, journalHeaderBytes, position);
      // Sequential copy through two fixed buffers: no read or write per record, no record kept.
      const input = new Uint8Array(Math.max(scanChunkBytes, recordBytesMax));
      const output = new Uint8Array(Math.max(scanChunkBytes, recordBytesMax));
      let inputStart = 0;
      let inputLength = 0;
      let outputLength = 0;
      for (const record of records) {
        if (record.position < inputStart || record.position + record.length > inputStart + inputLength) {
          inputStart = record.position;
          inputLength = readSync(this.fd, input, 0, input.length, inputStart);
        }
        if (outputLength + record.length > output.length) {
          position += writeSync(fd, output, 0, outputLength, position);
          outputLength = 0;
        }
        output.set(input.subarray(record.position - inputStart, record.position - inputStart + record.length), outputLength);
        outputLength += record.length;
        count += 1;
      }
      if (outputLength > 0) position += writeSync(fd, output, 0, outputLength, position);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    const dirFd = openSync(dirname(this.path), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, "r+");
    this.end = position;
    this.records = count;
    this.unsynced = false;
    this.logger.debug(`Schedule journal "${this.path}" compacted to ${count} records (${position} bytes)`);
  }

  close(): void {
    this.sync();
    this.closed = true;
    closeSync(this.fd);
  }
}

function fileHeader(): Uint8Array {
  const header = new Uint8Array(journalHeaderBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, fileMagic, true);
  view.setUint32(4, fileVersion, true);
  return header;
}

/** The length field of the record at `offset` of `chunk`, or past the chunk when it is not all there. */
function lengthAt(chunk: Uint8Array, offset: number): number {
  if (offset + 4 > chunk.length) return Number.MAX_SAFE_INTEGER;
  const length = new DataView(chunk.buffer, chunk.byteOffset + offset, 4).getUint32(0, true);
  return length < recordHeaderBytes || length > recordBytesMax ? 0 : length;
}
