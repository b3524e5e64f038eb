/**
 * A subscription's filter as requests carry it (PULL_MESSAGE, POP_MESSAGE, REST receive):
 * `{ expressionType: "TAG" | "SQL92", expression }`. Only tag expressions are served; SQL92 is
 * refused with a clear error rather than taken as "every message".
 */

import { MqError } from "../../common/errors.ts";
import { type TagExpression, compileTagExpression } from "./tag-expression.ts";

export interface FilterExpression {
  readonly expressionType: "TAG" | "SQL92";
  readonly expression: string;
}

/** The compiled filter; undefined (no filter) and "*" both come back as an expression taking every message. */
export function compileFilter(filter: FilterExpression | undefined): TagExpression | undefined {
  if (filter === undefined) return undefined;
  if (filter.expressionType === "SQL92") {
    throw new MqError("BAD_REQUEST", { reason: `SQL92 filters are not supported yet: "${filter.expression}"` });
  }
  return compileTagExpression(filter.expression, "filter.expression");
}
