/**
 * Splits a body of concatenated CommitLog records (a pull, pop or query response) into
 * messages. Each record starts with `crc u32 | totalSize u32`; sizes are bounded before use.
 */

import { MqError } from "../common/errors.ts";
import { decodeRecord, recordFixedBytes, type StoredMessage } from "../common/message-record.ts";

export function splitRecords(body: Uint8Array): StoredMessage[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const messages: StoredMessage[] = [];
  let position = 0;
  while (position < body.length) {
    if (position + 8 > body.length) throw invalid(position, "record header is cut short");
    const size = view.getUint32(position + 4);
    if (size < recordFixedBytes || position + size > body.length) throw invalid(position, `record claims ${size} bytes`);
    messages.push(decodeRecord(body, position, view)); // one DataView for the whole body
    position += size;
  }
  return messages;
}

function invalid(position: number, reason: string): MqError {
  return new MqError("MALFORMED_FRAME", { reason: `response body at byte ${position}: ${reason}` });
}
