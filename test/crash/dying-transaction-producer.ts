/**
 * Child process of transaction-check-kill.test.ts: a TransactionProducer of group argv[3] at
 * broker argv[2] whose check listener, on the first check-back it receives, kills its own
 * process with SIGKILL — a producer dying with the broker's request unanswered.
 *
 *   stdout:  ready            once it has registered its group
 *            checked <id>     when the check-back arrived (just before the kill)
 *
 * It exits by itself after `lifetimeMsMax` so a parent that died cannot leave it running.
 */

import { writeSync } from "node:fs";
import { TransactionProducer } from "../../src/client/transaction-producer.ts";

const lifetimeMsMax = 30_000;
setTimeout(() => process.exit(3), lifetimeMsMax).unref();

const [broker, group] = process.argv.slice(2) as [string, string];
const producer = new TransactionProducer({
  broker,
  group,
  checkListener: (message) => {
    writeSync(1, `checked ${message.transactionId}\n`);
    process.kill(process.pid, "SIGKILL");
    return "rollback";
  },
});
await producer.start();
writeSync(1, "ready\n");
