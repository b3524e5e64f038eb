/**
 * The property values a SQL92 filter reads, taken straight from a stored record's properties
 * region (`name \u0001 value \u0002` pairs, UTF-8; message-properties.ts): `bind` walks the region
 * once and notes where each referenced property's value lies; the comparisons then work on those
 * bytes. No string, no Message object, no body decode: the broker's filtered scan reads only the
 * properties region. UTF-8 makes byte comparison exact: equal texts have equal bytes, and a text
 * contains another exactly when its bytes contain the other's.
 *
 * As when decoding, the last of two pairs with the same name wins.
 */

import { parseBooleanText, parseNumberText, type PropertyValues, type TextLiteral } from "./property-values.ts";

const nameValueSeparator = 1;
const pairSeparator = 2;
/** Up to 15 digits a double holds exactly, and so does 10^k for k ≤ 22: their quotient is correctly rounded. */
const exactDigitsMax = 15;
const powersOfTen = Array.from({ length: exactDigitsMax + 1 }, (_, power) => 10 ** power);
const textEncoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export class RecordPropertyValues implements PropertyValues {
  private readonly names: readonly Uint8Array[];
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(names: readonly string[]) {
    this.names = names.map(utf8);
    this.starts = new Int32Array(names.length);
    this.ends = new Int32Array(names.length);
  }

  /** Points at the properties region `bytes[start, end)`. */
  bind(bytes: Uint8Array, start: number, end: number): this {
    this.bytes = bytes;
    const { names, starts, ends } = this;
    starts.fill(-1);
    let pair = start;
    while (pair < end) {
      let split = pair;
      while (split < end && bytes[split] !== nameValueSeparator && bytes[split] !== pairSeparator) split++;
      let pairEnd = split;
      while (pairEnd < end && bytes[pairEnd] !== pairSeparator) pairEnd++;
      if (split < pairEnd && bytes[split] === nameValueSeparator && split > pair) {
        for (let slot = 0; slot < names.length; slot++) {
          if (sameBytes(bytes, pair, split, names[slot]!)) {
            starts[slot] = split + 1;
            ends[slot] = pairEnd;
          }
        }
      }
      pair = pairEnd + 1;
    }
    return this;
  }

  has(slot: number): boolean {
    return this.starts[slot]! >= 0;
  }

  number(slot: number): number {
    return parseNumberBytes(this.bytes, this.starts[slot]!, this.ends[slot]!);
  }

  boolean(slot: number): number {
    const length = this.ends[slot]! - this.starts[slot]!;
    if (length !== 4 && length !== 5) return -1;
    return parseBooleanText(latin1(this.bytes, this.starts[slot]!, this.ends[slot]!));
  }

  equals(slot: number, literal: TextLiteral): boolean {
    const start = this.starts[slot]!;
    return this.ends[slot]! - start === literal.bytes.length && sameBytes(this.bytes, start, this.ends[slot]!, literal.bytes);
  }

  contains(slot: number, literal: TextLiteral): boolean {
    const needle = literal.bytes;
    const last = this.ends[slot]! - needle.length;
    for (let at = this.starts[slot]!; at <= last; at++) if (sameBytes(this.bytes, at, at + needle.length, needle)) return true;
    return false;
  }

  startsWith(slot: number, literal: TextLiteral): boolean {
    const start = this.starts[slot]!;
    return this.ends[slot]! - start >= literal.bytes.length && sameBytes(this.bytes, start, start + literal.bytes.length, literal.bytes);
  }

  endsWith(slot: number, literal: TextLiteral): boolean {
    const end = this.ends[slot]!;
    return end - this.starts[slot]! >= literal.bytes.length && sameBytes(this.bytes, end - literal.bytes.length, end, literal.bytes);
  }
}

function sameBytes(bytes: Uint8Array, start: number, end: number, other: Uint8Array): boolean {
  if (end - start !== other.length) return false;
  for (let index = 0; index < other.length; index++) if (bytes[start + index] !== other[index]) return false;
  return true;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let index = start; index < end; index++) text += String.fromCharCode(bytes[index]!);
  return text;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 57;
}

/**
 * `bytes[start, end)` as a number in the grammar of parseNumberText, NaN when it does not parse.
 * Plain values of up to 15 digits are computed here; others (exponents, more digits) go through
 * the text form, so both paths give the same double.
 */
export function parseNumberBytes(bytes: Uint8Array, start: number, end: number): number {
  let index = start;
  const sign = bytes[index];
  if (sign === 43 || sign === 45) index++; // + -
  let mantissa = 0;
  const integerStart = index;
  while (index < end && isDigit(bytes[index])) {
    mantissa = mantissa * 10 + (bytes[index]! - 48);
    index++;
  }
  const digits = index - integerStart;
  let fractionDigits = 0;
  if (index < end && bytes[index] === 46) { // "."
    index++;
    const fractionStart = index;
    while (index < end && isDigit(bytes[index])) {
      mantissa = mantissa * 10 + (bytes[index]! - 48);
      index++;
    }
    fractionDigits = index - fractionStart;
  }
  if (digits + fractionDigits === 0) return Number.NaN;
  if (index < end || digits + fractionDigits > exactDigitsMax) return parseNumberText(latin1(bytes, start, end));
  const value = fractionDigits === 0 ? mantissa : mantissa / powersOfTen[fractionDigits]!;
  return sign === 45 ? -value : value;
}
