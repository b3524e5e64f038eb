import { describe, expect, test } from "bun:test";
import { isMqError, type MqError } from "../../../../src/common/errors.ts";
import { filterSqlDepthMax } from "../../../../src/common/limits.ts";
import { compileSqlExpression } from "../../../../src/protocol/filter/sql-expression.ts";
import { errorOf } from "../../../helpers/error-of.ts";

type ErrorRow = readonly [expression: string, line: number, column: number, expected: string];

const rows: readonly ErrorRow[] = [
  ["", 1, 1, "a condition"],
  ["a >", 1, 4, "a number after \">\""],
  ["a > 'x'", 1, 5, "a number after \">\""],
  ["a = ", 1, 5, "a string, number, TRUE or FALSE after \"=\""],
  ["a", 1, 2, "a comparison (=, <>, <, >, <=, >=), BETWEEN, IN, IS, CONTAINS, STARTSWITH or ENDSWITH"],
  ["a = 1 b = 2", 1, 7, "AND, OR or the end of the expression"],
  ["(a = 1", 1, 7, "\")\", AND or OR"],
  ["a IN 'x'", 1, 6, "\"(\" opening the list"],
  ["a IN ('x' 'y')", 1, 11, "\",\" or \")\""],
  ["a IN (1)", 1, 7, "a 'string'"],
  ["a IS NOT 1", 1, 10, "NULL"],
  ["a BETWEEN 1 OR 2", 1, 13, "AND"],
  ["a NOT = 1", 1, 7, "BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH"],
  ["a CONTAINS 3", 1, 12, "a 'string'"],
  ["a = 'open", 1, 5, "a closing \"'\""],
  ["\"open = 1", 1, 1, "a closing '\"'"],
  ["a = 1 /* open", 1, 7, "the end of the comment \"*/\""],
  ["a = 1 AND\n  b ! 2", 2, 5, "a property name, literal, operator or parenthesis"],
  ["a = 1\nAND\n\t= 2", 3, 2, "a property name, NOT, TRUE, FALSE or \"(\""],
  ["AND = 1", 1, 1, "a property name, NOT, TRUE, FALSE or \"(\""],
  ["\"\" = 1", 1, 1, "a property name"],
  ["a > 1e999", 1, 5, "a finite number"],
];

describe("SQL92 filter: errors name the line, column and what was expected", () => {
  for (const [expression, line, column, expected] of rows) {
    test(`${JSON.stringify(expression)}: line ${line}, column ${column}, expected ${expected}`, () => {
      const error = errorOf(() => compileSqlExpression(expression)) as MqError;
      expect(isMqError(error, "FILTER_EXPRESSION_INVALID")).toBe(true);
      expect(error.code).toBe(1020);
      expect({ line: error.params["line"], column: error.params["column"], expected: error.params["expected"] }).toEqual({ line, column, expected });
      expect(error.message).toContain(`at line ${line}, column ${column}`);
    });
  }

  test("the message quotes the expression and what was found", () => {
    const error = errorOf(() => compileSqlExpression("region = 'eu' AND price >")) as MqError;
    expect(error.message).toBe("Cannot compile SQL92 filter \"region = 'eu' AND price >\": expected a number after \">\" at line 1, column 26, found the end of the expression");
  });

  test(`nesting past ${filterSqlDepthMax} levels is refused, not a stack overflow`, () => {
    const deep = `${"(".repeat(filterSqlDepthMax + 1)}a = 1${")".repeat(filterSqlDepthMax + 1)}`;
    expect(isMqError(errorOf(() => compileSqlExpression(deep)), "FILTER_EXPRESSION_INVALID")).toBe(true);
    const notNot = `${"NOT ".repeat(filterSqlDepthMax - 1)}a = 1`;
    expect(compileSqlExpression(notNot).matchesProperties({ a: "1" })).toBe(filterSqlDepthMax % 2 === 1);
  });

  test("a compiled expression is cached per group and expression", () => {
    expect(compileSqlExpression("a = 1", "g1")).toBe(compileSqlExpression("a = 1", "g1"));
    expect(compileSqlExpression("a = 1", "g1")).not.toBe(compileSqlExpression("a = 1", "g2"));
  });
});
