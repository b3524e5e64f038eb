/**
 * The broker's consumer-group configurations (protocol/group-config.ts: maxReconsumeTimes,
 * back-off, consumeEnable, orderly), persisted to `<dataDir>/config/subscriptionGroups.json`
 * (RocketMQ's name), written atomically like the topic table: a crash leaves the old or the new
 * file, never a mix.
 *
 *   { "version": 1, "groups": [{ group, maxReconsumeTimes, backoff, consumeEnable, orderly }] }
 *
 * A group gets a configuration (the defaults) on first use — a member's heartbeat or an offset
 * commit — or when an admin sets one. At most `groupsMax` exist; one more created by use is
 * skipped (the group runs on the defaults, unstored), one more asked for by an admin is
 * GROUP_LIMIT_REACHED. A group without a stored configuration reads as the defaults.
 *
 * Invariant: the in-memory table is the truth; writes are coalesced (one running, one pending),
 * and `update` answers only once a write holding the change has finished.
 */

import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { applyGroupConfigUpdate, defaultGroupConfig, type GroupConfig, type GroupConfigUpdate, groupConfigSchema } from "../protocol/group-config.ts";
import { readJsonFileIfExists, writeFileAtomic } from "../store/atomic-file.ts";

export interface GroupConfigManagerOptions {
  readonly dataDir: string;
  readonly groupsMax: number;
  readonly logger: Logger;
}

export class GroupConfigManager {
  readonly path: string;
  private readonly configs = new Map<string, GroupConfig>();
  private writing: Promise<void> | undefined;
  private stale = false;

  constructor(private readonly options: GroupConfigManagerOptions) {
    this.path = join(options.dataDir, "config", "subscriptionGroups.json");
    this.load();
  }

  /** The group's configuration; the defaults for a group nobody configured. */
  get(group: string): GroupConfig {
    return this.configs.get(group) ?? defaultGroupConfig(group);
  }

  /** Throws GROUP_CONSUME_DISABLED when an admin turned the group's consumeEnable off (pull and pop ask first). */
  assertConsumeEnabled(group: string): void {
    if (this.configs.get(group)?.consumeEnable === false) throw new MqError("GROUP_CONSUME_DISABLED", { group });
  }

  has(group: string): boolean {
    return this.configs.has(group);
  }

  list(): GroupConfig[] {
    return [...this.configs.values()].sort((a, b) => a.group.localeCompare(b.group));
  }

  /** Stores the defaults for a group seen for the first time (heartbeat, commit); past the cap it runs on them unstored. */
  ensure(group: string): void {
    if (this.configs.has(group)) return;
    if (this.configs.size >= this.options.groupsMax) return;
    this.configs.set(group, defaultGroupConfig(group));
    this.changed();
  }

  /** Creates or changes a group's configuration; resolves with it once it is on disk. */
  async update(update: GroupConfigUpdate): Promise<GroupConfig> {
    const existing = this.configs.get(update.group);
    if (existing === undefined && this.configs.size >= this.options.groupsMax) {
      throw new MqError("GROUP_LIMIT_REACHED", { group: update.group, groups: this.configs.size, limit: this.options.groupsMax });
    }
    const config = applyGroupConfigUpdate(existing ?? defaultGroupConfig(update.group), update);
    this.configs.set(config.group, config);
    this.changed();
    await this.flush();
    return config;
  }

  /** Resolves once every change made so far is on disk (or its write failed and was logged). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private changed(): void {
    this.stale = true;
    this.writing ??= this.writeWhileStale();
  }

  private async writeWhileStale(): Promise<void> {
    try {
      await Promise.resolve();
      while (this.stale) {
        this.stale = false;
        try {
          await writeFileAtomic(this.path, JSON.stringify({ version: 1, groups: this.list() }, null, 1));
        } catch (error) {
          this.options.logger.error(`Cannot write group configurations "${this.path}": ${(error as Error).message}`);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private load(): void {
    const parsed = readJsonFileIfExists(this.path, `group configurations "${this.path}"`);
    if (parsed === undefined) return;
    const groups = (parsed as { groups?: unknown }).groups;
    if (!Array.isArray(groups)) throw new MqError("STORE_CORRUPT", { what: `group configurations "${this.path}"`, reason: "has no groups array" });
    for (const entry of groups) {
      const result = groupConfigSchema.safeParse(entry);
      if (!result.success) {
        this.options.logger.warn(`Skipping an invalid entry of "${this.path}": ${JSON.stringify(entry)}`);
        continue;
      }
      this.configs.set(result.data.group, result.data);
    }
  }
}
