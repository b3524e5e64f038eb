/**
 * Tag expressions, the one parser and matcher shared by the broker (pull, pop, REST receive) and
 * the client (subscriptions and the re-check of what arrives). The rules:
 *
 *   ""  or  "*"  (surrounding whitespace ignored)  every message, tagged or not
 *   "a || b"     messages tagged exactly a or b; whitespace around each tag is ignored, whitespace
 *                inside a tag is part of it ("big box" is one tag)
 *   an empty alternative ("a ||", "|| b", "a |||| b") or "*" beside other tags is refused
 *                (INVALID_FIELD): each is a typo more often than an intent
 *
 * A compiled expression carries the tag strings (the client's exact check) and their 32-bit
 * hashes (what the broker compares with each consume-queue entry without reading the CommitLog).
 * Two tags can share a hash, so the broker only promises to send nothing that certainly does not
 * match, and the client checks the string again. Compiled expressions are cached (bounded) since
 * pulls repeat the same few.
 */

import { MqError } from "../../common/errors.ts";
import { tagHash } from "../../common/message-properties.ts";
import { tagExpressionCacheEntriesMax } from "../../common/limits.ts";
import { filterExpressionLengthMax } from "../limits.ts";

export interface TagExpression {
  /** Normalized: "*" or the tags joined by " || ". */
  readonly expression: string;
  /** Undefined for "every message": nothing to filter and nothing to check. */
  readonly tags: ReadonlySet<string> | undefined;
  /** The tags' hashes as stored in consume-queue entries; undefined with `tags`. */
  readonly hashes: ReadonlySet<number> | undefined;
}

export const everyTag: TagExpression = { expression: "*", tags: undefined, hashes: undefined };

const cache = new Map<string, TagExpression>();

/** Compiles (or finds cached) `expression`; throws INVALID_FIELD naming `field` when it breaks a rule. */
export function compileTagExpression(expression: string, field = "tagExpression"): TagExpression {
  const cached = cache.get(expression);
  if (cached !== undefined) return cached;
  const compiled = parse(expression, field);
  if (cache.size >= tagExpressionCacheEntriesMax) cache.delete(cache.keys().next().value!);
  cache.set(expression, compiled);
  return compiled;
}

export function tagExpressionMatches(compiled: TagExpression, tag: string | undefined): boolean {
  return compiled.tags === undefined || (tag !== undefined && compiled.tags.has(tag));
}

function parse(expression: string, field: string): TagExpression {
  if (expression.length > filterExpressionLengthMax) {
    throw new MqError("INVALID_FIELD", { field, reason: `must be at most ${filterExpressionLengthMax} characters, got ${expression.length}` });
  }
  const trimmed = expression.trim();
  if (trimmed === "" || trimmed === "*") return everyTag;
  const tags = trimmed.split("||").map((tag) => tag.trim());
  if (tags.some((tag) => tag.length === 0 || tag === "*")) {
    throw new MqError("INVALID_FIELD", { field, reason: `must be "*" or tags joined by "||", got "${expression}"` });
  }
  const unique = new Set(tags);
  return { expression: [...unique].join(" || "), tags: unique, hashes: new Set([...unique].map(tagHash)) };
}
