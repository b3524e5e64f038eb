/**
 * The delay-level table in RocketMQ's syntax (`messageDelayLevel`): durations separated by
 * spaces, each a positive integer with a unit `s`, `m`, `h` or `d`; level n (1-based) waits the
 * n-th. "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h" is RocketMQ's default.
 */

const unitMs: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationPattern = /^([1-9]\d{0,8})([smhd])$/;

/** The table's durations in ms, or the reason the text is not a table. */
export function parseDelayLevels(text: string): { ok: true; levelsMs: number[] } | { ok: false; reason: string } {
  const parts = text.trim().split(/\s+/).filter((part) => part.length > 0);
  if (parts.length === 0) return { ok: false, reason: "it names no delay level" };
  const levelsMs: number[] = [];
  for (const part of parts) {
    const match = durationPattern.exec(part);
    if (match === null) return { ok: false, reason: `"${part}" is not a duration like 5s, 2m, 1h or 1d` };
    levelsMs.push(Number(match[1]) * unitMs[match[2]!]!);
  }
  return { ok: true, levelsMs };
}
