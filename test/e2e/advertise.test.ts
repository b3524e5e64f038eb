/**
 * The advertised address in message ids (issue 9, item 10), with real processes: a broker
 * advertising IPv6 `::1` and one advertising `127.0.0.1`, on the same port number. Each makes
 * offsetMsgIds from its own address — 56 hex characters for the IPv6 one — finds its own, and
 * never claims the other's, although both have a record at CommitLog offset 0. (Before, `::1`
 * silently became 127.0.0.1 and the IPv4 broker answered the IPv6 broker's ids with its own
 * message.) Consumers of the IPv6 broker (push and pop) see the offsetMsgId the send returned.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Admin, PushConsumer, Producer, SimpleConsumer, isMqError } from "../../src/client/index.ts";
import { decodeOffsetMsgId } from "../../src/common/ids.ts";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { cleanEnv, exitTimeoutMs, freePort, repoRoot, type Started, startTimeoutMs, waitForOk, withDeadline } from "./helpers.ts";

const started: Started[] = [];

afterAll(async () => {
  for (const entry of started.splice(0)) {
    if (entry.process.exitCode !== null) continue;
    entry.process.kill("SIGTERM");
    await withDeadline(entry.process.exited, exitTimeoutMs, "mq to exit").catch(() => entry.process.kill("SIGKILL"));
  }
  removeTempDirs();
});

async function startBroker(options: { listen: string; advertise: string; port: number; name: string }): Promise<void> {
  const httpPort = freePort();
  const dir = makeTempDir(`mq-advertise-${options.name}-`);
  const args = ["start", "--role", "broker,http", "--listen", options.listen, "--advertise", options.advertise, "--port", String(options.port), "--http-port", String(httpPort), "--ha-port", "0", "--broker-name", options.name, "--data", join(dir, "data"), "--commit-log-file-bytes", "1048576"];
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/cli/main.ts"), ...args], { cwd: dir, env: cleanEnv, stdout: "pipe", stderr: "pipe" });
  const entry: Started = { process: child, stdout: new Response(child.stdout).text(), stderr: new Response(child.stderr).text() };
  started.push(entry);
  const httpHost = options.listen.includes(":") ? `[${options.listen}]` : options.listen;
  await waitForOk(entry, `http://${httpHost}:${httpPort}/ready`, startTimeoutMs);
}

async function sendOne(broker: string, body: string): Promise<{ msgId: string; offsetMsgId: string }> {
  const admin = new Admin({ broker });
  try {
    await admin.createTopic("Ids", { queues: 1 });
  } finally {
    await admin.close();
  }
  const producer = new Producer({ broker });
  await producer.start();
  try {
    return await producer.send({ topic: "Ids", body });
  } finally {
    await producer.shutdown();
  }
}

async function lookUp(broker: string, id: string): Promise<string> {
  const admin = new Admin({ broker });
  try {
    return (await admin.viewMessage(id)).text();
  } catch (error) {
    if (isMqError(error, "MESSAGE_NOT_FOUND")) return "MESSAGE_NOT_FOUND";
    throw error;
  } finally {
    await admin.close();
  }
}

describe("--advertise and offsetMsgIds", () => {
  test("an IPv6 broker's ids are its own: 56 hex, found by it, not claimed by an IPv4 broker on the same port", async () => {
    const port = freePort();
    await startBroker({ listen: "::1", advertise: "::1", port, name: "broker-v6" });
    await startBroker({ listen: "127.0.0.1", advertise: "127.0.0.1", port, name: "broker-v4" });
    const v6 = `[::1]:${port}`;
    const v4 = `127.0.0.1:${port}`;

    const onV6 = await sendOne(v6, "stored on the IPv6 broker");
    const onV4 = await sendOne(v4, "stored on the IPv4 broker");
    expect<unknown>({ length: onV6.offsetMsgId.length, decoded: decodeOffsetMsgId(onV6.offsetMsgId) }).toEqual({ length: 56, decoded: { host: "::1", port, physicalOffset: 0 } });
    expect<unknown>(decodeOffsetMsgId(onV4.offsetMsgId)).toEqual({ host: "127.0.0.1", port, physicalOffset: 0 });

    expect(await lookUp(v6, onV6.offsetMsgId)).toBe("stored on the IPv6 broker");
    expect(await lookUp(v4, onV4.offsetMsgId)).toBe("stored on the IPv4 broker");
    // Same CommitLog offset, same port: only the address tells them apart.
    expect(await lookUp(v4, onV6.offsetMsgId)).toBe("MESSAGE_NOT_FOUND");
    expect(await lookUp(v6, onV4.offsetMsgId)).toBe("MESSAGE_NOT_FOUND");

    const consumer = new PushConsumer({ broker: v6, group: "advertise-check", consumeFromWhere: "first" });
    consumer.subscribe("Ids", "*");
    let consumedId: string | undefined;
    for await (const message of consumer) {
      consumedId = message.offsetMsgId;
      break;
    }
    await consumer.shutdown();
    expect(consumedId).toBe(onV6.offsetMsgId);

    const simple = new SimpleConsumer({ broker: v6, group: "advertise-pop", topics: "Ids" });
    await simple.start();
    try {
      const received = await simple.receive(1, { waitMs: 5_000 });
      expect(received.map((message) => message.offsetMsgId)).toEqual([onV6.offsetMsgId]);
    } finally {
      await simple.shutdown();
    }
  }, 60_000);
});
