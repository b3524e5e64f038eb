/**
 * A store for unit tests: the tiny profile (small files, so rolls happen within a few messages)
 * in a fresh temp dir, silent, on a ManualClock so none of its timers fire by themselves.
 */

import { join } from "node:path";
import { ManualClock } from "../../src/common/clock.ts";
import { silentLogger } from "../../src/common/logger.ts";
import { decodeRecord } from "../../src/common/message-record.ts";
import { queueOffset } from "../../src/common/offsets.ts";
import type { MessageStore } from "../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../src/store/store-options.ts";
import { makeTempDir } from "./temp-dir.ts";

const decoder = new TextDecoder();

export function tinyStoreOptions(overrides: Partial<MessageStoreOptions> = {}): MessageStoreOptions {
  return { dataDir: join(makeTempDir(), "data"), ...tinyStoreProfile, logger: silentLogger, clock: new ManualClock(), diskUsage: () => 0, ...overrides };
}

/** The bodies, as text, of every message a queue serves from offset 0 (up to 1,000). */
export function queueBodies(store: MessageStore, topic: string, queueId: number): string[] {
  const read = store.getMessages({ topic, queueId, offset: queueOffset(0), maxCount: 1000 });
  return read.messages.map((message) => decoder.decode(decodeRecord(read.buffer.subarray(message.position, message.position + message.size)).body));
}
