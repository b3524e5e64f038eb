/**
 * A subscription's filter as requests carry it (PULL_MESSAGE, POP_MESSAGE, REST receive):
 * `{ expressionType: "TAG" | "SQL92", expression }`, compiled into one MessageFilter that the
 * broker's pull, pop and REST paths and the client's re-check all use:
 *
 * - TAG: the broker compares tag hashes in the consume queue (no CommitLog read); two tags can
 *   share a hash, so the client checks the tag string again.
 * - SQL92: the broker evaluates the expression over each candidate record's properties region,
 *   exactly, so nothing that does not match leaves the broker; the client's check agrees.
 */

import { MqError } from "../../common/errors.ts";
import type { Properties } from "../../common/message-properties.ts";
import { filterExpressionLengthMax } from "../limits.ts";
import { compileSqlExpression, type SqlExpression } from "./sql-expression.ts";
import { type TagExpression, compileTagExpression, tagExpressionMatches } from "./tag-expression.ts";

export type ExpressionType = "TAG" | "SQL92";

export interface FilterExpression {
  readonly expressionType: ExpressionType;
  readonly expression: string;
}

export interface MessageFilter {
  readonly expressionType: ExpressionType;
  /** Normalized for tags ("*", or tags joined by " || "); as written for SQL92. */
  readonly expression: string;
  /** Tag hashes a consume-queue entry must carry; undefined accepts every entry. */
  readonly tagHashes: ReadonlySet<number> | undefined;
  /** The test on a stored record (checked structure, see SqlExpression.matchesRecord); undefined accepts every record. */
  readonly acceptRecord: ((record: Uint8Array, position: number) => boolean) | undefined;
  /** The exact test on a decoded message. */
  matches(tags: string | undefined, properties: Properties): boolean;
}

class TagFilter implements MessageFilter {
  readonly expressionType = "TAG";
  readonly acceptRecord = undefined;
  constructor(private readonly tag: TagExpression) {}

  get expression(): string {
    return this.tag.expression;
  }

  get tagHashes(): ReadonlySet<number> | undefined {
    return this.tag.hashes;
  }

  matches(tags: string | undefined): boolean {
    return tagExpressionMatches(this.tag, tags);
  }
}

class SqlFilter implements MessageFilter {
  readonly expressionType = "SQL92";
  readonly tagHashes = undefined;
  readonly acceptRecord: (record: Uint8Array, position: number) => boolean;

  constructor(private readonly sql: SqlExpression) {
    this.acceptRecord = (record, position) => sql.matchesRecord(record, position);
  }

  get expression(): string {
    return this.sql.expression;
  }

  matches(_tags: string | undefined, properties: Properties): boolean {
    return this.sql.matchesProperties(properties);
  }
}

/**
 * True when `filter` takes every message whatever its tags and properties (a TAG filter of
 * `*`): the client's re-check then skips the message's properties, which stay undecoded.
 */
export function acceptsEveryMessage(filter: MessageFilter): boolean {
  return filter.expressionType === "TAG" && filter.tagHashes === undefined;
}

const tagFilters = new WeakMap<TagExpression, MessageFilter>();
const sqlFilters = new WeakMap<SqlExpression, MessageFilter>();

/** The filter taking every message: no tag hashes, no record test. */
export const everyMessage: MessageFilter = tagFilterOf(compileTagExpression("*"));

function tagFilterOf(tag: TagExpression): MessageFilter {
  let filter = tagFilters.get(tag);
  if (filter === undefined) tagFilters.set(tag, (filter = new TagFilter(tag)));
  return filter;
}

/**
 * Compiles (or finds cached) a subscription's filter; undefined comes back as undefined (no
 * filter). Throws INVALID_FIELD for a bad tag expression, FILTER_EXPRESSION_INVALID (line,
 * column, what was expected) for bad SQL92. `group` keys the SQL92 cache.
 */
export function compileFilter(filter: FilterExpression | undefined, group?: string): MessageFilter | undefined {
  if (filter === undefined) return undefined;
  if (filter.expressionType === "TAG") return tagFilterOf(compileTagExpression(filter.expression, "filter.expression"));
  if (filter.expression.length > filterExpressionLengthMax) {
    throw new MqError("INVALID_FIELD", { field: "filter.expression", reason: `must be at most ${filterExpressionLengthMax} characters, got ${filter.expression.length}` });
  }
  const sql = compileSqlExpression(filter.expression, group);
  let compiled = sqlFilters.get(sql);
  if (compiled === undefined) sqlFilters.set(sql, (compiled = new SqlFilter(sql)));
  return compiled;
}
