/**
 * Child process of store-kill.test.ts: opens a store under sync flush in the data dir given as
 * argv[2] and appends until it is killed, from several concurrent appenders. Each message is
 * derived from its sequence number (see `crashMessage`), so the parent can check content
 * without being told it. One line per acknowledged put goes to stdout, written only after the
 * put resolved (that is, after its bytes were msync'ed):
 *
 *   <seq> <queueId> <queueOffset> <physicalOffset>
 *
 *   usage: bun store-writer.ts <dataDir> <firstSeq> [appenders]
 *
 * It exits by itself after `lifetimeMsMax` so a parent that died cannot leave it running.
 */

import { silentLogger } from "../../src/common/logger.ts";
import { MessageStore } from "../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../src/store/store-options.ts";

export const crashTopic = "CrashTopic";
export const crashQueues = 4;
const lifetimeMsMax = 30_000;

/** Store options shared by the writer and the verifying parent. */
export function crashStoreOptions(dataDir: string): MessageStoreOptions {
  return {
    dataDir,
    ...tinyStoreProfile,
    // Index files still roll every few hundred messages, but a lookup (which walks every file)
    // stays cheap enough to check each of tens of thousands of acknowledged messages.
    indexSlotsPerFile: 256,
    indexEntriesPerFile: 1024,
    flush: "sync",
    logger: silentLogger,
    // The real disk's fill level must not trigger retention or refuse appends mid-test.
    diskUsage: () => 0,
  };
}

/** mulberry32 step: a deterministic 32-bit hash of `seed`. */
function mix(seed: number): number {
  let t = (seed + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export interface CrashMessage {
  queueId: number;
  key: string;
  msgId: string;
  body: Uint8Array;
}

/** The message with sequence number `seq`: a size of 1..6000 bytes, skewed small, and seq-specific bytes. */
export function crashMessage(seq: number): CrashMessage {
  const h = mix(seq);
  const size = h % 8 === 0 ? 1 + (h % 6000) : 1 + (h % 700);
  const body = new Uint8Array(size);
  let state = h;
  for (let index = 0; index < size; index++) {
    state = mix(state ^ index);
    body[index] = state & 0xff;
  }
  return { queueId: seq % crashQueues, key: `k${seq}`, msgId: `C0FFEE${seq.toString(16).toUpperCase().padStart(12, "0")}`, body };
}

async function main(): Promise<void> {
  const [dataDir, firstSeqText, appendersText] = process.argv.slice(2);
  if (dataDir === undefined || firstSeqText === undefined) throw new Error("usage: store-writer.ts <dataDir> <firstSeq> [appenders]");
  setTimeout(() => process.exit(3), lifetimeMsMax);
  const store = await MessageStore.open(crashStoreOptions(dataDir));
  process.stderr.write(`opened: recovered to ${store.recovery.end}\n`);
  let nextSeq = Number(firstSeqText);
  const appenders = Number(appendersText ?? 8);
  const appender = async (): Promise<void> => {
    for (;;) {
      const seq = nextSeq++;
      const message = crashMessage(seq);
      const result = await store.put({ topic: crashTopic, queueId: message.queueId, body: message.body, keys: [message.key], msgId: message.msgId, tags: "crash" });
      if (result.status !== "ok") {
        process.stderr.write(`put of seq ${seq} failed: ${JSON.stringify(result)}\n`);
        process.exit(2);
      }
      process.stdout.write(`${seq} ${message.queueId} ${result.queueOffset} ${result.physicalOffset}\n`);
    }
  };
  await Promise.all(Array.from({ length: appenders }, appender));
}

if (import.meta.main) await main();
