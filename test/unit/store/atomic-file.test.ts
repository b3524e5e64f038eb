import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readFileIfExists, writeFileAtomic, writeFileAtomicSync } from "../../../src/store/atomic-file.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

describe("atomic file writes", () => {
  test("write, then replace, leaving no temporary file behind", async () => {
    const dir = makeTempDir();
    const path = join(dir, "config", "topics.json");
    await writeFileAtomic(path, '{"v":1}');
    await writeFileAtomic(path, '{"v":2}');
    expect(readFileSync(path, "utf8")).toBe('{"v":2}');
    expect(readdirSync(join(dir, "config"))).toEqual(["topics.json"]);
    writeFileAtomicSync(path, '{"v":3}');
    expect(readFileIfExists(path)).toBe('{"v":3}');
    expect(readFileIfExists(join(dir, "missing"))).toBeUndefined();
  });

  test("concurrent writes to one path land in call order: the last call wins", async () => {
    const path = join(makeTempDir(), "offsets.json");
    await Promise.all(Array.from({ length: 20 }, (_, index) => writeFileAtomic(path, JSON.stringify({ index }))));
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ index: 19 });
  });

  test("a writer killed at any moment leaves either the old or the new content, whole", async () => {
    const dir = makeTempDir();
    const path = join(dir, "state.json");
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(join(import.meta.dir, "../../../src/store/atomic-file.ts"))};
      const big = "x".repeat(200_000);
      for (let version = 0; ; version++) {
        await writeFileAtomic(${JSON.stringify(path)}, JSON.stringify({ version, big }));
        if (version === 0) console.log("ready");
      }`;
    for (let round = 0; round < 5; round++) {
      const child = Bun.spawn([process.execPath, "--eval", script], { stdout: "pipe", stderr: "inherit" });
      try {
        const reader = child.stdout.getReader();
        await reader.read(); // the first version is on disk
        await Bun.sleep(5 + round * 7);
      } finally {
        child.kill(9);
        await child.exited;
      }
      expect(existsSync(path)).toBe(true);
      const parsed = JSON.parse(readFileSync(path, "utf8")) as { version: number; big: string };
      expect(parsed.big.length).toBe(200_000);
    }
  });
});
