/**
 * The compact header of the hot codes (README §3.1): SEND_MESSAGE, SEND_BATCH and PULL_MESSAGE
 * requests and their success responses may carry their header as a msgpack **array** instead of
 * a map, the fields by position in a documented order, so neither end writes, reads or compares
 * a key string per field. The header's first byte tells the forms apart (a map starts 0x80-0x8f,
 * 0xde or 0xdf; an array 0x90-0x9f, 0xdc or 0xdd), so map headers — other clients', admin
 * requests', errors' — decode exactly as before.
 *
 *   request:  [code, opaque, flags, field 1, field 2, ...]
 *   response: [code, opaque, flags, request code, field 1, field 2, ...]
 *
 * A field that is absent is nil; trailing nils may be left out; elements past the known fields
 * are ignored (a newer peer may append fields). A receiver answers a compact request with a
 * compact success response and a map request with a map one; errors are always maps. A sender
 * whose fields include one the order does not know sends a map instead.
 */

import { RequestCode } from "./request-codes.ts";

/** Field order of each hot code's request and success response. Append only: positions are wire format. */
export const compactFieldOrders: Readonly<Record<number, { readonly request: readonly string[]; readonly response: readonly string[] }>> = {
  [RequestCode.SEND_MESSAGE]: {
    request: ["producerGroup", "topic", "queueId", "msgId", "bornTimestampMs", "flag", "tags", "keys", "properties", "bornHost", "reconsumeTimes", "delayLevel", "deliverAtMs", "delayMs", "transactionPrepared", "dedupKey"],
    response: ["msgId", "offsetMsgId", "topic", "queueId", "queueOffset", "deliverAtMs", "scheduled", "duplicate", "transactionId"],
  },
  [RequestCode.SEND_BATCH]: {
    request: ["producerGroup", "topic", "queueId", "messageCount", "bornTimestampMs", "bornHost", "transactionPrepared"],
    response: ["topic", "queueId", "firstQueueOffset", "storeHost", "physicalOffsets", "deliverAtMs", "scheduled", "duplicates"],
  },
  [RequestCode.PULL_MESSAGE]: {
    request: ["consumerGroup", "topic", "queueId", "queueOffset", "maxMessages", "suspendTimeoutMs", "maxBytes", "filter", "commitOffset"],
    response: ["status", "nextOffset", "minOffset", "maxOffset"],
  },
};

/** Per hot code, request and response: field name → position in the array (after the fixed elements). */
const positions = new Map<number, { request: ReadonlyMap<string, number>; response: ReadonlyMap<string, number> }>(
  Object.entries(compactFieldOrders).map(([code, order]) => [
    Number(code),
    { request: new Map(order.request.map((name, index) => [name, index])), response: new Map(order.response.map((name, index) => [name, index])) },
  ]),
);

export function hasCompactHeader(code: number): boolean {
  return positions.has(code);
}

/** Elements before the fields: code, opaque, flags (and the request code in a response). */
export const compactRequestFixed = 3;
export const compactResponseFixed = 4;

/**
 * The compact array of a header, or undefined when it cannot be compact (not a hot code, or a
 * field the order does not know). `requestCode` is set for a response: the code it answers.
 */
export function compactHeader(code: number, opaque: number, flags: number, fields: Readonly<Record<string, unknown>> | undefined, requestCode?: number): unknown[] | undefined {
  const byName = positions.get(requestCode ?? code);
  if (byName === undefined) return undefined;
  const order = requestCode === undefined ? byName.request : byName.response;
  const fixed = requestCode === undefined ? compactRequestFixed : compactResponseFixed;
  const header = new Array<unknown>(fixed + order.size).fill(null); // msgpack nil: absent
  header[0] = code;
  header[1] = opaque;
  header[2] = flags;
  if (requestCode !== undefined) header[3] = requestCode;
  let end = fixed;
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    const position = order.get(name);
    if (position === undefined) return undefined;
    header[fixed + position] = value;
    if (fixed + position + 1 > end) end = fixed + position + 1;
  }
  header.length = end;
  return header;
}

/**
 * The named header of a decoded compact array, as a map header would decode; or a reason it is
 * not one. The fixed elements are returned as `code`, `opaque` and `flags` for the frame checks.
 */
export function namedHeader(array: readonly unknown[]): Record<string, unknown> | string {
  const isResponse = typeof array[2] === "number" && (array[2] & 1) !== 0;
  const fixed = isResponse ? compactResponseFixed : compactRequestFixed;
  if (array.length < fixed) return `compact header has ${array.length} elements, at least ${fixed} needed`;
  const header: Record<string, unknown> = { code: array[0], opaque: array[1], flags: array[2] };
  const hotCode = isResponse ? array[3] : array[0];
  const order = typeof hotCode === "number" ? compactFieldOrders[hotCode] : undefined;
  if (order === undefined) return `code ${String(hotCode)} has no compact header`;
  const names = isResponse ? order.response : order.request;
  const count = Math.min(names.length, array.length - fixed);
  for (let index = 0; index < count; index++) {
    const value = array[fixed + index];
    if (value !== null && value !== undefined) header[names[index]!] = value;
  }
  return header;
}
