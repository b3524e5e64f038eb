import { describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "../../../src/http/audit-log.ts";
import { auditEntriesMax } from "../../../src/http/limits.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

const entry = (path: string) => ({ method: "POST", path, status: 200, console: false });

describe("AuditLog", () => {
  test("entries are numbered, listed oldest first after a seq, and the newest `limit` of them", () => {
    let nowMs = 1_000;
    const log = new AuditLog({ nowMs: () => nowMs++ });
    for (const path of ["/a", "/b", "/c"]) log.record(entry(path));
    expect(log.list({ limit: 10 }).map((each) => [each.seq, each.path, each.timeMs])).toEqual([[1, "/a", 1_000], [2, "/b", 1_001], [3, "/c", 1_002]]);
    expect(log.list({ after: 1, limit: 10 }).map((each) => each.path)).toEqual(["/b", "/c"]);
    expect(log.list({ limit: 2 }).map((each) => each.path)).toEqual(["/b", "/c"]);
    expect(log.list({ after: 3, limit: 10 })).toEqual([]);
  });

  test("with a file, entries survive a restart (a torn last line skipped) and numbering goes on", () => {
    const file = join(makeTempDir(), "audit.log");
    const first = new AuditLog({ file });
    first.record(entry("/topics"));
    first.record(entry("/topics/orders"));
    appendFileSync(file, '{"seq":3,"time'); // a crash in the middle of a write
    const second = new AuditLog({ file });
    expect(second.list({ limit: 10 }).map((each) => [each.seq, each.path])).toEqual([[1, "/topics"], [2, "/topics/orders"]]);
    expect(second.record(entry("/groups/g/offsets/reset")).seq).toBe(3);
  });

  test("memory keeps the last auditEntriesMax; the file is rewritten with them once it holds twice as many", () => {
    const file = join(makeTempDir(), "audit.log");
    const log = new AuditLog({ file });
    for (let index = 0; index < 2 * auditEntriesMax + 1; index++) log.record(entry(`/e${index}`));
    const kept = log.list({ limit: auditEntriesMax + 10 });
    expect(kept.length).toBe(auditEntriesMax);
    expect(kept.at(-1)!.path).toBe(`/e${2 * auditEntriesMax}`);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines.length).toBe(auditEntriesMax);
    expect(new AuditLog({ file }).list({ limit: 1 })[0]!.seq).toBe(2 * auditEntriesMax + 1);
  });
});
