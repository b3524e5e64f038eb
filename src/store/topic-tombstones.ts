/**
 * Topic tombstones: for each deleted topic, the CommitLog position at its deletion. Records of
 * that topic below it belong to a deleted incarnation: dispatch skips them (so recovery replay
 * never brings a deleted topic back, and a re-created topic never shows the old one's records)
 * and lookups by key or msgId do not return them. A tombstone is dropped once retention has
 * removed every record below it.
 *
 *   dataDir/topic-tombstones.json   {"version":1,"topics":{"<topic>":<CommitLog offset>}}
 *
 * Written atomically (temp file, fsync, rename) before the topic's consume queues are removed,
 * so a crash in between leaves queues that load() recognises as stale.
 */

import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import type { PhysicalOffset } from "../common/offsets.ts";
import { readFileIfExists, writeFileAtomicSync } from "./atomic-file.ts";
import type { DispatchRecord } from "./dispatch/dispatch-record.ts";
import type { RecordFilter } from "./dispatch/record-dispatch.ts";

const fileName = "topic-tombstones.json";
const formatVersion = 1;

export class TopicTombstones implements RecordFilter {
  readonly path: string;
  private readonly deletedAt = new Map<string, number>();

  constructor(dataDir: string) {
    this.path = join(dataDir, fileName);
    const text = readFileIfExists(this.path);
    if (text !== undefined) this.parse(text);
  }

  private parse(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new MqError("STORE_CORRUPT", { what: `"${this.path}"`, reason: (error as Error).message });
    }
    const topics = (parsed as { topics?: unknown } | null)?.topics;
    if (typeof topics !== "object" || topics === null) throw new MqError("STORE_CORRUPT", { what: `"${this.path}"`, reason: "it has no topics map" });
    for (const [topic, offset] of Object.entries(topics)) {
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) throw new MqError("STORE_CORRUPT", { what: `"${this.path}"`, reason: `topic "${topic}" has offset ${JSON.stringify(offset)}` });
      this.deletedAt.set(topic, offset);
    }
  }

  /** The CommitLog position at the topic's last deletion, or undefined if it was never deleted. */
  offsetOf(topic: string): number | undefined {
    return this.deletedAt.get(topic);
  }

  hides(record: DispatchRecord): boolean {
    return this.deletedAt.size !== 0 && this.hidesAt(record.topic, record.physicalOffset);
  }

  /** Whether the record of `topic` at `physicalOffset` belongs to a deleted incarnation. */
  hidesAt(topic: string, physicalOffset: PhysicalOffset): boolean {
    const deletedAt = this.deletedAt.get(topic);
    return deletedAt !== undefined && physicalOffset < deletedAt;
  }

  /** Records the deletion of `topic` at `offset`, durably, before anything else of it is removed. */
  record(topic: string, offset: PhysicalOffset): void {
    this.deletedAt.set(topic, Math.max(offset, this.deletedAt.get(topic) ?? 0));
    this.write();
  }

  /** Drops tombstones with no record left below them (the CommitLog now starts at `commitLogMin`). */
  prune(commitLogMin: PhysicalOffset): void {
    let changed = false;
    for (const [topic, offset] of this.deletedAt) {
      if (offset > commitLogMin) continue;
      this.deletedAt.delete(topic);
      changed = true;
    }
    if (changed) this.write();
  }

  get size(): number {
    return this.deletedAt.size;
  }

  private write(): void {
    writeFileAtomicSync(this.path, JSON.stringify({ version: formatVersion, topics: Object.fromEntries(this.deletedAt) }) + "\n");
  }
}
