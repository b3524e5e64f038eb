/**
 * Child process of consumer-send-back-kill.test.ts: a PushConsumer of group argv[4] on topic
 * argv[3] at broker argv[2] (the test's proxy, which holds its send-backs) that commits offsets
 * every 50 ms. Its handler fails message "poison" and handles every other one.
 *
 *   stdout:  failing <msgId>      the handler failed "poison" (its send-back starts now)
 *            handled <body>       the handler finished this message
 *
 * The parent kills it with SIGKILL; it exits by itself after `lifetimeMsMax` so a parent that
 * died cannot leave it running.
 */

import { writeSync } from "node:fs";
import { PushConsumer } from "../../src/client/push-consumer.ts";

const lifetimeMsMax = 30_000;
setTimeout(() => process.exit(3), lifetimeMsMax).unref();

const [broker, topic, group] = process.argv.slice(2) as [string, string, string];
const consumer = new PushConsumer({ broker, group, consumeFromWhere: "first", commitIntervalMs: 50 }).subscribe(topic);
await consumer.start((message) => {
  if (message.text() === "poison") {
    writeSync(1, `failing ${message.msgId}\n`);
    throw new Error("poison");
  }
  writeSync(1, `handled ${message.text()}\n`);
});
