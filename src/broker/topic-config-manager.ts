/**
 * The broker's topic table: queue counts, permission and order flag of every topic, persisted
 * to `<dataDir>/config/topics.json` (written atomically: a crash leaves the old or the new
 * table, never a mix).
 *
 *   { "version": 1, "dataVersion": 7, "topics": [{ topic, readQueues, writeQueues, perm, order, dedupWindowMs? }],
 *     "deleted": ["OldTopic", ...] }
 *
 * Perm bits as RocketMQ: read 4, write 2, inherit 1. Sends need write, pulls need read. With
 * `autoCreateTopics` a send to an unknown topic creates it with `defaultTopicQueues` queues
 * (RocketMQ's sandbox behaviour); otherwise it is TOPIC_NOT_FOUND. At most `topicsMax` topics
 * exist at once; one more is TOPIC_LIMIT_REACHED, whether created or auto-created.
 *
 * The table is the truth about which topics exist. `deleted` remembers deleted names (bounded,
 * dropped when the name is created again) so that the broker can tell, at start, a topic whose
 * settings were lost (a crash before the table was written: adopted from the store) from one
 * that was deleted (its replayed queues are dropped, never adopted).
 *
 * Invariant: the in-memory table is the truth; every change bumps `dataVersion`, marks the file
 * stale and tells the change listeners (the NameServer registrar re-registers). Writes are
 * coalesced: at most one write runs and at most one more is pending, and a pending write takes
 * the table as it is when it starts, so a burst of auto-creates costs two writes, not one each.
 */

import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { dedupWindowMsMax, deletedTopicNamesMax, topicNamePattern } from "../common/limits.ts";
import { readJsonFileIfExists, writeFileAtomic } from "../store/atomic-file.ts";

export const Perm = { read: 4, write: 2, inherit: 1 } as const;
export const permDefault = Perm.read | Perm.write;

export interface TopicConfig {
  readonly topic: string;
  readonly readQueues: number;
  readonly writeQueues: number;
  readonly perm: number;
  readonly order: boolean;
  /** The topic's own dedup window (dedup-service.ts), 0: none even when the broker has one; absent: the broker's. */
  readonly dedupWindowMs?: number;
}

export function permText(perm: number): string {
  return `${perm & Perm.read ? "R" : "-"}${perm & Perm.write ? "W" : "-"}${perm & Perm.inherit ? "X" : "-"} (${perm})`;
}

export interface TopicConfigManagerOptions {
  readonly dataDir: string;
  readonly autoCreateTopics: boolean;
  readonly defaultTopicQueues: number;
  /** Topics that may exist at once (`topicsMax`). */
  readonly topicsMax: number;
  readonly logger: Logger;
}

export class TopicConfigManager {
  readonly path: string;
  private readonly topics = new Map<string, TopicConfig>();
  private dataVersionValue = 0;
  private readonly changeListeners = new Set<() => void>();
  /** Deleted names, oldest first (a Map keeps insertion order). */
  private readonly deletedNames = new Map<string, true>();
  private writing: Promise<void> | undefined;
  private stale = false;
  private writesStartedValue = 0;

  constructor(private readonly options: TopicConfigManagerOptions) {
    this.path = join(options.dataDir, "config", "topics.json");
    this.load();
  }

  /** Bumped on every change, so a NameServer can skip an unchanged table. */
  get dataVersion(): number {
    return this.dataVersionValue;
  }

  /** Table writes started so far: what coalescing saves is visible to tests and metrics. */
  get writesStarted(): number {
    return this.writesStartedValue;
  }

  /** True when `topic` was deleted and not created again since. */
  wasDeleted(topic: string): boolean {
    return this.deletedNames.has(topic);
  }

  get(topic: string): TopicConfig | undefined {
    return this.topics.get(topic);
  }

