/**
 * A flush thread that dies or hangs never hangs the store: pending flushes fail with
 * FLUSH_TIMEOUT (sync sends are answered, checkpoints and shutdown finish), the storage reports
 * flushes failing (the broker's /ready "flush" check) and a new thread takes the next flush.
 * The thread is killed and stalled through its fault points, on real memory-mapped files.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../../src/common/logger.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { MmapStorage } from "../../../src/store/mmap-storage.ts";
import { tinyStoreProfile } from "../../../src/store/store-options.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

afterAll(removeTempDirs);

const body = new TextEncoder().encode("durable");

async function open(storage: MmapStorage): Promise<MessageStore> {
  return MessageStore.open({ dataDir: join(makeTempDir(), "data"), ...tinyStoreProfile, storage, flush: "sync", logger: silentLogger, flushIntervalMs: 3_600_000, diskUsage: () => 0 });
}

describe("MessageStore: a failing flush thread", () => {
  test("a flush thread that dies fails the pending sync send with FLUSH_TIMEOUT, is replaced, and later sends succeed", async () => {
    const storage = new MmapStorage();
    const store = await open(storage);
    try {
      expect((await store.put({ topic: "T", queueId: 0, body })).status).toBe("ok");
      storage.injectFlushFault("foreground", "crash");
      // Sent in the same turn: the msync is queued behind the crash and never answered.
      const pending = await store.put({ topic: "T", queueId: 0, body });
      expect(pending.status).toBe("io_error");
      if (pending.status === "io_error") expect(pending.error.errorName).toBe("FLUSH_TIMEOUT");
      expect(storage.flushHealth().ok).toBe(false);
      expect(storage.flushHealth().failure).toContain("flush thread");

      expect((await store.put({ topic: "T", queueId: 0, body })).status).toBe("ok");
      expect(storage.flushHealth()).toEqual({ ok: true, failure: undefined, threadsReplaced: 1 });
      await store.checkpointNow();
    } finally {
      await store.close();
      await storage.close();
    }
  });

  test("a flush thread that hangs fails the flush with FLUSH_TIMEOUT after the limit; checkpoint and shutdown finish", async () => {
    // A limit a healthy flush on a busy disk stays well inside, and the stalls outlast.
    const storage = new MmapStorage({ flushTimeoutMs: 1_000 });
    const store = await open(storage);
    try {
      storage.injectFlushFault("foreground", "stall", 30_000);
      const stalled = await store.put({ topic: "T", queueId: 0, body });
      expect(stalled.status).toBe("io_error");
      if (stalled.status === "io_error") {
        expect(stalled.error.errorName).toBe("FLUSH_TIMEOUT");
        expect(stalled.error.message).toContain("within 1000 ms");
      }
      expect(storage.flushHealth().ok).toBe(false);
      storage.injectFlushFault("background", "stall", 30_000);
      store.append({ topic: "T", queueId: 1, body });
      await expect(store.checkpointNow()).rejects.toMatchObject({ errorName: "FLUSH_TIMEOUT" });
      expect((await store.put({ topic: "T", queueId: 0, body })).status).toBe("ok");
    } finally {
      await store.close();
      await storage.close();
    }
  });

  test("a flush waiting past the stall limit reports flushes failing (the broker is not ready) until it is answered", async () => {
    // The report shows from 1 ms into the stall until its end: a window of a second, which the
    // polling below cannot miss however the machine schedules it.
    const storage = new MmapStorage({ flushStallReportMs: 1 });
    const store = await open(storage);
    try {
      storage.injectFlushFault("foreground", "stall", 1_000);
      const put = store.put({ topic: "T", queueId: 0, body });
      await waitUntil("flushes to be reported failing", () => !storage.flushHealth().ok);
      expect(storage.flushHealth().failure).toContain("has waited");
      // The stall ends before the timeout: the send succeeds and the report clears.
      expect((await put).status).toBe("ok");
      expect(storage.flushHealth().ok).toBe(true);
    } finally {
      await store.close();
      await storage.close();
    }
  });

  test("an idle lane whose thread died shows healthy again once the new thread answers", async () => {
    const storage = new MmapStorage();
    const store = await open(storage);
    try {
      storage.injectFlushFault("foreground", "crash");
      // Not ok from the death until the replacement answers its probe: too short a window to poll.
      await waitUntil("the thread to be replaced", () => storage.flushHealth().threadsReplaced === 1);
      await waitUntil("the new thread to answer", () => storage.flushHealth().ok);
      expect((await store.put({ topic: "T", queueId: 0, body })).status).toBe("ok");
    } finally {
      await store.close();
      await storage.close();
    }
  });
});
