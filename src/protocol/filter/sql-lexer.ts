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

/** Splits `expression` into tokens ending with one "end" token; throws FILTER_EXPRESSION_INVALID. */
export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  let lineStart = 0;
  const here = () => ({ line, column: index - lineStart + 1 });
  const advanceOver = (end: number) => {
    for (; index < end; index++) {
      if (expression.charCodeAt(index) === 10) {
        line += 1;
        lineStart = index + 1;
      }
    }
  };
  while (index < expression.length) {
    const char = expression[index]!;
    const code = expression.charCodeAt(index);
    if (char === " " || char === "\t" || char === "\r" || char === "\n") {
      advanceOver(index + 1);
      continue;
    }
    if (expression.startsWith("--", index)) {
      const end = expression.indexOf("\n", index);
      advanceOver(end < 0 ? expression.length : end);
      continue;
    }
    if (expression.startsWith("/*", index)) {
      const end = expression.indexOf("*/", index + 2);
      if (end < 0) throw sqlSyntaxError(expression, here(), "the end of the comment \"*/\"", "the end of the expression");
      advanceOver(end + 2);
      continue;
    }
    const start = here();
    const startIndex = index;
    const push = (kind: TokenKind, text: string) => tokens.push({ kind, text, source: expression.slice(startIndex, index), ...start });
    if (char === "'" || char === "\"") {
      const text = readQuoted(expression, index, char);
      if (text === undefined) {
        throw sqlSyntaxError(expression, start, char === "'" ? "a closing \"'\"" : "a closing '\"'", "the end of the expression");
      }
      advanceOver(text.end);
      if (char === "\"" && text.value.length === 0) throw sqlSyntaxError(expression, start, "a property name", "\"\"");
      push(char === "'" ? "string" : "name", text.value);
      continue;
    }
    if (isDigit(code) || (char === "." && isDigit(expression.charCodeAt(index + 1)))) {
      advanceOver(numberEnd(expression, index));
      push("number", expression.slice(startIndex, index));
      continue;
    }
    if (isNameStart(code)) {
      let end = index + 1;
      while (end < expression.length && (isNameStart(expression.charCodeAt(end)) || isDigit(expression.charCodeAt(end)))) end++;
      advanceOver(end);
      const word = expression.slice(startIndex, end);
      const upper = word.toUpperCase();
      if (keywords.has(upper)) push("keyword", upper);
      else push("name", word);
      continue;
    }
    const pair = expression.slice(index, index + 2);
    if (twoCharOperators.has(pair)) {
      advanceOver(index + 2);
      push("operator", pair);
      continue;
    }
    if (oneCharOperators.includes(char) || char === "-" || char === "+") {
      advanceOver(index + 1);
      push("operator", char);
      continue;
    }
    if (punctuation.includes(char)) {
      advanceOver(index + 1);
      push("punctuation", char);
      continue;
    }
    throw sqlSyntaxError(expression, start, "a property name, literal, operator or parenthesis", `"${char}"`);
  }
  tokens.push({ kind: "end", text: "", source: "the end of the expression", ...here() });
  return tokens;
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
