import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MemoryStorage } from "../../../src/store/memory-storage.ts";
import { defaultMmapStorage } from "../../../src/store/store-options.ts";
import type { FileStorage } from "../../../src/store/mapped-file.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

/** One conformance suite, run against the real mmap storage and its in-memory twin. */
function conformance(name: string, makeStorage: () => FileStorage) {
  describe(`FileStorage conformance: ${name}`, () => {
    test("a new file is zero-filled at its full size", () => {
      const storage = makeStorage();
      const path = join(makeTempDir(), "a", "file");
      storage.makeDir(join(path, ".."));
      const file = storage.openFile(path, 64 * 1024);
      expect(file.size).toBe(64 * 1024);
      expect(file.bytes.length).toBe(64 * 1024);
      expect(file.bytes.every((byte) => byte === 0)).toBe(true);
      expect(storage.fileSize(path)).toBe(64 * 1024);
      file.close();
    });

    test("bytes written survive close and reopen", async () => {
      const storage = makeStorage();
      const dir = makeTempDir();
      storage.makeDir(dir);
      const path = join(dir, "f");
      const file = storage.openFile(path, 8192);
      file.bytes.set([1, 2, 3], 4000);
      file.view.setUint32(8000, 0xdeadbeef);
      await file.flush(4000, 8004);
      file.close();
      const again = storage.openFile(path, 8192);
      expect([...again.bytes.subarray(4000, 4003)]).toEqual([1, 2, 3]);
      expect(again.view.getUint32(8000)).toBe(0xdeadbeef);
      again.close();
    });

    test("flush accepts an unaligned range and a range ending at the file end", async () => {
      const storage = makeStorage();
      const dir = makeTempDir();
      const file = storage.openFile(join(dir, "f"), 16384);
      file.bytes.fill(7, 5000, 16384);
      await file.flush(5001, 16384);
      file.flushSync(1, 2);
      file.close();
    });

    test("zeroRange clears bytes in memory and on reopen", async () => {
      const storage = makeStorage();
      const dir = makeTempDir();
      const path = join(dir, "f");
      const file = storage.openFile(path, 65536);
      file.bytes.fill(9);
      await file.flush(0, 65536);
      file.zeroRange(10000, 65536);
      expect(file.bytes[9999]).toBe(9);
      expect(file.bytes[10000]).toBe(0);
      expect(file.bytes[65535]).toBe(0);
      file.close();
      const again = storage.openFile(path, 65536);
      expect(again.bytes[9999]).toBe(9);
      expect(again.bytes.subarray(10000).every((byte) => byte === 0)).toBe(true);
      again.close();
    });

    test("a closed file exposes no bytes, so a stale use cannot touch an unmapped page", () => {
      const storage = makeStorage();
      const file = storage.openFile(join(makeTempDir(), "f"), 4096);
      file.close();
      expect(file.closed).toBe(true);
      expect(file.bytes.length).toBe(0);
      expect(() => file.view.getUint32(0)).toThrow(RangeError);
    });

    test("a short file is extended with zeros to the requested size", () => {
      const storage = makeStorage();
      const path = join(makeTempDir(), "f");
      const small = storage.openFile(path, 4096);
      small.bytes[100] = 5;
      small.close();
      const big = storage.openFile(path, 16384);
      expect(big.bytes[100]).toBe(5);
      expect(big.bytes[10000]).toBe(0);
      expect(storage.fileSize(path)).toBe(16384);
      big.close();
    });

    test("prepareFile creates a usable file off the event loop", async () => {
      const storage = makeStorage();
      const dir = makeTempDir();
      const file = await storage.prepareFile(join(dir, "next"), 1024 * 1024, 64 * 1024);
      expect(file.size).toBe(1024 * 1024);
      file.bytes.fill(1, 0, 1024);
      expect(file.bytes[1023]).toBe(1);
      expect(storage.listFiles(dir)).toEqual(["next"]);
      await file.warm(64 * 1024, 1024 * 1024);
      file.bytes[1024 * 1024 - 1] = 2;
      file.close();
      await file.warm(0, 4096); // a closed file: nothing to do, no fault
    });

    test("lists files and directories sorted, and removes them", () => {
      const storage = makeStorage();
      const dir = makeTempDir();
      storage.makeDir(join(dir, "sub", "deeper"));
      for (const name of ["b", "a", "c"]) storage.openFile(join(dir, name), 4096).close();
      expect(storage.listFiles(dir)).toEqual(["a", "b", "c"]);
      expect(storage.listDirs(dir)).toEqual(["sub"]);
      storage.removeFile(join(dir, "b"));
      expect(storage.listFiles(dir)).toEqual(["a", "c"]);
      storage.removeDir(join(dir, "sub"));
      expect(storage.listDirs(dir)).toEqual([]);
      expect(storage.listFiles(join(dir, "missing"))).toEqual([]);
    });
  });
}

conformance("mmap", () => defaultMmapStorage());
conformance("memory", () => new MemoryStorage());

describe("MemoryStorage", () => {
  test("crash keeps flushed bytes and loses the rest", async () => {
    const storage = new MemoryStorage();
    const file = storage.openFile("/m/f", 4096);
    file.bytes.fill(1, 0, 100);
    await file.flush(0, 50);
    file.close();
    storage.crash();
    const again = storage.openFile("/m/f", 4096);
    expect(again.bytes[49]).toBe(1);
    expect(again.bytes[50]).toBe(0);
  });
});
