/**
 * The opening scan's fold of journal keys into open jobs (schedule-open-jobs.ts) against a model
 * map of keys: ADDs open (replacing an open ADD of the same key), DONEs close, a key opened again
 * after its DONE is open, and the table keeps all of it across its growth.
 */

import { describe, expect, test } from "bun:test";
import { idHashes, newRecordKey } from "../../../src/store/schedule-journal-records.ts";
import { OpenJobs } from "../../../src/store/schedule-open-jobs.ts";
import { withSeed } from "../../helpers/seeded-random.ts";

function keyOfRecord(type: "add" | "done", kind: string, id: string, dueMs: number, position: number) {
  const key = newRecordKey();
  Object.assign(key, { type, kind, id, dueMs, position, length: 40 }, idHashes(id));
  return key;
}

describe("OpenJobs", () => {
  test("folds random ADDs, DONEs and re-ADDs like a map of keys, through the table's growth", () => {
    withSeed((random) => {
      const open = new OpenJobs();
      const model = new Map<string, { kind: string; dueMs: number; position: number }>();
      let position = 8;
      for (let step = 0; step < 20_000; step++) {
        const id = `m${random.int(3_000)}`;
        const dueMs = 1_000 + random.int(5); // few due times: many keys share one
        const kind = random.int(4) === 0 ? "other" : "ping";
        const add = random.int(3) !== 0;
        open.apply(keyOfRecord(add ? "add" : "done", kind, id, dueMs, position));
        if (add) model.set(`${dueMs}|${id}`, { kind, dueMs, position });
        else model.delete(`${dueMs}|${id}`);
        position += 40;
      }
      expect(open.count).toBe(model.size);
      const seen: Array<{ kind: string; dueMs: number; position: number }> = [];
      open.forEach((job) => seen.push({ kind: job.kind, dueMs: job.dueMs, position: job.position }));
      expect(seen).toEqual([...model.values()].sort((a, b) => a.position - b.position));
      const pings: number[] = [];
      open.forEach((job) => pings.push(job.position), "ping");
      expect(pings).toEqual(seen.filter((job) => job.kind === "ping").map((job) => job.position));
      expect(Object.fromEntries(open.countsByKind())).toEqual(Object.fromEntries(["ping", "other"].map((kind) => [kind, seen.filter((job) => job.kind === kind).length]).filter(([, count]) => count !== 0)));
      for (const [key, job] of model) {
        const id = key.slice(key.indexOf("|") + 1);
        expect(open.has(job.kind, { id, dueMs: job.dueMs })).toBe(true);
        expect(open.has(job.kind === "ping" ? "other" : "ping", { id, dueMs: job.dueMs })).toBe(false);
      }
    });
  });

  test("jobs opened and closed after the scan are told apart by id and due time", () => {
    const open = new OpenJobs();
    open.opened({ kind: "ping", id: "a", dueMs: 10, position: 8, length: 40 });
    open.opened({ kind: "ping", id: "a", dueMs: 11, position: 48, length: 40 });
    open.closed({ id: "a", dueMs: 10 });
    expect(open.count).toBe(1);
    expect(open.has("ping", { id: "a", dueMs: 10 })).toBe(false);
    expect(open.has("ping", { id: "a", dueMs: 11 })).toBe(true);
    expect(open.has("ping", { id: "b", dueMs: 11 })).toBe(false);
  });
});
