/**
 * Turns a parsed SQL92 filter into a tree of closures over PropertyValues, evaluated in SQL's
 * three-valued logic: each closure answers TRUE, FALSE or UNKNOWN, and a message matches only
 * when the whole expression is TRUE.
 *
 * - A missing property is NULL: every comparison, BETWEEN, IN and CONTAINS-like test on it is
 *   UNKNOWN; `IS NULL` / `IS NOT NULL` are the only tests that say TRUE or FALSE about it.
 * - NOT UNKNOWN is UNKNOWN; FALSE AND UNKNOWN is FALSE; TRUE OR UNKNOWN is TRUE; otherwise AND
 *   and OR with an UNKNOWN side are UNKNOWN.
 * - A present value that does not read as the literal's type (a number, or TRUE/FALSE) makes
 *   that test FALSE — `NOT BETWEEN` and `<>` included — so a stray value never errors; a NOT
 *   around the test turns that FALSE into TRUE, as NOT does.
 *
 * Evaluation allocates nothing: the closures, literals and property slots are made once here.
 */

import { unreachable } from "../../common/assert.ts";
import type { PropertyValues, TextLiteral } from "./property-values.ts";
import { utf8 } from "./record-property-values.ts";
import type { ComparisonOperator, SqlNode, TextMatchOperator } from "./sql-parser.ts";

export const sqlFalse = 0;
export const sqlTrue = 1;
export const sqlUnknown = 2;
/** sqlFalse | sqlTrue | sqlUnknown. */
export type SqlTruth = number;

export type SqlEvaluator = (values: PropertyValues) => SqlTruth;

export interface CompiledSql {
  readonly evaluate: SqlEvaluator;
  /** The property names the expression reads, by slot. */
  readonly names: readonly string[];
}

export function compileSqlTree(root: SqlNode): CompiledSql {
  const names: string[] = [];
  const slotOf = (name: string): number => {
    const found = names.indexOf(name);
    if (found >= 0) return found;
    names.push(name);
    return names.length - 1;
  };
  return { evaluate: compileNode(root, slotOf), names };
}

function literal(text: string): TextLiteral {
  return { text, bytes: utf8(text) };
}

function compileNode(node: SqlNode, slotOf: (name: string) => number): SqlEvaluator {
  switch (node.kind) {
    case "and": {
      const left = compileNode(node.left, slotOf);
      const right = compileNode(node.right, slotOf);
      return (values) => {
        const first = left(values);
        if (first === sqlFalse) return sqlFalse;
        const second = right(values);
        if (second === sqlFalse) return sqlFalse;
        return first === sqlTrue && second === sqlTrue ? sqlTrue : sqlUnknown;
      };
    }
    case "or": {
      const left = compileNode(node.left, slotOf);
      const right = compileNode(node.right, slotOf);
      return (values) => {
        const first = left(values);
        if (first === sqlTrue) return sqlTrue;
        const second = right(values);
        if (second === sqlTrue) return sqlTrue;
        return first === sqlFalse && second === sqlFalse ? sqlFalse : sqlUnknown;
      };
    }
    case "not": {
      const operand = compileNode(node.operand, slotOf);
      return (values) => {
        const truth = operand(values);
        return truth === sqlUnknown ? sqlUnknown : sqlTrue - truth;
      };
    }
    case "constant": {
      const truth = node.value ? sqlTrue : sqlFalse;
      return () => truth;
    }
    case "compare_number":
      return compareNumber(slotOf(node.name), node.operator, node.value);
    case "compare_text": {
      const slot = slotOf(node.name);
      const value = literal(node.value);
      const whenEqual = node.operator === "=" ? sqlTrue : sqlFalse;
      return (values) => (!values.has(slot) ? sqlUnknown : values.equals(slot, value) ? whenEqual : sqlTrue - whenEqual);
    }
    case "compare_boolean": {
      const slot = slotOf(node.name);
      const wanted = node.value ? 1 : 0;
      const equal = node.operator === "=";
      return (values) => {
        if (!values.has(slot)) return sqlUnknown;
        const actual = values.boolean(slot);
        if (actual < 0) return sqlFalse;
        return (actual === wanted) === equal ? sqlTrue : sqlFalse;
      };
    }
    case "between": {
      const slot = slotOf(node.name);
      const { low, high } = node;
      const inside = node.negated ? sqlFalse : sqlTrue;
      return (values) => {
        if (!values.has(slot)) return sqlUnknown;
        const number = values.number(slot);
        if (number !== number) return sqlFalse; // NaN: does not parse
        return number >= low && number <= high ? inside : sqlTrue - inside;
      };
    }
    case "in": {
      const slot = slotOf(node.name);
      const list = node.values.map(literal);
      const found = node.negated ? sqlFalse : sqlTrue;
      return (values) => {
        if (!values.has(slot)) return sqlUnknown;
        for (let index = 0; index < list.length; index++) if (values.equals(slot, list[index]!)) return found;
        return sqlTrue - found;
      };
    }
    case "is_null": {
      const slot = slotOf(node.name);
      const whenNull = node.negated ? sqlFalse : sqlTrue;
      return (values) => (values.has(slot) ? sqlTrue - whenNull : whenNull);
    }
    case "text_match": {
      const slot = slotOf(node.name);
      const value = literal(node.value);
      const whenMatch = node.negated ? sqlFalse : sqlTrue;
      const matches = textMatches[node.operator];
      return (values) => (!values.has(slot) ? sqlUnknown : matches(values, slot, value) ? whenMatch : sqlTrue - whenMatch);
    }
    default:
      return unreachable(node);
  }
}

const textMatches: Record<TextMatchOperator, (values: PropertyValues, slot: number, value: TextLiteral) => boolean> = {
  CONTAINS: (values, slot, value) => values.contains(slot, value),
  STARTSWITH: (values, slot, value) => values.startsWith(slot, value),
  ENDSWITH: (values, slot, value) => values.endsWith(slot, value),
};

function compareNumber(slot: number, operator: ComparisonOperator, literalValue: number): SqlEvaluator {
  // NULL answers UNKNOWN, a value that does not parse FALSE (NaN fails every comparison below).
  const when = (test: (value: number) => boolean): SqlEvaluator => (values) => {
    if (!values.has(slot)) return sqlUnknown;
    return test(values.number(slot)) ? sqlTrue : sqlFalse;
  };
  switch (operator) {
    case "=":
      return when((value) => value === literalValue);
    case "<>":
      return when((value) => value === value && value !== literalValue);
    case "<":
      return when((value) => value < literalValue);
    case ">":
      return when((value) => value > literalValue);
    case "<=":
      return when((value) => value <= literalValue);
    case ">=":
      return when((value) => value >= literalValue);
    default:
      return unreachable(operator);
  }
}
