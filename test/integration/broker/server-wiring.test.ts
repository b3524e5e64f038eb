import { afterAll, describe, expect, test } from "bun:test";
import { decodeOffsetMsgId } from "../../../src/common/ids.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startServer } from "../../../src/server.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { connectTo, nextMsgId } from "./helpers.ts";

afterAll(removeTempDirs);

describe("Server: the broker role", () => {
  test("on port 0 binds a random port, exposes it, puts it in offsetMsgIds, and /ready reports the broker", async () => {
    const config = loadConfig({ flags: { dataDir: makeTempDir("mq-server-"), port: 0, httpPort: 0, listen: "127.0.0.1", commitLogFileBytes: 16 * 1024 * 1024, consumeQueueEntriesPerFile: 4096 } });
    const server = await startServer(config, silentLogger);
    try {
      expect(server.brokerPort).toBeGreaterThan(0);
      const client = await connectTo({ port: server.brokerPort! });
      const sent = await client.request({ code: RequestCode.SEND_MESSAGE, fields: { producerGroup: "pg", topic: "t", queueId: 0, msgId: nextMsgId(), bornTimestampMs: Date.now() }, body: new Uint8Array(3) });
      expect(decodeOffsetMsgId(sent.header.offsetMsgId as string)).toMatchObject({ host: "127.0.0.1", port: server.brokerPort! });
      const ready = (await (await fetch(`http://127.0.0.1:${server.httpPort}/ready`)).json()) as { status: string; checks: { name: string; ok: boolean }[] };
      expect(ready.status).toBe("ready");
      expect(ready.checks.find((check) => check.name === "broker")?.ok).toBe(true);
      expect((await fetch(`http://127.0.0.1:${server.httpPort}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("without the broker role nothing listens on the main port", async () => {
    const config = loadConfig({ flags: { role: "http", dataDir: makeTempDir("mq-server-"), port: 0, httpPort: 0, listen: "127.0.0.1", commitLogFileBytes: 16 * 1024 * 1024 } });
    const server = await startServer(config, silentLogger);
    try {
      expect(server.brokerPort).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
