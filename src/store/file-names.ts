/** Store files are named by their first offset, 20 digits, so names sort in offset order. */

export function offsetFileName(offset: number): string {
  return String(offset).padStart(20, "0");
}

export function parseOffsetFileName(name: string): number | undefined {
  if (!/^\d{20}$/.test(name)) return undefined;
  const value = Number(name);
  return Number.isSafeInteger(value) ? value : undefined;
}
