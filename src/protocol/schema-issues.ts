/**
 * Turns a zod issue into the reason half of an INVALID_FIELD message, in the catalogue's style:
 * `Cannot accept request: field "queueId" must be at least 0, got -1`.
 */

import type { z } from "zod";

export function issueReason(issue: z.core.$ZodIssue, value: unknown): string {
  const got = `got ${show(value)}`;
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return "is required";
      return `must be ${issue.expected === "int" ? "a safe integer" : `a ${issue.expected}`}, ${got}`;
    case "too_small":
      return `must be ${measure(issue.origin, "at least", issue.minimum, issue.inclusive)}, ${gotMeasure(issue.origin, value)}`;
    case "too_big":
      return `must be ${measure(issue.origin, "at most", issue.maximum, issue.inclusive)}, ${gotMeasure(issue.origin, value)}`;
    case "invalid_format":
      return `must match ${"pattern" in issue && issue.pattern !== undefined ? issue.pattern : issue.format}, ${got}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((option) => JSON.stringify(option)).join(", ")}, ${got}`;
    default:
      return `${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}, ${got}`;
  }
}

function measure(origin: string, bound: string, limit: number | bigint, inclusive: boolean | undefined): string {
  const edge = inclusive === false ? (bound === "at least" ? "more than" : "less than") : bound;
  if (origin === "string") return `${edge} ${limit} characters long`;
  if (origin === "array" || origin === "set") return `${edge} ${limit} items long`;
  return `${edge} ${limit}`;
}

function gotMeasure(origin: string, value: unknown): string {
  if (origin === "string" && typeof value === "string") return `got ${value.length} characters`;
  if (origin === "array" && Array.isArray(value)) return `got ${value.length} items`;
  return `got ${show(value)}`;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  return typeof value === "object" ? "a map" : typeof value;
}

/** The value at `path` inside `input` (undefined where the path leaves the data): for error text. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
