/**
 * The REST edge: reading a JSON body, parsing bodies, queries and path parameters with zod, and
 * shaping every error as `{ code, error, details }` from the one catalogue with its HTTP status.
 *
 * A zod failure becomes INVALID_FIELD naming the first bad field as a path a user can find in
 * their JSON (`[2].keys[0]`, `invisibleMs`) and why, in the catalogue's style: a malformed body
 * is always a 400, never a 500.
 */

import type { Context } from "hono";
import type { z } from "zod";
import { MqError } from "../common/errors.ts";
import { issueReason, valueAt } from "../protocol/schema-issues.ts";

export interface ErrorBody {
  code: number;
  error: string;
  details: Record<string, unknown>;
}

export function errorBody(error: MqError): ErrorBody {
  return { code: error.code, error: error.message, details: { ...error.params } };
}

/** Any thrown value as a catalogue error; something that is not one is a bug (INTERNAL, 500). */
export function toMqError(error: unknown): MqError {
  if (error instanceof MqError) return error;
  return new MqError("INTERNAL", { reason: error instanceof Error ? error.message : String(error) }, { cause: error });
}

export function errorResponse(context: Context, error: MqError): Response {
  return context.json(errorBody(error), error.http as 400);
}

/** The body as JSON; an empty or unparsable body is BAD_REQUEST saying so. */
export async function readJson(context: Context): Promise<unknown> {
  const text = await context.req.text();
  if (text.trim().length === 0) throw new MqError("BAD_REQUEST", { reason: "the body is empty, expected JSON" });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MqError("BAD_REQUEST", { reason: `the body is not valid JSON: ${(error as Error).message}` });
  }
}

/** Parses `value` with `schema`, or throws INVALID_FIELD for the first issue. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidField(result.error.issues[0]!, value, prefix);
}

export async function parseBody<S extends z.ZodType>(context: Context, schema: S): Promise<z.output<S>> {
  return parseWith(schema, await readJson(context));
}

export function parseQuery<S extends z.ZodType>(context: Context, schema: S): z.output<S> {
  return parseWith(schema, context.req.query());
}

export function parseParams<S extends z.ZodType>(context: Context, schema: S): z.output<S> {
  return parseWith(schema, context.req.param());
}

function invalidField(issue: z.core.$ZodIssue, input: unknown, prefix: string): MqError {
  if (issue.code === "unrecognized_keys") {
    const field = joinPath(prefix, [...issue.path, issue.keys[0] ?? "?"]);
    return new MqError("INVALID_FIELD", { field, reason: "is not a known field" });
  }
  const field = joinPath(prefix, issue.path) || "(body)";
  return new MqError("INVALID_FIELD", { field, reason: issueReason(issue, valueAt(input, issue.path)) });
}

/** ["messages", 2, "keys", 0] → "messages[2].keys[0]". */
function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let text = prefix;
  for (const key of path) text = typeof key === "number" ? `${text}[${key}]` : text.length === 0 || /[-\s]$/.test(text) ? text + String(key) : `${text}.${String(key)}`;
  return text;
}

