/**
 * Child process of disk-full.test.ts: opens a store (sync flush, 1 MiB CommitLog files) in the
 * data dir given as argv[2] — on a small file system the parent mounted — and fills it from four
 * concurrent senders of 16 KiB bodies until each has been refused several times. Then it checks
 * that every acknowledged message reads back intact, reports on stdout, waits for the parent to
 * free space ("freed" on stdin) and sends until sends succeed again.
 *
 *   stdout:  full <json: acked, refusals, otherFailures, unreadable>
 *            resumed <attempts>
 *
 * It exits by itself after `lifetimeMsMax` so a parent that died cannot leave it running.
 */

import { silentLogger } from "../../src/common/logger.ts";
import { MiB } from "../../src/common/limits.ts";
import { decodeRecord } from "../../src/common/message-record.ts";
import { queueOffset } from "../../src/common/offsets.ts";
import { MessageStore } from "../../src/store/message-store.ts";

const lifetimeMsMax = 60_000;
const senders = 4;
const queues = 4;
const bodyBytes = 16 * 1024;
const refusalsPerSender = 5;
const resumeAttemptsMax = 2_000;

setTimeout(() => process.exit(3), lifetimeMsMax).unref();

function bodyOf(seq: number): Uint8Array {
  return new Uint8Array(bodyBytes).fill(seq & 0xff).map((value, index) => (index < 4 ? (seq >>> (index * 8)) & 0xff : value));
}

const dataDir = process.argv[2]!;
const store = await MessageStore.open({
  dataDir,
  commitLogFileBytes: 1 * MiB,
  consumeQueueEntriesPerFile: 256,
  indexSlotsPerFile: 256,
  indexEntriesPerFile: 1024,
  flush: "sync",
  logger: silentLogger,
});

const acked: { seq: number; queueId: number; queueOffset: number }[] = [];
let refusals = 0;
const otherFailures: string[] = [];
let nextSeq = 0;

async function sender(): Promise<void> {
  let refused = 0;
  while (refused < refusalsPerSender) {
    const seq = nextSeq++;
    const queueId = seq % queues;
    const result = await store.put({ topic: "Fill", queueId, body: bodyOf(seq) });
    if (result.status === "ok") acked.push({ seq, queueId, queueOffset: result.queueOffset });
    else if (result.status === "disk_full") {
      refused += 1;
      refusals += 1;
    } else otherFailures.push(result.status === "io_error" ? result.error.message : result.status);
    if (otherFailures.length > 20) return;
  }
}

await Promise.all(Array.from({ length: senders }, () => sender()));

// Reads go on while sends are refused: every acknowledged message, intact, at its queue offset.
let unreadable = 0;
for (const ack of acked) {
  const read = store.getMessages({ topic: "Fill", queueId: ack.queueId, offset: queueOffset(ack.queueOffset), maxCount: 1 });
  const message = read.messages[0];
  const body = message === undefined ? undefined : decodeRecord(read.buffer, message.position).body;
  if (message?.queueOffset !== ack.queueOffset || body === undefined || Buffer.compare(body, bodyOf(ack.seq)) !== 0) unreadable += 1;
}
process.stdout.write(`full ${JSON.stringify({ acked: acked.length, refusals, otherFailures, unreadable })}\n`);

for await (const line of console) {
  if (line.trim() === "freed") break;
}
let attempts = 0;
for (;;) {
  attempts += 1;
  const result = await store.put({ topic: "Fill", queueId: 0, body: bodyOf(nextSeq++) });
  if (result.status === "ok") break;
  if (attempts >= resumeAttemptsMax) {
    process.stdout.write(`stuck ${result.status}\n`);
    process.exit(2);
  }
  // Sends are refused until the store re-reads the free space; answer the next one a little later.
  await Bun.sleep(5);
}
process.stdout.write(`resumed ${attempts}\n`);
await store.close();
process.exit(0);
