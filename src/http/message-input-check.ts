/**
 * The per-message fast path of POST .../messages: a hand-written check that accepts exactly the
 * valid `messageInput` shapes (schemas.ts) without zod's per-field machinery (STYLE §10: zod at
 * the edges, hand-written validators on per-message paths). Anything it does not accept goes to
 * the zod schema, which then names the field and the reason — so errors stay zod's. Both check
 * shapes only: what a message may hold (no space in a key, no reserved property) is decided by
 * the one message check (protocol/message-check.ts) that every transport runs.
 */

import { tagLengthMax } from "../common/limits.ts";
import { messageKeyLengthMax, messageKeysMax, propertyNameLengthMax } from "../protocol/limits.ts";
import * as limits from "./limits.ts";
import type { MessageInput } from "./schemas.ts";

const allowedKeys = new Set(["body", "encoding", "tags", "keys", "properties", "shardingKey", "delayMs", "deliverAt", "delayLevel"]);

/** The input as zod would output it, or undefined when only zod can say what is wrong. */
export function acceptMessageInput(value: unknown): MessageInput | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const input = value as Record<string, unknown>;
  for (const key in input) if (!allowedKeys.has(key)) return undefined;
  const { body, encoding, tags, keys, properties, shardingKey, delayMs, deliverAt, delayLevel } = input;
  // Delivery times are rare on this path: zod checks them (and names what is wrong).
  if (delayMs !== undefined || deliverAt !== undefined || delayLevel !== undefined) return undefined;
  if (typeof body !== "string") return undefined;
  if (encoding !== undefined && encoding !== "utf8" && encoding !== "base64") return undefined;
  if (tags !== undefined && (typeof tags !== "string" || tags.length > tagLengthMax)) return undefined;
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length > messageKeysMax) return undefined;
    for (const key of keys) if (typeof key !== "string" || key.length === 0 || key.length > messageKeyLengthMax) return undefined;
  }
  if (properties !== undefined) {
    if (typeof properties !== "object" || properties === null || Array.isArray(properties)) return undefined;
    for (const name in properties) {
      if (name.length === 0 || name.length > propertyNameLengthMax || typeof (properties as Record<string, unknown>)[name] !== "string") return undefined;
    }
  }
  if (shardingKey !== undefined && (typeof shardingKey !== "string" || shardingKey.length === 0 || shardingKey.length > limits.shardingKeyLengthMax)) return undefined;
  return {
    body,
    encoding: encoding ?? "utf8",
    ...(tags === undefined ? {} : { tags }),
    ...(keys === undefined ? {} : { keys: keys as string[] }),
    ...(properties === undefined ? {} : { properties: properties as Record<string, string> }),
    ...(shardingKey === undefined ? {} : { shardingKey }),
  } as MessageInput;
}
