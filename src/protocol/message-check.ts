/**
 * The one set of rules a message must meet, whatever carries it: the broker's message service
 * runs it for TCP, REST and in-process sends, and the SDK runs it before a request goes out, so a
 * bad message fails at once with the error the broker would give (and is never retried).
 *
 * The edges (zod schemas, hot-request-checks.ts, batch-body.ts) check only shapes — types and
 * the lengths that bound a frame. What a message may hold is decided here:
 * - topic: `topicNamePattern`, else TOPIC_INVALID;
 * - body: at most `messageBodyBytesMax`, else MESSAGE_TOO_LARGE;
 * - tags: at most `tagLengthMax` characters (INVALID_FIELD, as the edges say), without the
 *   property separators (PROPERTY_INVALID);
 * - keys: at most `messageKeysMax` keys of 1..`messageKeyLengthMax` characters (INVALID_FIELD);
 *   a key holding whitespace or a separator is PROPERTY_INVALID: keys are stored joined by spaces
 *   (RocketMQ's KEYS property), so "a b" would come back as two keys;
 * - properties: names of 1..255 characters (INVALID_FIELD, as the edges say), names and values
 *   without the separators \u0001 and \u0002, no reserved name (message-properties.ts), else
 *   PROPERTY_INVALID; all properties as stored (with tags, keys and the msgId) at most
 *   `messagePropertiesBytesMax` bytes, else PROPERTIES_TOO_LARGE;
 * - dedupKey: 1..`dedupKeyLengthMax` characters (INVALID_FIELD) without the separators
 *   (PROPERTY_INVALID): it is stored as the DEDUP_KEY property.
 *
 * It allocates nothing for a valid message of ordinary size: the encoded size is computed only
 * when a cheap upper bound says it might be over the limit.
 */

import { MqError } from "../common/errors.ts";
import { dedupKeyLengthMax, messageBodyBytesMax, messagePropertiesBytesMax, tagLengthMax, topicNamePattern } from "../common/limits.ts";
import { encodePropertiesText, propertyNames, reservedPropertyNames } from "../common/message-properties.ts";
import { messageKeyLengthMax, messageKeysMax, propertyNameLengthMax } from "./limits.ts";

export interface MessageToCheck {
  readonly topic: string;
  readonly body: Uint8Array;
  readonly tags?: string;
  readonly keys?: readonly string[];
  readonly properties?: Readonly<Record<string, string>>;
  /** What the broker's dedup window knows the message by instead of its msgId. */
  readonly dedupKey?: string;
}

const separators = /[\u0001\u0002]/;
const keyBreakers = /[\s\u0001\u0002]/;
/** UNIQ_KEY's value: a msgId is 32 hex characters. */
const msgIdLength = 32;
const textEncoder = new TextEncoder();

/** Throws the catalogue error of the first rule `message` breaks. */
export function checkMessage(message: MessageToCheck): void {
  if (typeof message.topic !== "string" || !topicNamePattern.test(message.topic)) {
    throw new MqError("TOPIC_INVALID", { topic: String(message.topic), reason: `it must match ${topicNamePattern.source}` });
  }
  if (!(message.body instanceof Uint8Array)) throw new MqError("BAD_REQUEST", { reason: "message body must be a string or a Uint8Array" });
  if (message.body.byteLength > messageBodyBytesMax) throw new MqError("MESSAGE_TOO_LARGE", { bytes: message.body.byteLength, limit: messageBodyBytesMax });
  const { tags, keys, properties } = message;
  // Stored bytes are at most 3 per UTF-16 unit; each pair adds its two separators.
  let boundBytes = 0;
  if (tags !== undefined) {
    // Length as the request edges bound it (INVALID_FIELD everywhere); separators are what a property may not hold.
    if (typeof tags !== "string" || tags.length > tagLengthMax) throw new MqError("INVALID_FIELD", { field: "tags", reason: `must be a string of at most ${tagLengthMax} characters` });
    if (separators.test(tags)) throw new MqError("PROPERTY_INVALID", { name: propertyNames.tags, reason: "tags must not hold \\u0001 or \\u0002" });
    boundBytes += (propertyNames.tags.length + tags.length) * 3 + 2;
  }
  if (keys !== undefined) boundBytes += checkKeys(keys);
  if (properties !== undefined) boundBytes += checkProperties(properties);
  if (message.dedupKey !== undefined) boundBytes += checkDedupKey(message.dedupKey);
  if (boundBytes + (propertyNames.msgId.length + msgIdLength + 2) > messagePropertiesBytesMax) checkPropertiesBytes(message);
}