  list(): TopicConfig[] {
    return [...this.topics.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  }

  /** The topic a send may write to: existing, or created now when auto-creation is on. */
  forWrite(topic: string): TopicConfig {
    let config = this.topics.get(topic);
    if (config === undefined) {
      if (!this.options.autoCreateTopics) throw new MqError("TOPIC_NOT_FOUND", { topic });
      const queues = this.options.defaultTopicQueues;
      config = this.put({ topic, readQueues: queues, writeQueues: queues, perm: permDefault, order: false });
      this.options.logger.info(`Created topic "${topic}" on first send: ${queues} queues`);
    }
    if ((config.perm & Perm.write) === 0) throw new MqError("TOPIC_NOT_WRITABLE", { topic, perm: permText(config.perm) });
    return config;
  }

  /** The topic a pull may read from; never auto-created. */
  forRead(topic: string): TopicConfig {
    const config = this.require(topic);
    if ((config.perm & Perm.read) === 0) throw new MqError("TOPIC_NOT_READABLE", { topic, perm: permText(config.perm) });
    return config;
  }

  require(topic: string): TopicConfig {
    const config = this.topics.get(topic);
    if (config === undefined) throw new MqError("TOPIC_NOT_FOUND", { topic });
    return config;
  }

  create(config: TopicConfig): TopicConfig {
    if (this.topics.has(config.topic)) throw new MqError("TOPIC_EXISTS", { topic: config.topic });
    return this.put(config);
  }

  /** Creates or replaces a topic's settings (RocketMQ's updateAndCreateTopic). */
  upsert(config: TopicConfig): TopicConfig {
    return this.put(config);
  }

  /** A topic found in the store without settings; never refused by the cap: its messages exist already. */
  adopt(config: TopicConfig): TopicConfig {
    return this.put(config, false);
  }

  delete(topic: string): TopicConfig {
    const config = this.require(topic);
    this.topics.delete(topic);
    this.deletedNames.delete(topic);
    this.deletedNames.set(topic, true);
    if (this.deletedNames.size > deletedTopicNamesMax) this.deletedNames.delete(this.deletedNames.keys().next().value!);
    this.changed();
    return config;
  }

  /** Runs `listener` after every change (create, update, delete, auto-create); returns its remover. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Resolves once every change made so far is on disk (or its write failed and was logged). */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private put(config: TopicConfig, capped = true): TopicConfig {
    if (capped && !this.topics.has(config.topic) && this.topics.size >= this.options.topicsMax) {
      throw new MqError("TOPIC_LIMIT_REACHED", { topic: config.topic, topics: this.topics.size, limit: this.options.topicsMax });
    }
    this.deletedNames.delete(config.topic);
    const stored: TopicConfig = { topic: config.topic, readQueues: config.readQueues, writeQueues: config.writeQueues, perm: config.perm, order: config.order, ...(config.dedupWindowMs === undefined ? {} : { dedupWindowMs: config.dedupWindowMs }) };
    this.topics.set(stored.topic, stored);
    this.changed();
    return stored;
  }

  private changed(): void {
    this.dataVersionValue += 1;
    this.stale = true;
    this.writing ??= this.writeWhileStale();
    for (const listener of this.changeListeners) {
      try {
        listener();
      } catch (error) {
        // A listener's bug must not fail the change the client asked for: the table already holds it.
        this.options.logger.error(`Topic change listener threw: ${(error as Error).message}`);
      }
    }
  }

  /** Writes the table until a write starts with nothing changed after it; one loop runs at a time. */
  private async writeWhileStale(): Promise<void> {
    try {
      // Changes made in the same turn (a burst of auto-creates) join the first write.
      await Promise.resolve();
      while (this.stale) {
        this.stale = false;
        this.writesStartedValue += 1;
        try {
          await writeFileAtomic(this.path, this.serialize());
        } catch (error) {
          this.options.logger.error(`Cannot write topic table "${this.path}": ${(error as Error).message}`);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private serialize(): string {
    return JSON.stringify({ version: 1, dataVersion: this.dataVersionValue, topics: this.list(), deleted: [...this.deletedNames.keys()] }, null, 1);
  }

  private load(): void {
    const parsed = readJsonFileIfExists(this.path, `topic table "${this.path}"`);
    if (parsed === undefined) return;
    const table = parsed as { dataVersion?: unknown; topics?: unknown };
    if (!Array.isArray(table.topics)) throw new MqError("STORE_CORRUPT", { what: `topic table "${this.path}"`, reason: "has no topics array" });
    for (const entry of table.topics as Partial<TopicConfig>[]) {
      const valid =
        typeof entry.topic === "string" && topicNamePattern.test(entry.topic) &&
        isCount(entry.readQueues) && isCount(entry.writeQueues) &&
        Number.isInteger(entry.perm) && entry.perm! >= 0 && entry.perm! <= 7;
      if (!valid) {
        this.options.logger.warn(`Skipping an invalid entry of "${this.path}": ${JSON.stringify(entry)}`);
        continue;
      }
      const dedupWindowMs = Number.isSafeInteger(entry.dedupWindowMs) && entry.dedupWindowMs! >= 0 && entry.dedupWindowMs! <= dedupWindowMsMax ? entry.dedupWindowMs : undefined;
      this.topics.set(entry.topic!, { topic: entry.topic!, readQueues: entry.readQueues!, writeQueues: entry.writeQueues!, perm: entry.perm!, order: entry.order === true, ...(dedupWindowMs === undefined ? {} : { dedupWindowMs }) });
    }
    if (this.topics.size > this.options.topicsMax) {
      this.options.logger.warn(`Topic table "${this.path}" holds ${this.topics.size} topics, over the limit of ${this.options.topicsMax}: no topic can be created until some are deleted`);
    }
    const deleted = (parsed as { deleted?: unknown }).deleted;
    if (Array.isArray(deleted)) {
      for (const name of deleted) if (typeof name === "string" && topicNamePattern.test(name) && !this.topics.has(name)) this.deletedNames.set(name, true);
    }
    this.dataVersionValue = typeof table.dataVersion === "number" && Number.isInteger(table.dataVersion) ? table.dataVersion : 0;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 1024;
}
