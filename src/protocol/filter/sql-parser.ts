/**
 * The SQL92 filter grammar (RocketMQ's, plus quoted property names), parsed by recursive descent
 * into a small tree the compiler turns into closures:
 *
 *   expression := or
 *   or         := and ( OR and )*
 *   and        := not ( AND not )*
 *   not        := NOT not | primary
 *   primary    := "(" expression ")" | TRUE | FALSE | property predicate
 *   predicate  := ( = | <> | < | > | <= | >= ) literal
 *               | [NOT] BETWEEN number AND number
 *               | [NOT] IN "(" string ( "," string )* ")"
 *               | IS [NOT] NULL
 *               | [NOT] ( CONTAINS | STARTSWITH | ENDSWITH ) string
 *   literal    := string | number | TRUE | FALSE       number := [+|-] digits [. digits] [e [+|-] digits]
 *
 * `<`, `>`, `<=`, `>=` and BETWEEN take numbers only, `=` and `<>` any literal. Every error names
 * the line and column of the token where the grammar broke and what it expected there.
 */

import { filterSqlDepthMax } from "../../common/limits.ts";
import { type Token, sqlSyntaxError, tokenize } from "./sql-lexer.ts";

export type ComparisonOperator = "=" | "<>" | "<" | ">" | "<=" | ">=";
export type TextMatchOperator = "CONTAINS" | "STARTSWITH" | "ENDSWITH";

export type SqlNode =
  | { readonly kind: "and" | "or"; readonly left: SqlNode; readonly right: SqlNode }
  | { readonly kind: "not"; readonly operand: SqlNode }
  | { readonly kind: "constant"; readonly value: boolean }
  | { readonly kind: "compare_number"; readonly name: string; readonly operator: ComparisonOperator; readonly value: number }
  | { readonly kind: "compare_text"; readonly name: string; readonly operator: "=" | "<>"; readonly value: string }
  | { readonly kind: "compare_boolean"; readonly name: string; readonly operator: "=" | "<>"; readonly value: boolean }
  | { readonly kind: "between"; readonly name: string; readonly negated: boolean; readonly low: number; readonly high: number }
  | { readonly kind: "in"; readonly name: string; readonly negated: boolean; readonly values: readonly string[] }
  | { readonly kind: "is_null"; readonly name: string; readonly negated: boolean }
  | { readonly kind: "text_match"; readonly name: string; readonly negated: boolean; readonly operator: TextMatchOperator; readonly value: string };

const comparisonOperators: ReadonlySet<string> = new Set(["=", "<>", "<", ">", "<=", ">="]);
const textMatchOperators: ReadonlySet<string> = new Set(["CONTAINS", "STARTSWITH", "ENDSWITH"]);

