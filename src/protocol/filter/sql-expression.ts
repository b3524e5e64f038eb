/**
 * A compiled SQL92 filter (grammar: sql-parser.ts, type and NULL rules: sql-compiler.ts and
 * property-values.ts) with the two ways to run it: over a decoded properties map, and over a
 * stored record's bytes, reading only its properties region. Each compiled expression owns one
 * value reader of each kind and rebinds it per message, so matching allocates nothing; that
 * is safe because a match runs to completion without yielding.
 *
 * Compiled expressions are cached per consumer group and expression (bounded,
 * sqlFilterCacheEntriesMax): every pull and pop of a subscription repeats its expression.
 */

import type { Properties } from "../../common/message-properties.ts";
import { sqlFilterCacheEntriesMax } from "../../common/limits.ts";
import { PropertyMapValues } from "./property-values.ts";
import { RecordPropertyValues } from "./record-property-values.ts";
import { type SqlEvaluator, compileSqlTree, sqlTrue } from "./sql-compiler.ts";
import { parseSql } from "./sql-parser.ts";

/** Where the body length sits in a stored record (message-record.ts); body, topic and properties follow. */
const bodyLengthAt = 84;
const bodyAt = 88;

export class SqlExpression {
  private readonly evaluate: SqlEvaluator;
  private readonly mapValues: PropertyMapValues;
  private readonly recordValues: RecordPropertyValues;
  /** The property names the expression reads. */
  readonly names: readonly string[];

  constructor(readonly expression: string) {
    const compiled = compileSqlTree(parseSql(expression));
    this.evaluate = compiled.evaluate;
    this.names = compiled.names;
    this.mapValues = new PropertyMapValues(compiled.names);
    this.recordValues = new RecordPropertyValues(compiled.names);
  }

  /** Whether the expression is TRUE for these properties (FALSE and UNKNOWN do not match). */
  matchesProperties(properties: Properties): boolean {
    return this.evaluate(this.mapValues.bind(properties)) === sqlTrue;
  }

  /** Whether the expression is TRUE for the properties region `bytes[start, end)` of a record. */
  matchesPropertiesBytes(bytes: Uint8Array, start: number, end: number): boolean {
    return this.evaluate(this.recordValues.bind(bytes, start, end)) === sqlTrue;
  }

  /**
   * Whether the expression is TRUE for the stored record at `position` of `bytes`; the caller has
   * checked the record's structure (checkedRecordSize), so its length fields can be trusted.
   */
  matchesRecord(bytes: Uint8Array, position: number): boolean {
    const bodyLength = readUint32(bytes, position + bodyLengthAt);
    const topicLengthAt = position + bodyAt + bodyLength;
    const propertiesLengthAt = topicLengthAt + 1 + bytes[topicLengthAt]!;
    const propertiesStart = propertiesLengthAt + 2;
    return this.matchesPropertiesBytes(bytes, propertiesStart, propertiesStart + ((bytes[propertiesLengthAt]! << 8) | bytes[propertiesLengthAt + 1]!));
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

const cache = new Map<string, SqlExpression>();

/** Compiles (or finds cached) `expression` for `group`; throws FILTER_EXPRESSION_INVALID with the line, column and what was expected. */
export function compileSqlExpression(expression: string, group = ""): SqlExpression {
  const key = `${group}\u0000${expression}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const compiled = new SqlExpression(expression);
  if (cache.size >= sqlFilterCacheEntriesMax) cache.delete(cache.keys().next().value!);
  cache.set(key, compiled);
  return compiled;
}
