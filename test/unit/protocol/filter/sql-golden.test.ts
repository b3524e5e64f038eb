/**
 * The golden table of SQL92 filtering: the spec of the grammar, the type rules and SQL's
 * three-valued logic. Each row runs twice — over a decoded properties map (the client's re-check,
 * REST) and over the properties bytes as the CommitLog stores them (the broker's scan) — and both
 * must give the row's answer.
 */

import { describe, expect, test } from "bun:test";
import { encodePropertiesText, type Properties } from "../../../../src/common/message-properties.ts";
import { SqlExpression } from "../../../../src/protocol/filter/sql-expression.ts";

type Row = readonly [expression: string, properties: Properties, matches: boolean];

const none: Properties = {};
const eu: Properties = { region: "eu", a: "150" };

export const goldenTable: readonly Row[] = [
  // Comparisons with numbers: the property's text is read as a number.
  ["a > 100", { a: "150" }, true],
  ["a > 100", { a: "100" }, false],
  ["a >= 100", { a: "100" }, true],
  ["a < 100", { a: "99.99" }, true],
  ["a <= 100", { a: "100.0" }, true],
  ["a = 100", { a: "100.00" }, true],
  ["a = 100", { a: "1e2" }, true],
  ["a <> 100", { a: "101" }, true],
  ["a <> 100", { a: "100" }, false],
  ["price > 30", { price: "30.5" }, true],
  ["price > 30.25", { price: "30.5" }, true],
  ["price < -1", { price: "-2" }, true],
  ["price > +1", { price: "+2" }, true],
  ["price = .5", { price: "0.5" }, true],
  ["price = 5", { price: "5." }, true],
  ["a = 12345678901234567", { a: "12345678901234567" }, true],
  ["a > 2.5E1", { a: "26" }, true],
  // A value that does not read as a number makes the comparison FALSE — never an error.
  ["a > 100", { a: "abc" }, false],
  ["a < 100", { a: "abc" }, false],
  ["a = 100", { a: "" }, false],
  ["a <> 100", { a: "abc" }, false],
  ["a > 1", { a: " 2" }, false],
  ["a > 1", { a: "0x10" }, false],
  ["a > 1", { a: "Infinity" }, false],
  ["a > 1", { a: "1,5" }, false],
  ["NOT a > 100", { a: "abc" }, true],
  ["a > 1", { a: "1e" }, false],
  ["a > 1", { a: "2 " }, false],
  ["a > 1", { a: "١٢" }, false],
  ["a = 7", { a: "007" }, true],
  ["a = 0", { a: "-0" }, true],
  ["a < 0", { a: "-1e-3" }, true],
  ["a = 0.1", { a: "0.1" }, true],
  ["a = 123456.789", { a: "123456.789" }, true],
  ["a = 0.3", { a: "0.30000000000000004" }, false],
  ["a IN ('1')", { a: "1.0" }, false],
  ["a BETWEEN 1 AND 10", { a: "abc" }, false],
  ["a NOT BETWEEN 1 AND 10", { a: "abc" }, false],
  // NULL (a missing property): every test on it is UNKNOWN, which does not match.
  ["a > 100", none, false],
  ["NOT a > 100", none, false],
  ["a = 'x'", none, false],
  ["a <> 'x'", none, false],
  ["NOT a = 'x'", none, false],
  ["a IN ('x', 'y')", none, false],
  ["a NOT IN ('x', 'y')", none, false],
  ["a BETWEEN 1 AND 2", none, false],
  ["a NOT BETWEEN 1 AND 2", none, false],
  ["a CONTAINS 'x'", none, false],
  ["a NOT CONTAINS 'x'", none, false],
  ["a = TRUE", none, false],
  ["a IS NULL", none, true],
  ["a IS NOT NULL", none, false],
  ["a IS NULL", { a: "" }, false],
  ["a IS NOT NULL", { a: "" }, true],
  ["NOT a IS NULL", { a: "1" }, true],
  // Three-valued AND / OR / NOT.
  ["a > 1 AND b > 1", { b: "2" }, false], // UNKNOWN AND TRUE = UNKNOWN
  ["NOT (a > 1 AND b > 1)", { b: "2" }, false], // NOT UNKNOWN = UNKNOWN
  ["NOT (a > 1 AND b > 1)", { b: "0" }, true], // NOT (UNKNOWN AND FALSE) = NOT FALSE
  ["a > 1 OR b > 1", { b: "2" }, true], // UNKNOWN OR TRUE = TRUE
  ["a > 1 OR b > 1", { b: "0" }, false], // UNKNOWN OR FALSE = UNKNOWN
  ["NOT (a > 1 OR b > 1)", { b: "0" }, false],
  ["NOT (a > 1 OR b > 1)", { a: "0", b: "0" }, true],
  ["a = 'x' OR a IS NULL", none, true],
  ["TRUE", none, true],
  ["FALSE", none, false],
  ["NOT FALSE", none, true],
  ["TRUE OR a > 1", none, true],
  ["FALSE AND a > 1", none, false],
  // Strings: exact, case-sensitive; '' is a quote inside a literal.
  ["region = 'eu'", eu, true],
  ["region = 'EU'", eu, false],
  ["region <> 'us'", eu, true],
  ["region = ''", { region: "" }, true],
  ["name = 'O''Brien'", { name: "O'Brien" }, true],
  ["a = '100'", { a: "100.0" }, false],
  ["city = 'Zürich'", { city: "Zürich" }, true],
  // IN / NOT IN.
  ["region IN ('eu', 'us')", eu, true],
  ["region IN ('us', 'ap')", eu, false],
  ["region NOT IN ('us', 'ap')", eu, true],
  ["region NOT IN ('eu')", eu, false],
  ["a IS NOT NULL AND a > 100 AND region IN ('eu','us')", eu, true],
  ["a IS NOT NULL AND a > 100 AND region IN ('eu','us')", { region: "eu", a: "99" }, false],
  ["a IS NOT NULL AND a > 100 AND region IN ('eu','us')", { region: "eu" }, false],
  // BETWEEN is inclusive; NOT BETWEEN is outside.
  ["a BETWEEN 1 AND 10", { a: "1" }, true],
  ["a BETWEEN 1 AND 10", { a: "10" }, true],
  ["a BETWEEN 1 AND 10", { a: "10.5" }, false],
  ["a NOT BETWEEN 1 AND 10", { a: "11" }, true],
  ["a NOT BETWEEN 1 AND 10", { a: "5" }, false],
  ["a BETWEEN -5 AND -1", { a: "-3" }, true],
  // Booleans: TRUE / FALSE against "true" / "false" in any case; anything else is FALSE.
  ["flag = TRUE", { flag: "true" }, true],
  ["flag = TRUE", { flag: "TRUE" }, true],
  ["flag = FALSE", { flag: "false" }, true],
  ["flag <> TRUE", { flag: "false" }, true],
  ["flag = TRUE", { flag: "yes" }, false],
  ["flag <> TRUE", { flag: "yes" }, false],
  // CONTAINS, STARTSWITH, ENDSWITH and their NOT forms.
  ["title CONTAINS 'bc'", { title: "abcd" }, true],
  ["title CONTAINS 'x'", { title: "abcd" }, false],
  ["title CONTAINS ''", { title: "abcd" }, true],
  ["title STARTSWITH 'ab'", { title: "abcd" }, true],
  ["title STARTSWITH 'bc'", { title: "abcd" }, false],
  ["title ENDSWITH 'cd'", { title: "abcd" }, true],
  ["title ENDSWITH 'abcde'", { title: "abcd" }, false],
  ["title NOT CONTAINS 'x'", { title: "abcd" }, true],
  ["title NOT STARTSWITH 'a'", { title: "abcd" }, false],
  ["title NOT ENDSWITH 'x'", { title: "abcd" }, true],
  ["city CONTAINS 'ür'", { city: "Zürich" }, true],
  // Names: case-sensitive; quoted names reach what RocketMQ cannot reference.
  ["\"a.b-c\" = 'x'", { "a.b-c": "x" }, true],
  ["\"path/to\" > 1", { "path/to": "2" }, true],
  ["\"say \"\"hi\"\"\" = 'y'", { "say \"hi\"": "y" }, true],
  ["Region = 'eu'", eu, false],
  ["\"AND\" = 'x'", { AND: "x" }, true],
  ["TAGS = 'blue'", { TAGS: "blue" }, true],
  // Keywords in any case, comments, precedence (NOT over AND over OR), parentheses.
  ["region in ('eu') and not a < 100", eu, true],
  ["region = 'us' OR region = 'eu' AND a > 1000", eu, false],
  ["(region = 'us' OR region = 'eu') AND a > 100", eu, true],
  ["region = 'us' OR region = 'eu' AND a > 100", eu, true],
  ["-- leading comment\nregion = 'eu' /* inline */ AND a > 1 -- trailing", eu, true],
  ["/* multi\nline */ a > 1", eu, true],
  ["NOT NOT a > 1", eu, true],
];

