/**
 * Offsets of a broadcasting consumer, in a local JSON file (RocketMQ's LocalFileOffsetStore):
 * `<dir>/<group>/<instance>.json` = `{ "version": 1, "offsets": { "<queueKey>": offset } }`.
 * Written whole to a temporary file, fsynced and renamed over the old one, so a crash leaves
 * either the old or the new file, never a torn one. Node's fs only: the SDK runs on Node too.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { MqError } from "../common/errors.ts";
import { queueOffset as toQueueOffset, type QueueOffset } from "../common/offsets.ts";
import { type MessageQueue, queueKey } from "./message-queue.ts";
import type { OffsetCommit, OffsetStore } from "./offset-store.ts";

export const offsetStoreDirDefault = join(homedir(), ".mq", "offsets");

export class LocalOffsetStore implements OffsetStore {
  readonly path: string;
  private readonly offsets = new Map<string, QueueOffset>();
  /** Writes run one after another, each writing the whole map. */
  private writing: Promise<void> = Promise.resolve();

  constructor(options: { dir: string; group: string; instance: string }) {
    const safe = (name: string) => name.replace(/[^A-Za-z0-9_.@%|-]/g, "_");
    this.path = join(options.dir, safe(options.group), `${safe(options.instance)}.json`);
    this.load();
  }

  async read(queue: MessageQueue): Promise<QueueOffset | -1> {
    return this.offsets.get(queueKey(queue)) ?? -1;
  }

  commit(commits: readonly OffsetCommit[]): Promise<void> {
    for (const { queue, offset } of commits) this.offsets.set(queueKey(queue), offset);
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new MqError("STORE_IO", { operation: "read offsets from", path: this.path, reason: (error as Error).message });
    }
    try {
      const parsed = JSON.parse(text) as { offsets?: Record<string, unknown> };
      for (const [key, value] of Object.entries(parsed.offsets ?? {})) {
        if (Number.isSafeInteger(value) && (value as number) >= 0) this.offsets.set(key, toQueueOffset(value as number));
      }
    } catch (error) {
      throw new MqError("STORE_CORRUPT", { what: `offsets file "${this.path}"`, reason: (error as Error).message });
    }
  }

  private write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.tmp`;
    const text = JSON.stringify({ version: 1, offsets: Object.fromEntries(this.offsets) });
    const fd = openSync(temporary, "w");
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
  }
}
