/** The one set of tag-expression rules, shared by broker and client: a table of cases. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../../src/common/errors.ts";
import { tagHash } from "../../../../src/common/message-properties.ts";
import { compileFilter } from "../../../../src/protocol/filter/filter-expression.ts";
import { compileTagExpression, tagExpressionMatches } from "../../../../src/protocol/filter/tag-expression.ts";
import { filterExpressionLengthMax } from "../../../../src/protocol/limits.ts";
import { errorOf } from "../../../helpers/error-of.ts";

/** expression → normalized form and which tags it takes (undefined: an untagged message). */
const accepted: Array<{ expression: string; normalized: string; takes: Array<string | undefined>; refuses: Array<string | undefined> }> = [
  { expression: "*", normalized: "*", takes: ["a", undefined, "*"], refuses: [] },
  { expression: "", normalized: "*", takes: ["a", undefined], refuses: [] },
  { expression: "   ", normalized: "*", takes: ["a", undefined], refuses: [] },
  { expression: " * ", normalized: "*", takes: ["a", undefined], refuses: [] },
  { expression: "a", normalized: "a", takes: ["a"], refuses: ["b", undefined, "A", " a"] },
  { expression: "a||b", normalized: "a || b", takes: ["a", "b"], refuses: ["c", undefined, "a||b"] },
  { expression: " a ||b ", normalized: "a || b", takes: ["a", "b"], refuses: ["c"] },
  { expression: "a || a", normalized: "a", takes: ["a"], refuses: ["b"] },
  { expression: "big box || c", normalized: "big box || c", takes: ["big box", "c"], refuses: ["big", "box"] },
  { expression: "\ta\t||\nb", normalized: "a || b", takes: ["a", "b"], refuses: ["\ta"] },
];

const refused = ["a ||", "|| b", "a |||| b", "||", " || ", "a || *", "* || a", "x".repeat(filterExpressionLengthMax + 1)];

describe("tag expressions: the rules", () => {
  for (const { expression, normalized, takes, refuses } of accepted) {
    test(`${JSON.stringify(expression)} is ${JSON.stringify(normalized)}`, () => {
      const compiled = compileTagExpression(expression);
      expect(compiled.expression).toBe(normalized);
      for (const tag of takes) expect(tagExpressionMatches(compiled, tag)).toBe(true);
      for (const tag of refuses) expect(tagExpressionMatches(compiled, tag)).toBe(false);
      if (compiled.tags === undefined) expect(compiled.hashes).toBeUndefined();
      else expect([...compiled.hashes!].sort()).toEqual([...compiled.tags].map(tagHash).sort());
    });
  }

  for (const expression of refused) {
    test(`${JSON.stringify(expression.slice(0, 20))} is refused with INVALID_FIELD`, () => {
      const error = errorOf(() => compileTagExpression(expression, "filter.expression"));
      expect(isMqError(error, "INVALID_FIELD")).toBe(true);
      expect((error as Error).message).toContain("filter.expression");
    });
  }

  test("a compiled expression is reused", () => {
    expect(compileTagExpression("p || q")).toBe(compileTagExpression("p || q"));
  });
});

describe("filter expressions", () => {
  test("no filter is no filter; TAG compiles by the same rules", () => {
    expect(compileFilter(undefined)).toBeUndefined();
    expect(compileFilter({ expressionType: "TAG", expression: "a||b" })?.expression).toBe("a || b");
    expect(compileFilter({ expressionType: "TAG", expression: "*" })?.tagHashes).toBeUndefined();
    expect(isMqError(errorOf(() => compileFilter({ expressionType: "TAG", expression: "a ||" })), "INVALID_FIELD")).toBe(true);
  });

  test("SQL92 compiles to an exact record test, and a bad one is refused with its position", () => {
    const filter = compileFilter({ expressionType: "SQL92", expression: "a > 1" });
    expect(filter?.tagHashes).toBeUndefined();
    expect(filter?.matches(undefined, { a: "2" })).toBe(true);
    expect(filter?.matches(undefined, { a: "1" })).toBe(false);
    expect(isMqError(errorOf(() => compileFilter({ expressionType: "SQL92", expression: "a >" })), "FILTER_EXPRESSION_INVALID")).toBe(true);
  });
});
