/**
 * A consumer killed with SIGKILL after its handler failed a message and before the send-back
 * (test/crash/failing-consumer.ts): the message is not lost — the group's offset was never
 * committed past it, so the next member of the group receives it again.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestBroker } from "../helpers/broker.ts";
import { consumer, createTopic, startProducer, uniqueName, waitFor } from "../integration/client/helpers.ts";

const childExitMsMax = 20_000;

describe("consumer failure across kill -9", () => {
  test("a message whose send-back never happened is redelivered", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("kill");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "poison" });
    await producer.send({ topic, body: "after" });

    const child = Bun.spawn([process.execPath, join(import.meta.dir, "failing-consumer.ts"), broker.address, topic, group], { stdout: "pipe", stderr: "pipe" });
    const deadline = setTimeout(() => child.kill("SIGKILL"), childExitMsMax);
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(deadline);
    expect({ stdout, signal: child.signalCode, stderr }).toEqual({ stdout: `failing ${sent.msgId}\n`, signal: "SIGKILL", stderr: "" });

    const received: string[] = [];
    const next = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await next.start((message) => void received.push(`${message.text()}@${message.topic}`));
    await waitFor("the failed message again", () => received.includes(`poison@${topic}`));
    expect(received).toContain(`after@${topic}`);
  });
});
