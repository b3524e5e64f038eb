/**
 * A subscription's tag expression: `*` (or empty) takes every message, `a || b` the messages
 * tagged a or b. The broker filters by the tag's hash in the consume queue; two tags can share a
 * hash, so the client checks the tag string again (as RocketMQ does) before handing a message on.
 */

import { MqError } from "../common/errors.ts";
import { filterExpressionLengthMax } from "../protocol/limits.ts";

export interface TagFilter {
  readonly expression: string;
  /** Undefined for `*`: nothing to send and nothing to check. */
  readonly tags: ReadonlySet<string> | undefined;
}

export function parseTagExpression(expression: string): TagFilter {
  const trimmed = expression.trim();
  if (trimmed.length > filterExpressionLengthMax) {
    throw new MqError("INVALID_FIELD", { field: "tagExpression", reason: `must be at most ${filterExpressionLengthMax} characters, got ${trimmed.length}` });
  }
  if (trimmed === "" || trimmed === "*") return { expression: "*", tags: undefined };
  const tags = trimmed.split("||").map((tag) => tag.trim());
  if (tags.some((tag) => tag.length === 0 || tag === "*")) {
    throw new MqError("INVALID_FIELD", { field: "tagExpression", reason: `must be "*" or tags joined by "||", got "${expression}"` });
  }
  return { expression: tags.join(" || "), tags: new Set(tags) };
}

export function tagMatches(filter: TagFilter, tag: string | undefined): boolean {
  return filter.tags === undefined || (tag !== undefined && filter.tags.has(tag));
}
