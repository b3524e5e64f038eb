/**
 * DedupRebuild: the id a record's properties bytes give is the one the live dispatcher keeps —
 * DEDUP_KEY before UNIQ_KEY, a name given twice by its last value, ASCII and not, msgIds without
 * case — and records it skips (no window, delivered scheduled, no id) add nothing.
 */

import { describe, expect, test } from "bun:test";
import { fingerprintOf } from "../../../src/broker/dedup-fingerprint.ts";
import { DedupRebuild } from "../../../src/broker/dedup-rebuild.ts";
import { DedupWindow } from "../../../src/broker/dedup-window.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import type { ScannedRecord } from "../../../src/store/dispatch/dispatch-record.ts";

const storedMs = 1_000_000;

/** A record whose properties text is `text`, placed amid other bytes as in a CommitLog file. */
function scanned(topic: string, text: string): ScannedRecord {
  const encoded = new TextEncoder().encode(text);
  const bytes = new Uint8Array(encoded.length + 16).fill(0x02);
  bytes.set(encoded, 8);
  return { topic, physicalOffset: 0, storeTimestampMs: storedMs, bytes, propertiesStart: 8, propertiesEnd: 8 + encoded.length };
}

const pair = (name: string, value: string) => `${name}\u0001${value}\u0002`;

function rebuilt(...records: ScannedRecord[]): { window: DedupWindow; rebuild: DedupRebuild } {
  const window = new DedupWindow(120_000);
  const rebuild = new DedupRebuild((topic) => (topic === "off" ? 0 : 120_000), window);
  for (const record of records) rebuild.visit(record);
  return { window, rebuild };
}

describe("DedupRebuild", () => {
  test("a msgId, folded to upper case, and a dedupKey winning over it, as the strings hash", () => {
    const { window, rebuild } = rebuilt(
      scanned("t", pair("TAGS", "a") + pair(propertyNames.msgId, "0a0b0c0d0e0f") + pair("k", "v")),
      scanned("t", pair(propertyNames.msgId, "FFFF") + pair(propertyNames.dedupKey, "order-42")),
      scanned("t", pair(propertyNames.dedupKey, "заказ-№7 ✓")),
    );
    expect(rebuild.added).toBe(3);
    expect(window.mayContain(fingerprintOf("t", false, "0A0B0C0D0E0F"))).toBe(true);
    expect(window.mayContain(fingerprintOf("t", true, "order-42"))).toBe(true);
    expect(window.mayContain(fingerprintOf("t", false, "FFFF"))).toBe(false);
    expect(window.mayContain(fingerprintOf("t", true, "заказ-№7 ✓"))).toBe(true);
  });

  test("a name given twice counts by its last value; a pair without a value and an empty name are not properties", () => {
    const { window } = rebuilt(scanned("t", `${propertyNames.dedupKey}\u0002` + pair("", "x") + pair(propertyNames.dedupKey, "first") + pair(propertyNames.dedupKey, "last")));
    expect(window.mayContain(fingerprintOf("t", true, "last"))).toBe(true);
    expect(window.mayContain(fingerprintOf("t", true, "first"))).toBe(false);
    expect(window.size).toBe(1);
  });

  test("the last pair needs no separator: the text ends where the record says", () => {
    const record = scanned("t", pair("a", "b") + `${propertyNames.msgId}\u0001ABCD`);
    const { window } = rebuilt(record);
    expect(window.mayContain(fingerprintOf("t", false, "ABCD"))).toBe(true);
  });

  test("nothing from a topic without a window, a delivered scheduled message or a record without an id", () => {
    const { rebuild } = rebuilt(
      scanned("off", pair(propertyNames.msgId, "AAAA")),
      scanned("t", pair(propertyNames.msgId, "BBBB") + pair(propertyNames.timerSourceOffset, "123")),
      scanned("t", pair("TAGS", "a")),
      scanned("t", ""),
    );
    expect(rebuild.added).toBe(0);
  });
});
