/**
 * The tokens of a SQL92 filter expression. Keywords are case-insensitive; property names are
 * case-sensitive, either bare (`region`, `a_1`, `$x`) or double-quoted (`"a.b-c"`, `""` inside
 * stands for one `"`) so names RocketMQ cannot reference (with `.`, `-`, `/`) can be filtered
 * on. Strings are single-quoted with `''` for a quote. Comments: `--` to the end of the line and
 * `/* ... *\/`. Every token records the line and column (1-based) where it starts, which the
 * parser's errors report.
 */

import { MqError } from "../../common/errors.ts";

export type TokenKind = "name" | "keyword" | "string" | "number" | "operator" | "punctuation" | "end";

export interface Token {
  readonly kind: TokenKind;
  /** Keywords upper-cased; names and strings unquoted; operators and punctuation as written. */
  readonly text: string;
  /** The token as written, for error messages. */
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

export const keywords: ReadonlySet<string> = new Set([
  "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE", "CONTAINS", "STARTSWITH", "ENDSWITH",
]);

const twoCharOperators: ReadonlySet<string> = new Set(["<>", "<=", ">="]);
const oneCharOperators = "=<>";
const punctuation = "(),";

export function sqlSyntaxError(expression: string, at: { line: number; column: number }, expected: string, found: string): MqError {
  return new MqError("FILTER_EXPRESSION_INVALID", { expression, line: at.line, column: at.column, expected, found });
}

function isNameStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36; // A-Z a-z _ $
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** A place in the expression: the index and its 1-based line and column. */
class Cursor {
  index = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly expression: string) {}

  here(): { line: number; column: number } {
    return { line: this.line, column: this.index - this.lineStart + 1 };
  }

  advanceTo(end: number): void {
    for (; this.index < end; this.index++) {
      if (this.expression.charCodeAt(this.index) === 10) {
        this.line += 1;
        this.lineStart = this.index + 1;
      }
    }
  }
}

/** Splits `expression` into tokens ending with one "end" token; throws FILTER_EXPRESSION_INVALID. */
export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const cursor = new Cursor(expression);
  while (cursor.index < expression.length) {
    const triviaEnd = skipTrivia(expression, cursor);
    if (triviaEnd > cursor.index) {
      cursor.advanceTo(triviaEnd);
      continue;
    }
    const start = cursor.here();
    const { kind, text, end } = readToken(expression, cursor.index, start);
    tokens.push({ kind, text, source: expression.slice(cursor.index, end), ...start });
    cursor.advanceTo(end);
  }
  tokens.push({ kind: "end", text: "", source: "the end of the expression", ...cursor.here() });
  return tokens;
}

/** Where whitespace or a comment at the cursor ends (the cursor's index when there is none). */
function skipTrivia(expression: string, cursor: Cursor): number {
  const index = cursor.index;
  const char = expression[index];
  if (char === " " || char === "\t" || char === "\r" || char === "\n") return index + 1;
  if (expression.startsWith("--", index)) {
    const end = expression.indexOf("\n", index);
    return end < 0 ? expression.length : end;
  }
  if (expression.startsWith("/*", index)) {
    const end = expression.indexOf("*/", index + 2);
    if (end < 0) throw sqlSyntaxError(expression, cursor.here(), "the end of the comment \"*/\"", "the end of the expression");
    return end + 2;
  }
  return index;
}

/** The token starting at `index` (`start` is its line and column, for errors). */
function readToken(expression: string, index: number, start: { line: number; column: number }): { kind: TokenKind; text: string; end: number } {
  const char = expression[index]!;
  const code = expression.charCodeAt(index);
  if (char === "'" || char === "\"") {
    const quoted = readQuoted(expression, index, char);
    if (quoted === undefined) throw sqlSyntaxError(expression, start, char === "'" ? "a closing \"'\"" : "a closing '\"'", "the end of the expression");
    if (char === "\"" && quoted.value.length === 0) throw sqlSyntaxError(expression, start, "a property name", "\"\"");
    return { kind: char === "'" ? "string" : "name", text: quoted.value, end: quoted.end };
  }
  if (isDigit(code) || (char === "." && isDigit(expression.charCodeAt(index + 1)))) {
    const end = numberEnd(expression, index);
    return { kind: "number", text: expression.slice(index, end), end };
  }
  if (isNameStart(code)) {
    let end = index + 1;
    while (end < expression.length && (isNameStart(expression.charCodeAt(end)) || isDigit(expression.charCodeAt(end)))) end++;
    const word = expression.slice(index, end);
    const upper = word.toUpperCase();
    return keywords.has(upper) ? { kind: "keyword", text: upper, end } : { kind: "name", text: word, end };
  }
  const pair = expression.slice(index, index + 2);
  if (twoCharOperators.has(pair)) return { kind: "operator", text: pair, end: index + 2 };
  if (oneCharOperators.includes(char) || char === "-" || char === "+") return { kind: "operator", text: char, end: index + 1 };
  if (punctuation.includes(char)) return { kind: "punctuation", text: char, end: index + 1 };
  throw sqlSyntaxError(expression, start, "a property name, literal, operator or parenthesis", `"${char}"`);
}

/** The unquoted text of the quoted token at `start` and the index past its closing quote, or undefined when it is not closed. */
function readQuoted(expression: string, start: number, quote: string): { value: string; end: number } | undefined {
  let value = "";
  let index = start + 1;
  for (;;) {
    const close = expression.indexOf(quote, index);
    if (close < 0) return undefined;
    value += expression.slice(index, close);
    if (expression[close + 1] !== quote) return { value, end: close + 1 };
    value += quote;
    index = close + 2;
  }
}

/** Digits, an optional fraction and an optional exponent: `12`, `12.5`, `.5`, `1e3`, `2.5E-2`. */
function numberEnd(expression: string, start: number): number {
  let index = start;
  while (isDigit(expression.charCodeAt(index))) index++;
  if (expression[index] === ".") {
    index++;
    while (isDigit(expression.charCodeAt(index))) index++;
  }
  if (expression[index] === "e" || expression[index] === "E") {
    let exponent = index + 1;
    if (expression[exponent] === "+" || expression[exponent] === "-") exponent++;
    if (isDigit(expression.charCodeAt(exponent))) {
      index = exponent;
      while (isDigit(expression.charCodeAt(index))) index++;
    }
  }
  return index;
}
