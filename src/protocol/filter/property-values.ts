/**
 * What a compiled SQL92 filter asks of a message's properties, by slot (the index of a property
 * name in the expression), so one compiled evaluator runs over a decoded properties map (the
 * client's re-check, REST) or straight over a stored record's bytes (the broker's scan, see
 * record-property-values.ts) without building strings.
 *
 * The type rules live here: a property is text; compared with a number it is read as a number
 * in the grammar `[+|-] digits [. digits] [e [+|-] digits]` (also `.5` and `5.`, no spaces), and
 * one that does not parse is NaN, which makes that comparison false; compared with TRUE or FALSE
 * it is read as `true` / `false` in any case.
 */

import type { Properties } from "../../common/message-properties.ts";

/** A string literal of an expression, also as UTF-8 for byte-level comparison. */
export interface TextLiteral {
  readonly text: string;
  readonly bytes: Uint8Array;
}

export interface PropertyValues {
  has(slot: number): boolean;
  /** The present property read as a number; NaN when it does not parse. */
  number(slot: number): number;
  /** The present property read as a boolean: 1 true, 0 false, -1 neither. */
  boolean(slot: number): number;
  equals(slot: number, literal: TextLiteral): boolean;
  contains(slot: number, literal: TextLiteral): boolean;
  startsWith(slot: number, literal: TextLiteral): boolean;
  endsWith(slot: number, literal: TextLiteral): boolean;
}

const numberPattern = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parseNumberText(text: string): number {
  return numberPattern.test(text) ? Number(text) : Number.NaN;
}

export function parseBooleanText(text: string): number {
  if (text.length === 4 && text.toLowerCase() === "true") return 1;
  if (text.length === 5 && text.toLowerCase() === "false") return 0;
  return -1;
}

/** The values of one message's decoded properties; `bind` points it at the next message (no allocation). */
export class PropertyMapValues implements PropertyValues {
  private readonly values: (string | undefined)[];

  constructor(private readonly names: readonly string[]) {
    this.values = names.map(() => undefined);
  }

  bind(properties: Properties): this {
    for (let slot = 0; slot < this.names.length; slot++) {
      const value = properties[this.names[slot]!];
      this.values[slot] = typeof value === "string" ? value : undefined;
    }
    return this;
  }

  has(slot: number): boolean {
    return this.values[slot] !== undefined;
  }

  number(slot: number): number {
    return parseNumberText(this.values[slot]!);
  }

  boolean(slot: number): number {
    return parseBooleanText(this.values[slot]!);
  }

  equals(slot: number, literal: TextLiteral): boolean {
    return this.values[slot] === literal.text;
  }

  contains(slot: number, literal: TextLiteral): boolean {
    return this.values[slot]!.includes(literal.text);
  }

  startsWith(slot: number, literal: TextLiteral): boolean {
    return this.values[slot]!.startsWith(literal.text);
  }

  endsWith(slot: number, literal: TextLiteral): boolean {
    return this.values[slot]!.endsWith(literal.text);
  }
}