function propertiesBytes(properties: Properties): Uint8Array {
  return new TextEncoder().encode(encodePropertiesText(properties));
}

describe("SQL92 filter: the golden table", () => {
  test("holds at least 60 rows", () => {
    expect(goldenTable.length).toBeGreaterThanOrEqual(60);
  });

  for (const [expression, properties, matches] of goldenTable) {
    test(`${JSON.stringify(expression)} over ${JSON.stringify(properties)} is ${matches}`, () => {
      const compiled = new SqlExpression(expression);
      expect(compiled.matchesProperties(properties)).toBe(matches);
      const bytes = propertiesBytes(properties);
      expect(compiled.matchesPropertiesBytes(bytes, 0, bytes.length)).toBe(matches);
    });
  }
});

describe("SQL92 filter: reading stored properties", () => {
  test("the last of two pairs with the same name wins, as decoding does", () => {
    const bytes = new TextEncoder().encode("a\u00011\u0002a\u00012\u0002");
    expect(new SqlExpression("a = 2").matchesPropertiesBytes(bytes, 0, bytes.length)).toBe(true);
  });

  test("a pair without a value separator and a name that is a prefix of another are not the property", () => {
    const bytes = new TextEncoder().encode("a\u0002ab\u00011\u0002");
    expect(new SqlExpression("a IS NULL").matchesPropertiesBytes(bytes, 0, bytes.length)).toBe(true);
  });

  test("only the given region is read", () => {
    const bytes = new TextEncoder().encode("a\u00011\u0002b\u00012\u0002");
    expect(new SqlExpression("b IS NULL").matchesPropertiesBytes(bytes, 0, 4)).toBe(true);
  });
});
