/**
 * Child process of consumer-send-back-kill.test.ts: a PushConsumer of group argv[4] on topic
 * argv[3] at broker argv[2] whose handler fails message "poison" and, at that moment — after the
 * failure, before its send-back — kills its own process with SIGKILL. Other messages succeed.
 *
 *   stdout:  failing <msgId>
 *
 * It exits by itself after `lifetimeMsMax` so a parent that died cannot leave it running.
 */

import { writeSync } from "node:fs";
import { PushConsumer } from "../../src/client/push-consumer.ts";

const lifetimeMsMax = 30_000;
setTimeout(() => process.exit(3), lifetimeMsMax).unref();

const [broker, topic, group] = process.argv.slice(2) as [string, string, string];
const consumer = new PushConsumer({ broker, group, consumeFromWhere: "first" }).subscribe(topic);
await consumer.start((message) => {
  if (message.text() !== "poison") return;
  writeSync(1, `failing ${message.msgId}\n`);
  // The handler has failed; the send-back would start once the throw reaches the consumer.
  process.kill(process.pid, "SIGKILL");
  throw new Error("poison");
});
