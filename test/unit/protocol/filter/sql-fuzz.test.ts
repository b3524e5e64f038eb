/**
 * Random SQL92 expressions built from the grammar's own tokens (seeded; SEED= replays): each one
 * either compiles or is refused with FILTER_EXPRESSION_INVALID — never another error — and a
 * compiled one gives the same answer over stored properties bytes as over the decoded map, on
 * random property sets mixing numbers, non-numbers, booleans and missing values.
 */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../../src/common/errors.ts";
import { encodePropertiesText, type Properties } from "../../../../src/common/message-properties.ts";
import { SqlExpression } from "../../../../src/protocol/filter/sql-expression.ts";
import { withSeed, type SeededRandom } from "../../../helpers/seeded-random.ts";

const fragments = [
  "a", "b", "\"c.d\"", "=", "<>", "<", ">", "<=", ">=", "AND", "OR", "NOT", "(", ")", "IN", "(", "'x'", ",", "'10'", ")",
  "BETWEEN", "1", "AND", "5.5", "IS", "NULL", "TRUE", "false", "CONTAINS", "STARTSWITH", "ENDSWITH", "-", "3", "'y'", "--c\n", "/* c */",
];
const values = ["1", "5", "5.5", "10", "-2", "abc", "", "true", "FALSE", "x", "y", "xy", "1e1", " 1"];

function randomExpression(random: SeededRandom): string {
  const length = 1 + random.int(12);
  return Array.from({ length }, () => fragments[random.int(fragments.length)]!).join(" ");
}

/** Well-formed predicates joined by AND / OR / NOT, so that many compile. */
function randomValidExpression(random: SeededRandom, depth = 0): string {
  if (depth < 3 && random.next() < 0.5) {
    const join = random.next() < 0.5 ? "AND" : "OR";
    const left = randomValidExpression(random, depth + 1);
    const right = randomValidExpression(random, depth + 1);
    return `${random.next() < 0.2 ? "NOT " : ""}(${left} ${join} ${right})`;
  }
  const name = ["a", "b", "\"c.d\""][random.int(3)]!;
  const predicates = [
    `${name} > ${random.int(12) - 2}`,
    `${name} = ${random.int(12)}`,
    `${name} <> 'x'`,
    `${name} = 'abc'`,
    `${name} BETWEEN 1 AND 6`,
    `${name} NOT BETWEEN 1 AND 6`,
    `${name} IN ('x', 'y', '5')`,
    `${name} NOT IN ('abc')`,
    `${name} IS NULL`,
    `${name} IS NOT NULL`,
    `${name} = TRUE`,
    `${name} CONTAINS 'y'`,
    `${name} NOT STARTSWITH 'x'`,
    `${name} ENDSWITH '5'`,
  ];
  return predicates[random.int(predicates.length)]!;
}

function randomProperties(random: SeededRandom): Properties {
  const properties: Properties = {};
  for (const name of ["a", "b", "c.d", "other"]) if (random.next() < 0.7) properties[name] = values[random.int(values.length)]!;
  return properties;
}

describe("SQL92 filter: random expressions", () => {
  test("any token soup compiles or is refused with FILTER_EXPRESSION_INVALID", () => {
    withSeed((random) => {
      for (let round = 0; round < 3_000; round++) {
        const expression = randomExpression(random);
        try {
          new SqlExpression(expression);
        } catch (error) {
          expect({ expression, refused: isMqError(error, "FILTER_EXPRESSION_INVALID") }).toEqual({ expression, refused: true });
        }
      }
    });
  });

  test("compiled expressions agree over stored bytes and decoded maps", () => {
    const encoder = new TextEncoder();
    withSeed((random) => {
      for (let round = 0; round < 500; round++) {
        const expression = randomValidExpression(random);
        const compiled = new SqlExpression(expression);
        for (let set = 0; set < 10; set++) {
          const properties = randomProperties(random);
          const bytes = encoder.encode(encodePropertiesText(properties));
          const overMap = compiled.matchesProperties(properties);
          expect({ expression, properties, overBytes: compiled.matchesPropertiesBytes(bytes, 0, bytes.length) }).toEqual({ expression, properties, overBytes: overMap });
        }
      }
    });
  });
});