/** Parses `expression`; throws FILTER_EXPRESSION_INVALID with the line, column and what was expected. */
export function parseSql(expression: string): SqlNode {
  return new Parser(expression).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private position = 0;
  private depth = 0;

  constructor(private readonly expression: string) {
    this.tokens = tokenize(expression);
  }

  parseAll(): SqlNode {
    if (this.peek().kind === "end") throw this.fail("a condition");
    const node = this.parseOr();
    if (this.peek().kind !== "end") throw this.fail("AND, OR or the end of the expression");
    return node;
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === "keyword" && token.text === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.position += 1;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) throw this.fail(word);
  }

  private expectPunctuation(char: string, expected: string): void {
    const token = this.peek();
    if (token.kind !== "punctuation" || token.text !== char) throw this.fail(expected);
    this.position += 1;
  }

  private fail(expected: string) {
    const token = this.peek();
    const found = token.kind === "end" ? token.source : `"${token.source}"`;
    return sqlSyntaxError(this.expression, token, expected, found);
  }

  private parseOr(): SqlNode {
    let left = this.parseAnd();
    while (this.acceptKeyword("OR")) left = { kind: "or", left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): SqlNode {
    let left = this.parseNot();
    while (this.acceptKeyword("AND")) left = { kind: "and", left, right: this.parseNot() };
    return left;
  }

  private parseNot(): SqlNode {
    if (++this.depth > filterSqlDepthMax) throw this.fail(`at most ${filterSqlDepthMax} nested conditions`);
    const node: SqlNode = this.acceptKeyword("NOT") ? { kind: "not", operand: this.parseNot() } : this.parsePrimary();
    this.depth -= 1;
    return node;
  }

  private parsePrimary(): SqlNode {
    const token = this.peek();
    if (token.kind === "punctuation" && token.text === "(") {
      this.position += 1;
      const inner = this.parseOr();
      this.expectPunctuation(")", "\")\", AND or OR");
      return inner;
    }
    if (this.acceptKeyword("TRUE")) return { kind: "constant", value: true };
    if (this.acceptKeyword("FALSE")) return { kind: "constant", value: false };
    if (token.kind !== "name") throw this.fail("a property name, NOT, TRUE, FALSE or \"(\"");
    this.position += 1;
    return this.parsePredicate(token.text);
  }

  private parsePredicate(name: string): SqlNode {
    const token = this.peek();
    if (token.kind === "operator" && comparisonOperators.has(token.text)) {
      this.position += 1;
      return this.parseComparison(name, token.text as ComparisonOperator);
    }
    if (this.acceptKeyword("IS")) {
      const negated = this.acceptKeyword("NOT");
      this.expectKeyword("NULL");
      return { kind: "is_null", name, negated };
    }
    const negated = this.acceptKeyword("NOT");
    if (this.acceptKeyword("BETWEEN")) {
      const low = this.parseNumber();
      this.expectKeyword("AND");
      return { kind: "between", name, negated, low, high: this.parseNumber() };
    }
    if (this.acceptKeyword("IN")) return { kind: "in", name, negated, values: this.parseStringList() };
    const operator = this.peek();
    if (operator.kind === "keyword" && textMatchOperators.has(operator.text)) {
      this.position += 1;
      return { kind: "text_match", name, negated, operator: operator.text as TextMatchOperator, value: this.parseString() };
    }
    throw this.fail(negated ? "BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH" : "a comparison (=, <>, <, >, <=, >=), BETWEEN, IN, IS, CONTAINS, STARTSWITH or ENDSWITH");
  }

  private parseComparison(name: string, operator: ComparisonOperator): SqlNode {
    const numericOnly = operator !== "=" && operator !== "<>";
    const token = this.peek();
    if (!numericOnly && token.kind === "string") {
      this.position += 1;
      return { kind: "compare_text", name, operator: operator as "=" | "<>", value: token.text };
    }
    if (!numericOnly && token.kind === "keyword" && (token.text === "TRUE" || token.text === "FALSE")) {
      this.position += 1;
      return { kind: "compare_boolean", name, operator: operator as "=" | "<>", value: token.text === "TRUE" };
    }
    if (numericOnly && token.kind !== "number" && !(token.kind === "operator" && (token.text === "-" || token.text === "+"))) {
      throw this.fail(`a number after "${operator}"`);
    }
    if (!numericOnly && token.kind !== "number" && !(token.kind === "operator" && (token.text === "-" || token.text === "+"))) {
      throw this.fail(`a string, number, TRUE or FALSE after "${operator}"`);
    }
    return { kind: "compare_number", name, operator, value: this.parseNumber() };
  }

  private parseNumber(): number {
    let sign = 1;
    const signToken = this.peek();
    if (signToken.kind === "operator" && (signToken.text === "-" || signToken.text === "+")) {
      this.position += 1;
      if (signToken.text === "-") sign = -1;
    }
    const token = this.peek();
    if (token.kind !== "number") throw this.fail("a number");
    this.position += 1;
    const value = Number(token.text);
    if (!Number.isFinite(value)) throw sqlSyntaxError(this.expression, token, "a finite number", `"${token.source}"`);
    return sign * value;
  }

  private parseString(): string {
    const token = this.peek();
    if (token.kind !== "string") throw this.fail("a 'string'");
    this.position += 1;
    return token.text;
  }

  private parseStringList(): string[] {
    this.expectPunctuation("(", "\"(\" opening the list");
    const values = [this.parseString()];
    for (;;) {
      const token = this.peek();
      if (token.kind === "punctuation" && token.text === ")") {
        this.position += 1;
        return values;
      }
      if (token.kind !== "punctuation" || token.text !== ",") throw this.fail("\",\" or \")\"");
      this.position += 1;
      values.push(this.parseString());
    }
  }
}
