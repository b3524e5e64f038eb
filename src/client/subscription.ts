/**
 * What a consumer subscribes a topic with, as the SDK takes it — a tag expression (`"*"`,
 * `"a || b"`, or `{ tags }`) or a SQL92 expression (`{ sql }`) — compiled on subscribe, so a bad
 * expression fails there (INVALID_FIELD for tags, FILTER_EXPRESSION_INVALID with the line and
 * column for SQL92) rather than at the first pull.
 *
 * The group's retry topic: a clustering PushConsumer also consumes `%RETRY%<group>`, where
 * failed messages of all its topics come back carrying their origin topic in RETRY_TOPIC (and
 * their tags and properties unchanged). So that retried messages keep being filtered, the retry
 * topic is subscribed with one SQL92 expression built from the topic subscriptions: a retried
 * message of a filtered topic must match that topic's filter; any other (its topic is
 * subscribed with "*", or no longer subscribed) passes as before.
 */

import { propertyNames } from "../common/message-properties.ts";
import { type FilterExpression, type MessageFilter, compileFilter, everyMessage } from "../protocol/filter/filter-expression.ts";
import { compileSqlExpression } from "../protocol/filter/sql-expression.ts";
import { filterExpressionLengthMax } from "../protocol/limits.ts";

export type SubscriptionExpression = string | { readonly tags: string } | { readonly sql: string };

export function compileSubscription(expression: SubscriptionExpression = "*"): MessageFilter {
  const filter: FilterExpression =
    typeof expression === "string" ? { expressionType: "TAG", expression } : "sql" in expression ? { expressionType: "SQL92", expression: expression.sql } : { expressionType: "TAG", expression: expression.tags };
  return compileFilter(filter)!;
}

/** The filter as requests carry it; undefined for every message (no filter sent). */
export function wireFilter(filter: MessageFilter): FilterExpression | undefined {
  if (filter.expressionType === "TAG" && filter.tagHashes === undefined) return undefined;
  return { expressionType: filter.expressionType, expression: filter.expression };
}

function quoted(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The SQL92 that a message satisfies when it matches `filter` (callers wrap it in lines of its own: it may end in a `--` comment). */
function asSql(filter: MessageFilter): string {
  if (filter.expressionType === "SQL92") return filter.expression;
  const tags = filter.expression.split(" || ").map(quoted);
  return `"${propertyNames.tags}" IN (${tags.join(", ")})`;
}

/**
 * The retry topic's filter for these topic subscriptions (the retry topic's own entry ignored).
 * When the expression would exceed the request limit, the broker is sent no filter and the
 * client's re-check alone applies it.
 */
export function retryTopicFilter(subscriptions: ReadonlyMap<string, MessageFilter>, retryTopic: string): { broker: MessageFilter; client: MessageFilter } {
  // Sorted by topic: members that subscribe alike send the same text, so the broker sees no conflict.
  const filtered = [...subscriptions].filter(([topic, filter]) => topic !== retryTopic && wireFilter(filter) !== undefined).sort(([first], [second]) => (first < second ? -1 : first > second ? 1 : 0));
  if (filtered.length === 0) return { broker: everyMessage, client: everyMessage };
  const origin = `"${propertyNames.retryTopic}"`;
  const clauses = filtered.map(([topic, filter]) => `(${origin} = ${quoted(topic)} AND (\n${asSql(filter)}\n))`);
  const expression = [`${origin} IS NULL`, `${origin} NOT IN (${filtered.map(([topic]) => quoted(topic)).join(", ")})`, ...clauses].join("\nOR ");
  const sql = compileSqlExpression(expression);
  const client: MessageFilter = {
    expressionType: "SQL92",
    expression,
    tagHashes: undefined,
    acceptRecord: (record, position) => sql.matchesRecord(record, position),
    matches: (_tags, properties) => sql.matchesProperties(properties),
  };
  return { broker: expression.length > filterExpressionLengthMax ? everyMessage : client, client };
}
