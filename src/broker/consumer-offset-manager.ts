/**
 * Committed consumer offsets: per group, topic and queue, the queue offset the group will
 * consume next. Kept in memory, written to `<dataDir>/config/consumerOffsets.json` every
 * `persistIntervalMs` when something changed, and on shutdown — atomically, so a crash leaves
 * the previous complete table (at most one interval of commits is replayed: at-least-once).
 *
 *   { "version": 1, "offsets": { "<topic>@<group>": { "<queueId>": offset, ... }, ... } }
 *
 * Topic and group names cannot contain "@" (topicNamePattern), so the key splits unambiguously.
 */

import { join } from "node:path";
import type { Clock, TimerHandle } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { consumerGroupsMax } from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { queueOffset as toQueueOffset, type QueueOffset } from "../common/offsets.ts";
import { readJsonFileIfExists, writeFileAtomic } from "../store/atomic-file.ts";

export interface ConsumerOffsetManagerOptions {
  readonly dataDir: string;
  readonly persistIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Groups with offsets at most (consumerGroupsMax); past it only `isLive` groups may add one. */
  readonly groupsMax?: number;
  /** True for a group created by heartbeat (it has live members): its commits are always taken. */
  readonly isLive?: (group: string) => boolean;
  /** Called when a group commits its first offset (its configuration is then created: group-config-manager.ts). */
  readonly onGroupAdded?: (group: string) => void;
}

export interface GroupTopic {
  readonly group: string;
  readonly topic: string;
}

export class ConsumerOffsetManager {
  readonly path: string;
  /** "<topic>@<group>" → queueId → offset. */
  private readonly table = new Map<string, Map<number, QueueOffset>>();
  /** group → how many topics it has offsets for: the group count the cap applies to. */
  private readonly topicsByGroup = new Map<string, number>();
  private dirty = false;
  private timer: TimerHandle | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly options: ConsumerOffsetManagerOptions) {
    this.path = join(options.dataDir, "config", "consumerOffsets.json");
    this.load();
  }

  start(): void {
    this.timer ??= this.options.clock.setInterval(() => void this.persist(), this.options.persistIntervalMs);
  }

  /** -1 when the group never committed an offset for the queue. */
  query(group: string, topic: string, queueId: number): QueueOffset | -1 {
    return this.table.get(key(topic, group))?.get(queueId) ?? -1;
  }

  /**
   * Throws GROUP_LIMIT_REACHED when a commit by `group` would create a group past the cap. Callers
   * that hand something out before they commit (pop) ask first.
   */
  admit(group: string): void {
    if (this.topicsByGroup.has(group) || this.options.isLive?.(group) === true) return;
    const limit = this.options.groupsMax ?? consumerGroupsMax;
    if (this.topicsByGroup.size >= limit) throw new MqError("GROUP_LIMIT_REACHED", { group, groups: this.topicsByGroup.size, limit });
  }

  commit(group: string, topic: string, queueId: number, offset: QueueOffset): void {
    const entryKey = key(topic, group);
    let queues = this.table.get(entryKey);
    if (queues === undefined) {
      this.admit(group);
      const firstOfGroup = !this.topicsByGroup.has(group);
      queues = new Map();
      this.setEntry(entryKey, group, queues);
      if (firstOfGroup) this.options.onGroupAdded?.(group);
    }
    if (queues.get(queueId) === offset) return;
    queues.set(queueId, offset);
    this.dirty = true;
  }

  /** The queues (and offsets) a group committed for a topic. */
  offsetsOf(group: string, topic: string): ReadonlyMap<number, QueueOffset> {
    return this.table.get(key(topic, group)) ?? new Map();
  }

  /** Every (group, topic) pair with committed offsets. */
  entries(): GroupTopic[] {
    return [...this.table.keys()].map((entryKey) => {
      const at = entryKey.lastIndexOf("@");
      return { topic: entryKey.slice(0, at), group: entryKey.slice(at + 1) };
    });
  }

  groups(): Set<string> {
    return new Set(this.topicsByGroup.keys());
  }

  /** Forgets a deleted topic's offsets for every group; a group left with none is gone. */
  removeTopic(topic: string): void {
    for (const entry of this.entries()) {
      if (entry.topic !== topic) continue;
      this.table.delete(key(entry.topic, entry.group));
      const left = (this.topicsByGroup.get(entry.group) ?? 1) - 1;
      if (left <= 0) this.topicsByGroup.delete(entry.group);
      else this.topicsByGroup.set(entry.group, left);
    }
    this.dirty = true;
  }

  private setEntry(entryKey: string, group: string, queues: Map<number, QueueOffset>): void {
    if (!this.table.has(entryKey)) this.topicsByGroup.set(group, (this.topicsByGroup.get(group) ?? 0) + 1);
    this.table.set(entryKey, queues);
  }

  /** Writes the table if it changed since the last write; one write at a time. */
  async persist(): Promise<void> {
    if (this.writing !== undefined) return this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = writeFileAtomic(this.path, this.serialize())
      .catch((error: Error) => {
        this.dirty = true; // try again next interval
        this.options.logger.error(`Cannot write consumer offsets "${this.path}": ${error.message}`);
      })
      .finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Stops the timer and writes the table once more, after any interval write in flight. */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.writing;
    this.dirty = false;
    await writeFileAtomic(this.path, this.serialize());
  }

  private serialize(): string {
    const offsets: Record<string, Record<string, number>> = {};
    for (const [entryKey, queues] of this.table) offsets[entryKey] = Object.fromEntries([...queues].sort((a, b) => a[0] - b[0]));
    return JSON.stringify({ version: 1, offsets });
  }

  private load(): void {
    const parsed = readJsonFileIfExists(this.path, `consumer offsets "${this.path}"`) as { offsets?: unknown } | undefined;
    if (parsed === undefined) return;
    if (typeof parsed.offsets !== "object" || parsed.offsets === null) throw new MqError("STORE_CORRUPT", { what: `consumer offsets "${this.path}"`, reason: "has no offsets map" });
    for (const [entryKey, queues] of Object.entries(parsed.offsets as Record<string, unknown>)) {
      if (!/^[%|a-zA-Z0-9_-]+@[%|a-zA-Z0-9_-]+$/.test(entryKey) || typeof queues !== "object" || queues === null) continue;
      const map = new Map<number, QueueOffset>();
      for (const [queueId, offset] of Object.entries(queues as Record<string, unknown>)) {
        if (/^\d+$/.test(queueId) && typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) map.set(Number(queueId), toQueueOffset(offset));
      }
      this.setEntry(entryKey, entryKey.slice(entryKey.lastIndexOf("@") + 1), map);
    }
  }
}

function key(topic: string, group: string): string {
  return `${topic}@${group}`;
}
