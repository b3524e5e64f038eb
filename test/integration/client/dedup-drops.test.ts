/**
 * Exactly-once produce end to end: 100,000 SDK sends through a proxy that drops connections at
 * seeded random points — requests lost on the way in, answers lost on the way out — with the
 * producer's own retries (same msgId, often another queue) and the broker's dedup window on:
 * exactly 100,000 messages are stored, each once, and every send's answer names its stored copy.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { type Server as NetServer, type Socket, createConnection, createServer } from "node:net";
import { Producer } from "../../../src/client/producer.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

const sends = 100_000;
const topic = "exactly-once";

interface DroppingProxy {
  readonly port: number;
  /** Connections it cut: [while a request went in, while an answer came out]. */
  readonly drops: { inbound: number; outbound: number };
  close(): Promise<void>;
}

const proxies: DroppingProxy[] = [];
afterEachTest(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close();
});

/**
 * Forwards 127.0.0.1 connections to `targetPort`; each chunk, either way, cuts both sockets with
 * probability `dropRatio` (drawn from `random`) instead of forwarding it.
 */
async function startDroppingProxy(targetPort: number, random: SeededRandom, dropRatio: number): Promise<DroppingProxy> {
  const sockets = new Set<Socket>();
  const drops = { inbound: 0, outbound: 0 };
  const server: NetServer = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (from: Socket, to: Socket, direction: "inbound" | "outbound") =>
      from.on("data", (chunk: Buffer) => {
        if (random.next() < dropRatio) {
          drops[direction] += 1;
          client.destroy();
          upstream.destroy();
          return;
        }
        to.write(chunk);
      });
    forward(client, upstream, "inbound");
    forward(upstream, client, "outbound");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const proxy: DroppingProxy = {
    port,
    drops,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  proxies.push(proxy);
  return proxy;
}

describe("exactly-once produce through dropped connections", () => {
  test("100,000 sends with random connection drops and SDK retries store exactly 100,000 messages", async () => {
    const random = seededRandom();
    const broker = await startTestBroker({ config: { dedup: true } });
    const proxy = await startDroppingProxy(broker.port, random, 0.01);
    const producer = new Producer({ broker: `127.0.0.1:${proxy.port}`, retries: 16, sendTimeoutMs: 10_000, maxInFlight: 256, latencyFaultTolerance: false });
    await producer.start();
    const body = new Uint8Array(64).fill(7);
    const results: Awaited<ReturnType<Producer["send"]>>[] = [];
    let next = 0;
    try {
      const worker = async () => {
        while (next < sends) {
          next += 1;
          results.push(await producer.send({ topic, body }));
        }
      };
      await Promise.all(Array.from({ length: 256 }, worker));
    } finally {
      await producer.shutdown();
    }
    const context = `seed ${random.seed}, drops ${JSON.stringify(proxy.drops)}`;
    expect({ context, results: results.length }).toEqual({ context, results: sends });
    expect({ context, cut: proxy.drops.inbound > 0 && proxy.drops.outbound > 0 }).toEqual({ context, cut: true });

    // Every stored message, read from the consume queues.
    const storedIds = new Map<string, string>();
    let storedCount = 0;
    for (let queueId = 0; queueId < 4; queueId++) {
      const end = broker.store.maxOffset(topic, queueId);
      for (let offset = 0; offset < end; ) {
        const page = broker.store.getMessages({ topic, queueId, offset: queueOffset(offset), maxCount: 1_000 });
        expect(page.messages.length).toBeGreaterThan(0);
        for (const read of page.messages) {
          storedCount += 1;
          storedIds.set(decodeRecord(page.buffer, read.position).msgId!, `${queueId}:${read.queueOffset}`);
        }
        offset += page.messages.length;
      }
    }
    expect({ context, stored: storedCount, distinct: storedIds.size }).toEqual({ context, stored: sends, distinct: sends });
    // Each answer, first-time or duplicate, names the one stored copy of its message.
    for (const result of results) expect(storedIds.get(result.msgId)).toBe(`${result.queueId}:${result.queueOffset}`);
    const duplicates = results.filter((result) => result.duplicate === true).length;
    expect({ context, duplicatesAnswered: duplicates > 0 }).toEqual({ context, duplicatesAnswered: true });
  }, 180_000);
});
