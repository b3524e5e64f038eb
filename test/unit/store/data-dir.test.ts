/**
 * The data directory's guards, with real processes where it matters: the lock admits one store
 * per dir (in this process or another) and is released by close or by the holder's death; the
 * abort marker exists exactly while a store is open, so a store opened after a killed one knows
 * its predecessor crashed.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMqError, MqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { tinyStoreProfile } from "../../../src/store/store-options.ts";

const storeModule = join(import.meta.dir, "../../../src/store/message-store.ts");
const childReadyTimeoutMs = 20_000;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mq-data-dir-"));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function openStore(dataDir: string): Promise<MessageStore> {
  return MessageStore.open({ dataDir, ...tinyStoreProfile, logger: silentLogger, diskUsage: () => 0 });
}

/**
 * A child bun process that opens a store on `dir` and prints `opened <pid>`, then holds it
 * (`hold`) or closes it and exits; if the open fails it prints `failed <errorName> <message>`.
 */
function spawnStoreChild(dir: string, mode: "hold" | "open-and-close"): Bun.Subprocess<"ignore", "pipe", "pipe"> {
  const script = `
    const { MessageStore } = await import(${JSON.stringify(storeModule)});
    const { silentLogger } = await import(${JSON.stringify(join(import.meta.dir, "../../../src/common/logger.ts"))});
    try {
      const store = await MessageStore.open({ dataDir: ${JSON.stringify(dir)}, commitLogFileBytes: 65536, logger: silentLogger, diskUsage: () => 0 });
      store.append({ topic: "Child", queueId: 0, body: new Uint8Array([1, 2, 3]) });
      await store.checkpointNow();
      console.log("opened " + process.pid);
      if (${JSON.stringify(mode)} === "hold") setInterval(() => {}, 1000);
      else await store.close();
    } catch (error) {
      console.log("failed " + error.errorName + " " + error.message);
    }
  `;
  return Bun.spawn([process.execPath, "--eval", script], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
}

/** The child's first stdout line. */
async function firstLine(child: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes("\n")) return text.slice(0, text.indexOf("\n"));
    }
    return `exited without a line (code ${await child.exited}): ${await new Response(child.stderr).text()}`;
  })();
  let timer: Timer | undefined;
  const timedOut = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no line within ${childReadyTimeoutMs} ms`), childReadyTimeoutMs)));
  try {
    return await Promise.race([reading, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function killChild(child: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await child.exited;
}

function openError(promise: Promise<MessageStore>): Promise<MqError> {
  return promise.then(
    async (store) => {
      await store.close();
      throw new Error("expected the open to fail, but it succeeded");
    },
    (error: unknown) => {
      if (!isMqError(error)) throw error;
      return error;
    },
  );
}

describe("MessageStore: data dir lock", () => {
  test("refuses a second store on the same dir in the same process, naming the dir", async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    try {
      const error = await openError(openStore(dir));
      expect(error.errorName).toBe("STORE_LOCKED");
      expect(error.code).toBe(5002);
      expect(error.message).toBe(`Cannot open data dir "${dir}": it is locked by another process (pid ${process.pid})`);
      expect(store.isOpen).toBe(true);
      expect(store.append({ topic: "T", queueId: 0, body: new Uint8Array([7]) }).status).toBe("ok");
      // The refused attempt closed its own descriptor of the lock file; the holder's lock stands.
      const child = spawnStoreChild(dir, "open-and-close");
      try {
        expect(await firstLine(child)).toStartWith("failed STORE_LOCKED ");
      } finally {
        await killChild(child);
      }
    } finally {
      await store.close();
    }
  });

  test("releases the lock when the open fails after taking it", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "commitlog"), { recursive: true });
    const misplaced = join(dir, "commitlog", "00000000000000000001");
    writeFileSync(misplaced, "");
    const error = await openError(openStore(dir));
    expect(error.errorName).toBe("STORE_CORRUPT");
    rmSync(misplaced);
    const store = await openStore(dir);
    try {
      expect(store.isOpen).toBe(true);
    } finally {
      await store.close();
    }
  });

  test("refuses a store in another process while this one holds the dir", async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    const child = spawnStoreChild(dir, "open-and-close");
    try {
      expect(await firstLine(child)).toBe(`failed STORE_LOCKED Cannot open data dir "${dir}": it is locked by another process (pid ${process.pid})`);
    } finally {
      await killChild(child);
      await store.close();
    }
  });

  test("refuses a store here while another process holds the dir, naming its pid", async () => {
    const dir = tempDir();
    const child = spawnStoreChild(dir, "hold");
    try {
      expect(await firstLine(child)).toBe(`opened ${child.pid}`);
      const error = await openError(openStore(dir));
      expect(error.errorName).toBe("STORE_LOCKED");
      expect(error.message).toBe(`Cannot open data dir "${dir}": it is locked by another process (pid ${child.pid})`);
    } finally {
      await killChild(child);
    }
  });

  test("reopens after close, in this process and in another", async () => {
    const dir = tempDir();
    const first = await openStore(dir);
    expect(first.append({ topic: "T", queueId: 0, body: new Uint8Array([1]) }).status).toBe("ok");
    await first.close();
    const second = await openStore(dir);
    expect<number>(second.maxOffset("T", 0)).toBe(1);
    await second.close();
    const child = spawnStoreChild(dir, "open-and-close");
    try {
      expect(await firstLine(child)).toBe(`opened ${child.pid}`);
      expect(await child.exited).toBe(0);
    } finally {
      await killChild(child);
    }
    const third = await openStore(dir);
    try {
      expect<number>(third.maxOffset("T", 0)).toBe(1);
      expect<number>(third.maxOffset("Child", 0)).toBe(1);
    } finally {
      await third.close();
    }
  });

  test("reopens after the holding process is killed with SIGKILL", async () => {
    const dir = tempDir();
    const child = spawnStoreChild(dir, "hold");
    try {
      expect(await firstLine(child)).toBe(`opened ${child.pid}`);
    } finally {
      await killChild(child);
    }
    expect(child.signalCode).toBe("SIGKILL");
    const store = await openStore(dir);
    try {
      expect<number>(store.maxOffset("Child", 0)).toBe(1);
      expect(readFileSync(join(dir, "lock"), "utf8")).toBe(`${process.pid}\n`);
    } finally {
      await store.close();
    }
  });
});

describe("MessageStore: abort marker", () => {
  test("exists while the store is open and is gone after close", async () => {
    const dir = tempDir();
    const abortPath = join(dir, "abort");
    const store = await openStore(dir);
    expect(existsSync(abortPath)).toBe(true);
    await store.close();
    expect(existsSync(abortPath)).toBe(false);
  });

  test("marks the recovery abnormal after a kill, and normal after a clean close", async () => {
    const dir = tempDir();
    const child = spawnStoreChild(dir, "hold");
    try {
      expect(await firstLine(child)).toBe(`opened ${child.pid}`);
    } finally {
      await killChild(child);
    }
    expect(existsSync(join(dir, "abort"))).toBe(true);

    const afterKill = await openStore(dir);
    expect(afterKill.recovery.abnormal).toBe(true);
    expect<number>(afterKill.maxOffset("Child", 0)).toBe(1);
    await afterKill.close();

    const afterClose = await openStore(dir);
    try {
      expect(afterClose.recovery.abnormal).toBe(false);
      expect<number>(afterClose.maxOffset("Child", 0)).toBe(1);
    } finally {
      await afterClose.close();
    }
  });

  test("a store that failed to open on a locked dir leaves the holder's abort marker alone", async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    try {
      await openError(openStore(dir));
      expect(existsSync(join(dir, "abort"))).toBe(true);
    } finally {
      await store.close();
    }
    expect(existsSync(join(dir, "abort"))).toBe(false);
  });
});
