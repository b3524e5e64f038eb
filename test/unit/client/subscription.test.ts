import { describe, expect, test } from "bun:test";
import { compileSubscription, retryTopicFilter, wireFilter } from "../../../src/client/subscription.ts";
import { isMqError } from "../../../src/common/errors.ts";
import type { MessageFilter } from "../../../src/protocol/filter/filter-expression.ts";
import { errorOf } from "../../helpers/error-of.ts";

const retryTopic = "%RETRY%g";

function subscriptions(entries: Array<[string, Parameters<typeof compileSubscription>[0]]>): Map<string, MessageFilter> {
  return new Map(entries.map(([topic, expression]) => [topic, compileSubscription(expression)]));
}

describe("client subscriptions", () => {
  test("tags, { tags } and { sql } compile; \"*\" sends no filter", () => {
    expect(wireFilter(compileSubscription("*"))).toBeUndefined();
    expect(wireFilter(compileSubscription({ tags: "a||b" }))).toEqual({ expressionType: "TAG", expression: "a || b" });
    expect(wireFilter(compileSubscription({ sql: "a > 1" }))).toEqual({ expressionType: "SQL92", expression: "a > 1" });
    expect(isMqError(errorOf(() => compileSubscription({ sql: "a >" })), "FILTER_EXPRESSION_INVALID")).toBe(true);
    expect(isMqError(errorOf(() => compileSubscription("a ||")), "INVALID_FIELD")).toBe(true);
  });

  test("the retry topic takes every message when no topic is filtered", () => {
    const filter = retryTopicFilter(subscriptions([["Orders", "*"], [retryTopic, "*"]]), retryTopic);
    expect(wireFilter(filter.broker)).toBeUndefined();
  });

  test("a retried message must match the filter of the topic it came from; others pass", () => {
    const filter = retryTopicFilter(subscriptions([["Orders", { sql: "region = 'eu' -- trailing comment" }], ["Tagged", "it's || b"], ["All", "*"]]), retryTopic).client;
    const retried = (topic: string | undefined, properties: Record<string, string>) => filter.matches(undefined, topic === undefined ? properties : { ...properties, RETRY_TOPIC: topic });
    expect(retried("Orders", { region: "eu" })).toBe(true);
    expect(retried("Orders", { region: "us" })).toBe(false);
    expect(retried("Tagged", { TAGS: "it's" })).toBe(true);
    expect(retried("Tagged", { TAGS: "c" })).toBe(false);
    expect(retried("All", {})).toBe(true);
    expect(retried("Unsubscribed", {})).toBe(true);
    expect(retried(undefined, {})).toBe(true);
  });

  test("members subscribing the same topics in another order build the same retry expression", () => {
    const one = retryTopicFilter(subscriptions([["A", { sql: "x = 1" }], ["B", "t"]]), retryTopic);
    const two = retryTopicFilter(subscriptions([["B", "t"], ["A", { sql: "x = 1" }]]), retryTopic);
    expect(one.broker.expression).toBe(two.broker.expression);
  });

  test("an expression past the request limit is checked by the client alone", () => {
    const long = `a IN (${Array.from({ length: 400 }, (_, index) => `'value-${index}'`).join(", ")})`;
    const filter = retryTopicFilter(subscriptions([["A", { sql: long.slice(0, 4000).replace(/, '[^']*$/, ")") }], ["B", { sql: "b = 1" }]]), retryTopic);
    expect(wireFilter(filter.broker)).toBeUndefined();
    expect(filter.client.matches(undefined, { RETRY_TOPIC: "B", b: "2" })).toBe(false);
  });
});
