/**
 * Subscription expressions, compiled for the pull path. A TAG expression is `*` (or empty:
 * everything) or tags joined by `||` ("a || b"); it compiles to the set of their 32-bit hashes,
 * which the store compares with the hash in each consume-queue entry without touching the
 * CommitLog. Two tags can share a hash, so — as in RocketMQ — a client re-checks the tag of what
 * it receives; the broker only promises to send nothing that certainly does not match.
 *
 * Compiled filters are cached by expression (pulls repeat the same few), with a bounded cache.
 */

import { MqError } from "../common/errors.ts";
import { tagHash } from "../common/message-properties.ts";

export interface FilterExpression {
  readonly expressionType: "TAG" | "SQL92";
  readonly expression: string;
}

/** Hashes of the accepted tags; undefined accepts every message. */
export type CompiledFilter = ReadonlySet<number> | undefined;

const cacheEntriesMax = 1_024;
const cache = new Map<string, CompiledFilter>();

export function compileFilter(filter: FilterExpression | undefined): CompiledFilter {
  if (filter === undefined) return undefined;
  if (filter.expressionType === "SQL92") {
    throw new MqError("BAD_REQUEST", { reason: `SQL92 filters are not supported yet: "${filter.expression}"` });
  }
  const cached = cache.get(filter.expression);
  if (cached !== undefined || cache.has(filter.expression)) return cached;
  const compiled = compileTags(filter.expression);
  if (cache.size >= cacheEntriesMax) cache.delete(cache.keys().next().value!);
  cache.set(filter.expression, compiled);
  return compiled;
}

/** The tags of a TAG expression; undefined for "everything". */
export function parseTagExpression(expression: string): string[] | undefined {
  const trimmed = expression.trim();
  if (trimmed === "" || trimmed === "*") return undefined;
  const tags = trimmed.split("||").map((tag) => tag.trim()).filter((tag) => tag.length > 0);
  if (tags.includes("*")) return undefined;
  if (tags.length === 0) throw new MqError("INVALID_FIELD", { field: "filter.expression", reason: `must be "*" or tags joined by "||", got "${expression}"` });
  return tags;
}

function compileTags(expression: string): CompiledFilter {
  const tags = parseTagExpression(expression);
  return tags === undefined ? undefined : new Set(tags.map(tagHash));
}
