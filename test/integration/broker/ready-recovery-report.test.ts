/**
 * What recovery dropped is visible to an operator: a data dir left by a clean shutdown with one
 * damaged record in the middle of its last CommitLog file opens with every other record kept,
 * and `/ready` names the dropped range (offset, bytes) in the store check's details.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../../src/common/logger.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { startServer } from "../../../src/server.ts";
import { offsetFileName } from "../../../src/store/file-names.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

const fileBytes = 16 * 1024 * 1024;

describe("Server: /ready after a recovery that dropped damage", () => {
  test("reports the dropped range in the store check and serves every other message", async () => {
    const dataDir = makeTempDir("mq-server-");
    const store = await MessageStore.open({ dataDir, commitLogFileBytes: fileBytes, consumeQueueEntriesPerFile: 4096, logger: silentLogger });
    const written: { physicalOffset: number; size: number }[] = [];
    for (let index = 0; index < 20; index++) {
      const put = store.append({ topic: "Kept", queueId: 0, body: new TextEncoder().encode(`m${index}`) });
      if (put.status !== "ok") throw new Error(put.status);
      written.push({ physicalOffset: put.physicalOffset, size: put.size });
    }
    await store.close();
    const victim = written[7]!;
    const path = join(dataDir, "commitlog", offsetFileName(0));
    const bytes = readFileSync(path);
    bytes[victim.physicalOffset + 50] = bytes[victim.physicalOffset + 50]! ^ 0x10;
    writeFileSync(path, bytes);

    const config = loadConfig({ flags: { dataDir, port: 0, httpPort: 0, listen: "127.0.0.1", commitLogFileBytes: fileBytes, consumeQueueEntriesPerFile: 4096 } });
    const server = await startServer(config, silentLogger);
    try {
      const ready = (await (await fetch(`http://127.0.0.1:${server.httpPort}/ready`)).json()) as { checks: { name: string; ok: boolean; detail?: string }[] };
      const storeCheck = ready.checks.find((check) => check.name === "store")!;
      expect(storeCheck.ok).toBe(true);
      expect(storeCheck.detail).toContain(`dropped 1 damaged CommitLog ranges (${victim.size} bytes at offsets ${victim.physicalOffset})`);
      expect(Number(server.store!.maxOffset("Kept", 0))).toBe(20);
      const read = server.store!.getMessages({ topic: "Kept", queueId: 0, offset: queueOffset(0), maxCount: 100 });
      expect(read.messages.length).toBe(19);
    } finally {
      await server.stop();
    }
  });
});
