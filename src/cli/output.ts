/**
 * Command output: aligned tables for people (the default), one JSON document for scripts
 * (`--json`). Output goes to stdout; diagnostics and errors go to stderr.
 */

export type Cell = string | number | boolean | undefined | null;

export function formatTable(rows: readonly Record<string, Cell>[], columns?: readonly string[]): string {
  const names = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (rows.length === 0) return "(none)";
  const text = (value: Cell) => (value === undefined || value === null ? "" : String(value));
  const widths = names.map((name) => Math.max(name.length, ...rows.map((row) => text(row[name]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  ").trimEnd();
  return [line(names.map((name) => name.toUpperCase())), ...rows.map((row) => line(names.map((name) => text(row[name]))))].join("\n");
}

export interface Output {
  readonly json: boolean;
  /** Prints a result: as JSON when --json, else through `human`. */
  result(value: unknown, human: () => string): void;
  line(text: string): void;
}

export function createOutput(json: boolean, write: (text: string) => void = (text) => process.stdout.write(text + "\n")): Output {
  return {
    json,
    result(value, human) {
      write(json ? JSON.stringify(value, jsonReplacer) : human());
    },
    line(text) {
      write(text);
    },
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}
