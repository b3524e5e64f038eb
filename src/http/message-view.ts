/**
 * A stored message as REST JSON. Bodies are bytes: they are shown as UTF-8 text when they are
 * valid UTF-8 (most JSON and text payloads) and as base64 otherwise, with `encoding` saying which
 * — unless the caller forces one (`?encoding=base64`). System properties (tags, keys, msgId)
 * appear as their own fields, not again among `properties`. The message is the SDK's
 * ReceivedMessage, so messages read in-process and through the SDK look the same.
 */

import type { ReceivedMessage } from "../client/message.ts";
import { propertyNames } from "../common/message-properties.ts";
import type { QueueOffset } from "../common/offsets.ts";

export type BodyEncoding = "utf8" | "base64";

export interface MessageView {
  topic: string;
  queueId: number;
  queueOffset: QueueOffset;
  msgId: string;
  offsetMsgId: string;
  tags: string | undefined;
  keys: string[];
  properties: Record<string, string>;
  body: string;
  encoding: BodyEncoding;
  bornTimestampMs: number;
  storeTimestampMs: number;
  bornHost: string;
  storeHost: string;
  reconsumeTimes: number;
  storeSize: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");
const shownSeparately = new Set<string>([propertyNames.tags, propertyNames.keys, propertyNames.msgId]);

export function messageView(message: ReceivedMessage, encoding?: BodyEncoding): MessageView {
  const body = encodeBody(message.body, encoding);
  const properties: Record<string, string> = {};
  for (const name in message.properties) if (!shownSeparately.has(name)) properties[name] = message.properties[name]!;
  return {
    topic: message.topic,
    queueId: message.queueId,
    queueOffset: message.queueOffset,
    msgId: message.msgId,
    offsetMsgId: message.offsetMsgId,
    tags: message.tags,
    keys: [...message.keys],
    properties,
    body: body.text,
    encoding: body.encoding,
    bornTimestampMs: message.bornTimestampMs,
    storeTimestampMs: message.storeTimestampMs,
    bornHost: message.bornHost,
    storeHost: message.storeHost,
    reconsumeTimes: message.reconsumeTimes,
    storeSize: message.storeSize,
  };
}

function encodeBody(bytes: Uint8Array, forced: BodyEncoding | undefined): { text: string; encoding: BodyEncoding } {
  if (forced === "base64") return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"), encoding: "base64" };
  if (forced === "utf8") return { text: lenientUtf8.decode(bytes), encoding: "utf8" };
  try {
    return { text: strictUtf8.decode(bytes), encoding: "utf8" };
  } catch {
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"), encoding: "base64" };
  }
}
