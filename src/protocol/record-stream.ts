/**
 * Splits a body of concatenated CommitLog records (a pull, pop or query response) into
 * messages. Each record starts with `crc u32 | totalSize u32`; every length inside a record is
 * bounded here, before use, so the lazy views it returns (record-view.ts) never read past their
 * record, and a malformed answer fails here rather than later in the application.
 */

import { MqError } from "../common/errors.ts";
import { recordFixedBytes, type StoredMessage } from "../common/message-record.ts";
import { RecordView, TopicCache } from "./record-view.ts";

const bodyLengthAt = 84;
const bodyAt = 88;

export function splitRecords(body: Uint8Array): StoredMessage[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength); // one for the whole body
  const topics = new TopicCache();
  const messages: StoredMessage[] = [];
  let position = 0;
  while (position < body.length) {
    if (position + 8 > body.length) throw invalid(position, "record header is cut short");
    const size = view.getUint32(position + 4);
    if (size < recordFixedBytes || position + size > body.length) throw invalid(position, `record claims ${size} bytes`);
    const end = position + size;
    const bodyLength = view.getUint32(position + bodyLengthAt);
    if (bodyLength > size - recordFixedBytes) throw invalid(position, `body claims ${bodyLength} of the record's ${size} bytes`);
    const topicLengthAt = position + bodyAt + bodyLength;
    const propertiesLengthAt = topicLengthAt + 1 + body[topicLengthAt]!;
    if (propertiesLengthAt + 2 > end || propertiesLengthAt + 2 + view.getUint16(propertiesLengthAt) !== end) throw invalid(position, "field lengths do not add up to the record's size");
    messages.push(new RecordView(body, view, position, topics));
    position = end;
  }
  return messages;
}

function invalid(position: number, reason: string): MqError {
  return new MqError("MALFORMED_FRAME", { reason: `response body at byte ${position}: ${reason}` });
}
