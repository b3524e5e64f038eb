/**
 * The recovery walk over the CommitLog: visits every valid record from a record boundary, in
 * steps of a byte budget so a caller can yield to the event loop between them.
 *
 * Damage is not the end of the log. At a record that fails its checks (length, magic, field
 * lengths, CRC, physical offset) the walk resynchronises: it scans forward in the same file for
 * the next position holding a valid record whose physical-offset field equals that position, and
 * goes on from there; the bytes in between are reported as dropped. Only when no valid record
 * follows is the damage a torn tail, and the log ends there. A zeroed header ("empty") below
 * `durableEnd` (the checkpoint's flushed offset: every byte below it reached the disk) is damage
 * too; at or past it, it is where the writer stopped.
 *
 * A file whose tail is damaged (its end-of-file marker included) is left for the next file when
 * that one starts with a valid record, so one bad page never costs the files after it.
 */

import { checkRecord, recordMagic } from "../common/message-record.ts";
import { physicalOffset, type PhysicalOffset } from "../common/offsets.ts";
import type { CommitLog } from "./commit-log.ts";
import type { MappedFile } from "./mapped-file.ts";

export interface DroppedRange {
  /** CommitLog offset where the damage starts. */
  offset: number;
  bytes: number;
  reason: string;
}

export type RecordVisitor = (physicalOffset: PhysicalOffset, file: MappedFile, position: number, size: number) => void;

/** The first byte of the record magic ("MQ1R"): a resync looks only where it appears. */
const magicFirstByte = recordMagic >>> 24;
/** The magic sits 8 bytes into a record. */
const magicAt = 8;

export class CommitLogWalk {
  /** Where the walk stands; once done, the end of the log. */
  position: number;
  done = false;
  readonly dropped: DroppedRange[] = [];
  /** Why the log ends where it does, when that is damage with nothing valid after it. */
  tornReason: string | undefined;
  private index: number;

  constructor(
    private readonly commitLog: CommitLog,
    from: number,
    private readonly durableEnd: number,
    private readonly onRecord: RecordVisitor,
    /** False for a walk over records recovery has verified already (a scan at start): their CRC is not computed again. */
    private readonly verifyCrc = true,
  ) {
    this.index = commitLog.fileIndexOf(from);
    this.position = from;
    if (this.index < 0) {
      // `from` is past the last file (it ended exactly at a file boundary) or the log is empty.
      this.index = commitLog.fileCount;
      const last = commitLog.fileAt(commitLog.fileCount - 1);
      this.position = last === undefined ? from : Math.max(from, last.base + commitLog.fileBytes);
      this.done = true;
    }
  }

  get droppedBytes(): number {
    return this.dropped.reduce((sum, range) => sum + range.bytes, 0);
  }

  /** Walks about `budgetBytes` further; returns true once the end of the log is found. */
  step(budgetBytes: number): boolean {
    const stop = this.position + budgetBytes;
    const fileBytes = this.commitLog.fileBytes;
    while (!this.done && this.position < stop) {
      const { file, base } = this.commitLog.fileAt(this.index)!;
      const local = this.position - base;
      const check = checkRecord(file.bytes, file.view, local, fileBytes, this.position, this.verifyCrc);
      if (check.kind === "record") {
        this.onRecord(physicalOffset(this.position), file, local, check.totalSize);
        this.position += check.totalSize;
        continue;
      }
      if (check.kind === "end_of_file") {
        this.nextFileOrEnd(base + fileBytes);
        continue;
      }
      if (check.kind === "empty" && this.position >= this.durableEnd) {
        this.done = true; // where the writer stopped
        continue;
      }
      const reason = check.kind === "empty" ? "zeroed bytes below the durable offset" : check.reason;
      const next = findNextRecord(file, local + 1, fileBytes, base);
      if (next !== undefined) {
        this.dropped.push({ offset: this.position, bytes: next - local, reason });
        this.position = base + next;
        continue;
      }
      const following = this.commitLog.fileAt(this.index + 1);
      if (following !== undefined && checkRecord(following.file.bytes, following.file.view, 0, fileBytes, following.base).kind === "record") {
        this.dropped.push({ offset: this.position, bytes: fileBytes - local, reason: `${reason}, up to the end of the file` });
        this.nextFileOrEnd(following.base);
        continue;
      }
      this.tornReason = reason;
      this.done = true; // a torn tail: nothing valid follows
    }
    return this.done;
  }

  private nextFileOrEnd(nextBase: number): void {
    if (this.commitLog.fileAt(this.index + 1) !== undefined) {
      this.index += 1;
      this.position = nextBase;
      return;
    }
    this.position = nextBase;
    this.done = true;
  }
}

/** The first position at or after `from` in `file` holding a valid record, if any. */
function findNextRecord(file: MappedFile, from: number, fileBytes: number, base: number): number | undefined {
  const bytes = file.bytes;
  let search = from + magicAt;
  for (;;) {
    const found = bytes.indexOf(magicFirstByte, search);
    if (found < 0 || found + 4 > fileBytes) return undefined;
    const candidate = found - magicAt;
    search = found + 1;
    if (file.view.getUint32(found) !== recordMagic) continue;
    if (checkRecord(bytes, file.view, candidate, fileBytes, base + candidate).kind === "record") return candidate;
  }
}
