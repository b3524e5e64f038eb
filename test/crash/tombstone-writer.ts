/**
 * Child process of topic-tombstone-kill.test.ts: in the data dir given as argv[2], stores messages
 * on "Gone" and "Kept", deletes "Gone", re-creates it with new messages, prints "ready" and keeps
 * appending to "Kept" until it is killed. No checkpoint is written meanwhile (a one-hour flush
 * interval), so the next open replays every record, the deleted topic's included.
 *
 *   usage: bun tombstone-writer.ts <dataDir>
 */

import { silentLogger } from "../../src/common/logger.ts";
import { MessageStore } from "../../src/store/message-store.ts";
import { tinyStoreProfile, type MessageStoreOptions } from "../../src/store/store-options.ts";

const lifetimeMsMax = 30_000;
const encoder = new TextEncoder();

export function tombstoneStoreOptions(dataDir: string): MessageStoreOptions {
  return { dataDir, ...tinyStoreProfile, flush: "sync", flushIntervalMs: 3_600_000, logger: silentLogger, diskUsage: () => 0 };
}

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (dataDir === undefined) throw new Error("usage: tombstone-writer.ts <dataDir>");
  setTimeout(() => process.exit(3), lifetimeMsMax);
  const store = await MessageStore.open(tombstoneStoreOptions(dataDir));
  const put = async (topic: string, text: string): Promise<void> => {
    const result = await store.put({ topic, queueId: 0, body: encoder.encode(text), keys: [text] });
    if (result.status !== "ok") throw new Error(`put of ${text} failed: ${JSON.stringify(result)}`);
  };
  for (let index = 0; index < 20; index++) await put("Gone", `old${index}`);
  for (let index = 0; index < 5; index++) await put("Kept", `kept${index}`);
  store.deleteTopic("Gone");
  for (let index = 0; index < 3; index++) await put("Gone", `new${index}`);
  process.stdout.write("ready\n");
  for (let index = 5; ; index++) await put("Kept", `kept${index}`);
}

if (import.meta.main) await main();