function checkDedupKey(dedupKey: string): number {
  if (typeof dedupKey !== "string" || dedupKey.length === 0 || dedupKey.length > dedupKeyLengthMax) {
    throw new MqError("INVALID_FIELD", { field: "dedupKey", reason: `must be 1..${dedupKeyLengthMax} characters, got ${typeof dedupKey === "string" ? dedupKey.length : typeof dedupKey}` });
  }
  if (separators.test(dedupKey)) throw new MqError("PROPERTY_INVALID", { name: propertyNames.dedupKey, reason: "a dedup key must not hold \\u0001 or \\u0002" });
  return (propertyNames.dedupKey.length + dedupKey.length) * 3 + 2;
}

function checkKeys(keys: readonly string[]): number {
  if (!Array.isArray(keys) || keys.length > messageKeysMax) {
    throw new MqError("INVALID_FIELD", { field: "keys", reason: `must hold at most ${messageKeysMax} keys, got ${Array.isArray(keys) ? keys.length : typeof keys}` });
  }
  let bound = propertyNames.keys.length * 3 + 2;
  for (const key of keys) {
    if (typeof key !== "string" || key.length === 0 || key.length > messageKeyLengthMax) {
      throw new MqError("INVALID_FIELD", { field: "keys", reason: `each key must be 1..${messageKeyLengthMax} characters, got ${JSON.stringify(key)}` });
    }
    if (keyBreakers.test(key)) {
      throw new MqError("PROPERTY_INVALID", { name: propertyNames.keys, reason: `key ${JSON.stringify(key)} holds whitespace or a separator; keys are stored separated by spaces` });
    }
    bound += (key.length + 1) * 3;
  }
  return bound;
}

function checkProperties(properties: Readonly<Record<string, string>>): number {
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) {
    throw new MqError("PROPERTY_INVALID", { name: "properties", reason: "they must be a map of names to strings" });
  }
  let bound = 0;
  for (const name in properties) {
    const value = properties[name];
    if (typeof value !== "string") throw new MqError("PROPERTY_INVALID", { name, reason: "its value must be a string" });
    if (name.length === 0 || name.length > propertyNameLengthMax) throw new MqError("INVALID_FIELD", { field: "properties", reason: `names must be 1..${propertyNameLengthMax} characters, got ${name.length}` });
    if (separators.test(name) || separators.test(value)) throw new MqError("PROPERTY_INVALID", { name, reason: "names and values must not hold \\u0001 or \\u0002" });
    if (reservedPropertyNames.has(name)) throw new MqError("PROPERTY_INVALID", { name, reason: "the name is reserved for the broker" });
    bound += (name.length + value.length) * 3 + 2;
  }
  return bound;
}

/** The exact size of the properties as the store will encode them (a msgId always included). */
function checkPropertiesBytes(message: MessageToCheck): void {
  const all: Record<string, string> = { ...message.properties };
  if (message.tags !== undefined) all[propertyNames.tags] = message.tags;
  if (message.keys !== undefined && message.keys.length > 0) all[propertyNames.keys] = message.keys.join(" ");
  if (message.dedupKey !== undefined) all[propertyNames.dedupKey] = message.dedupKey;
  all[propertyNames.msgId] = "0".repeat(msgIdLength);
  const bytes = textEncoder.encode(encodePropertiesText(all)).byteLength;
  if (bytes > messagePropertiesBytesMax) throw new MqError("PROPERTIES_TOO_LARGE", { bytes, limit: messagePropertiesBytesMax });
}
