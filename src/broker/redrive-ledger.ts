/**
 * Which DLQ entries a redrive already resent, per group, keyed by the entry's CommitLog offset
 * (unique and stable for the record's life). Written to `<dataDir>/config/dlqRedriven.json`
 * atomically after every resend, before the redrive answers it, so a restart still knows: a
 * repeated redrive resends nothing unless forced. A crash between a resend and its write can
 * leave that one entry resendable (at-least-once, as everywhere else).
 *
 *   { "version": 1, "redriven": { "<group>": [offset, ...], ... } }
 */

import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import type { PhysicalOffset } from "../common/offsets.ts";
import { readJsonFileIfExists, writeFileAtomicSync } from "../store/atomic-file.ts";

const fileVersion = 1;

export class RedriveLedger {
  readonly path: string;
  private readonly redriven = new Map<string, Set<number>>();

  constructor(dataDir: string) {
    this.path = join(dataDir, "config", "dlqRedriven.json");
    this.load();
  }

  has(group: string, physicalOffset: PhysicalOffset): boolean {
    return this.redriven.get(group)?.has(physicalOffset) === true;
  }

  /** Records the entry as resent, durably, before returning. */
  add(group: string, physicalOffset: PhysicalOffset): void {
    let offsets = this.redriven.get(group);
    if (offsets === undefined) this.redriven.set(group, (offsets = new Set()));
    if (offsets.has(physicalOffset)) return;
    offsets.add(physicalOffset);
    const redriven: Record<string, number[]> = {};
    for (const [name, set] of this.redriven) redriven[name] = [...set];
    writeFileAtomicSync(this.path, JSON.stringify({ version: fileVersion, redriven }));
  }

  private load(): void {
    const parsed = readJsonFileIfExists(this.path, `"${this.path}"`) as { version?: unknown; redriven?: Record<string, unknown> } | undefined;
    if (parsed === undefined) return;
    if (parsed.version !== fileVersion || typeof parsed.redriven !== "object" || parsed.redriven === null) {
      throw new MqError("STORE_CORRUPT", { what: `"${this.path}"`, reason: `not a version ${fileVersion} redrive ledger` });
    }
    for (const [group, offsets] of Object.entries(parsed.redriven)) {
      if (Array.isArray(offsets)) this.redriven.set(group, new Set(offsets.filter((offset): offset is number => Number.isSafeInteger(offset))));
    }
  }
}
