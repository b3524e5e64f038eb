/**
 * A consumer killed with SIGKILL after its handler failed a message and before its send-back was
 * answered (test/crash/failing-consumer.ts): the message is not lost. The consumer reaches the
 * broker through a proxy that holds every CONSUMER_SEND_BACK, so the send-back is never answered
 * while the consumer goes on handling later messages and committing offsets every 50 ms.
 *
 * Queue 0 holds "first", "poison", "after"; queue 1 gets "tick" only once the consumer has
 * handled "after". One commit pass commits every queue that moved, so once the proxy has passed
 * a commit of queue 1 past "tick", any commit of queue 0 past "poison" that a consumer finishing
 * failed messages early would make has been made too. None may be: the group's offset of queue 0
 * stays at "poison" — and the next member of the group receives it again.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestBroker } from "../helpers/broker.ts";
import { startHoldingProxy } from "../helpers/holding-proxy.ts";
import { RequestCode } from "../../src/protocol/request-codes.ts";
import type { MessageQueue } from "../../src/client/message-queue.ts";
import { consumer, createTopic, startProducer, uniqueName, waitFor } from "../integration/client/helpers.ts";

const childExitMsMax = 20_000;

const onQueue = (queueId: number) => ({ selector: (queues: readonly MessageQueue[]) => queues.find((queue) => queue.queueId === queueId)! });

describe("consumer failure across kill -9", () => {
  test("a message whose send-back was never answered is not committed past, and is redelivered", async () => {
    const broker = await startTestBroker();
    const proxy = await startHoldingProxy(broker.port, (frame) => frame.code === RequestCode.CONSUMER_SEND_BACK);
    const topic = uniqueName("kill");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 2);
    const producer = await startProducer(broker.address);
    await producer.send({ topic, body: "first" }, onQueue(0));
    const poison = await producer.send({ topic, body: "poison" }, onQueue(0));
    await producer.send({ topic, body: "after" }, onQueue(0));

    const child = Bun.spawn([process.execPath, join(import.meta.dir, "failing-consumer.ts"), proxy.address, topic, group], { stdout: "pipe", stderr: "pipe" });
    const deadline = setTimeout(() => child.kill("SIGKILL"), childExitMsMax);
    let stdout = "";
    const reading = (async () => {
      for await (const chunk of child.stdout) stdout += new TextDecoder().decode(chunk);
    })();
    const commits = (queueId: number) =>
      proxy.forwarded.filter((frame) => frame.code === RequestCode.UPDATE_CONSUMER_OFFSET && frame.header.topic === topic && frame.header.queueId === queueId).map((frame) => Number(frame.header.queueOffset));

    await waitFor("the failure, its held send-back and the message after it handled", () => stdout.includes(`failing ${poison.msgId}\n`) && stdout.includes("handled after\n") && proxy.held.length > 0);
    const tick = await producer.send({ topic, body: "tick" }, onQueue(1));
    await waitFor("a commit of queue 1 past the tick", () => commits(1).some((offset) => offset > Number(tick.queueOffset)));
    child.kill("SIGKILL");
    const [stderr] = await Promise.all([new Response(child.stderr).text(), child.exited, reading]);
    clearTimeout(deadline);
    expect({ signal: child.signalCode, stderr }).toEqual({ signal: "SIGKILL", stderr: "" });
    expect(proxy.held.map((frame) => frame.header.originMsgId)).toContain(poison.msgId);
    // Committed up to "poison" (its offset is the next to consume), never past it.
    expect(commits(0).filter((offset) => offset > Number(poison.queueOffset))).toEqual([]);
    expect(commits(0).at(-1)).toBe(Number(poison.queueOffset));

    const received: string[] = [];
    const next = consumer(broker.address, { group, consumeFromWhere: "first" }).subscribe(topic);
    await next.start((message) => void received.push(`${message.text()}@${message.reconsumeTimes}`));
    await waitFor("the failed message again", () => received.includes("poison@0"));
    expect(received).not.toContain("first@0");
  });
});
