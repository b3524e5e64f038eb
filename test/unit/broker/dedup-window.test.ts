/**
 * DedupWindow: fingerprints remembered per time slice, found again until their generation
 * expires, and held within the memory budget (≤ 6.7 bytes an id once tables have grown).
 */

import { describe, expect, test } from "bun:test";
import { DedupWindow } from "../../../src/broker/dedup-window.ts";
import { dedupGenerationSlotsMin } from "../../../src/common/limits.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

const windowMs = 120_000;
const startMs = 1_000_000;

describe("DedupWindow", () => {
  test("finds every fingerprint added, and few that were not (seeded)", () => {
    const random = seededRandom();
    const window = new DedupWindow(windowMs);
    const added = new Set<number>();
    for (let index = 0; index < 50_000; index++) {
      const fingerprint = (random.next() * 2 ** 32) >>> 0;
      if (added.has(fingerprint) || fingerprint === 0 || fingerprint === 1) continue; // 0 is stored as 1; each counted once
      added.add(fingerprint);
      window.add(fingerprint, startMs + index, startMs + index);
    }
    for (const fingerprint of added) expect(window.mayContain(fingerprint)).toBe(true);
    let falseHits = 0;
    for (let index = 0; index < 50_000; index++) {
      const fingerprint = (random.next() * 2 ** 32) >>> 0;
      if (!added.has(fingerprint) && window.mayContain(fingerprint)) falseHits += 1;
    }
    expect({ seed: random.seed, falseHits: falseHits <= 5 }).toEqual({ seed: random.seed, falseHits: true });
    expect(window.size).toBe(added.size);
  });

  test("0 is a fingerprint like any other", () => {
    const window = new DedupWindow(windowMs);
    expect(window.mayContain(0)).toBe(false);
    window.add(0, startMs, startMs);
    expect(window.mayContain(0)).toBe(true);
  });

  test("generations are time slices of a quarter of the window, dropped whole once older than the window", () => {
    const window = new DedupWindow(windowMs);
    window.add(1, startMs, startMs);
    window.add(2, startMs + windowMs / 4, startMs + windowMs / 4);
    expect(window.generationCount).toBe(2);
    // Past the window of the first generation's newest id, adding drops that generation whole.
    window.add(3, startMs + windowMs + 1, startMs + windowMs + 1);
    expect(window.mayContain(1)).toBe(false);
    expect(window.mayContain(2)).toBe(true);
    expect(window.mayContain(3)).toBe(true);
    expect(window.generationCount).toBe(2);
    window.expire(startMs + 10 * windowMs);
    expect(window.size).toBe(0);
  });

  test("a new generation is sized for the last one's ids, so steady traffic never regrows a table", () => {
    const window = new DedupWindow(windowMs);
    const perSlice = 50_000;
    for (let slice = 0; slice < 3; slice++) {
      for (let index = 0; index < perSlice; index++) {
        const atMs = startMs + slice * (windowMs / 4);
        window.add(Math.imul(slice * perSlice + index + 1, 0x9e3779b1) >>> 0, atMs, atMs);
      }
    }
    expect(window.generationCount).toBe(3);
    expect(window.bytes / window.size).toBeLessThanOrEqual(6.7);
  });

  test("a longer window (resize) keeps new ids longer", () => {
    const window = new DedupWindow(windowMs);
    window.resize(10 * windowMs);
    window.add(7, startMs, startMs);
    window.add(8, startMs + 5 * windowMs, startMs + 5 * windowMs);
    expect(window.mayContain(7)).toBe(true);
    window.add(9, startMs + 11 * windowMs, startMs + 11 * windowMs);
    expect(window.mayContain(7)).toBe(false);
  });

  test("memory: 1,000,000 ids over one window cost at most 6.7 bytes each", () => {
    const window = new DedupWindow(windowMs);
    const ids = 1_000_000;
    for (let index = 0; index < ids; index++) {
      const atMs = startMs + Math.floor((index * windowMs) / ids);
      window.add(Math.imul(index + 1, 0x9e3779b1) >>> 0, atMs, atMs);
    }
    expect(window.size).toBe(ids);
    expect(window.bytes / ids).toBeLessThanOrEqual(6.7);
  });

  test("a burst past the largest table starts the next generation instead of growing it", () => {
    const slotsMax = 4_096;
    const window = new DedupWindow(windowMs, slotsMax);
    const count = slotsMax * 0.8 + 10;
    for (let index = 0; index < count; index++) window.add(Math.imul(index + 1, 0x9e3779b1) >>> 0, startMs, startMs);
    expect(window.generationCount).toBe(2);
    expect(window.bytes).toBeLessThanOrEqual(2 * slotsMax * 4);
    expect(window.bytes).toBeGreaterThanOrEqual((slotsMax + dedupGenerationSlotsMin) * 4);
    for (let index = 0; index < count; index++) expect(window.mayContain(Math.imul(index + 1, 0x9e3779b1) >>> 0)).toBe(true);
  });
});
