/**
 * A stored message record read in place (layout: src/common/message-record.ts, README §7.2):
 * what a pull, pop or lookup answer hands the client, one per record of the response body.
 *
 * Lazy: constructing one costs an object and nothing else. The fixed fields are read from the
 * body when asked; the topic, the body view and the properties are decoded on first access and
 * kept. Tags, keys and msgId live in the properties but are read alone (`property`: a byte scan
 * that decodes only the value asked for), so a consumer — or the SDK's trace of a consumption —
 * that reads a message's msgId never decodes its other properties; one that reads only the body
 * and the offsets decodes none; one that reads nothing of a message it skips pays for nothing.
 *
 * The record's lengths were checked by `splitRecords` before the view was made (each region
 * inside the record, the regions adding up to its size), so no getter can read past it. The CRC
 * is not checked again here: every record the broker sends was written by the running broker,
 * verified by its recovery, or verified as the broker read it; TCP guards the bytes in between.
 */

import type { HostAddress, StoredMessage } from "../common/message-record.ts";
import { decodePropertiesText, propertyNames, splitKeys, type Properties } from "../common/message-properties.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset, type QueueOffset } from "../common/offsets.ts";

/** Where the body's length sits in a record; the body follows it. */
const bodyLengthAt = 84;
const bodyAt = 88;

const textDecoder = new TextDecoder();
/** The separators of the properties' text (message-properties.ts): name \u0001 value \u0002. */
const nameValueSeparatorByte = 1;
const pairSeparatorByte = 2;

/**
 * The last topic decoded from one response body, shared by its views: the records of a pull
 * are of one queue, so each after the first finds its topic's bytes equal to the cached ones
 * and reuses the string instead of decoding it again.
 */
export class TopicCache {
  start = -1;
  length = 0;
  text = "";
  /** The response body as a Buffer (made on first use, where Buffer exists): property values read as Latin-1 (RecordView.text). */
  latin1: Buffer | undefined;
}

/** A character outside ASCII: a value read as Latin-1 that has one was UTF-8 and is decoded again. */
const nonAscii = /[^\x00-\x7f]/;
const hasBuffer = typeof Buffer === "function";

export class RecordView implements StoredMessage {
  private topicText: string | undefined;
  private bodyBytes: Uint8Array | undefined;
  private propertiesMap: Properties | undefined;
  private keyList: string[] | undefined;

  /** `position` is the record's start in `bytes`; `view` spans `bytes`; `view` and `topics` are one per response body. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
    private readonly position: number,
    private readonly topics: TopicCache,
  ) {}

  get storeSize(): number {
    return this.view.getUint32(this.position + 4);
  }
  get queueId(): number {
    return this.view.getUint32(this.position + 12);
  }
  get flag(): number {
    return this.view.getUint32(this.position + 16);
  }
  get queueOffset(): QueueOffset {
    return toQueueOffset(this.uint64(20));
  }
  get physicalOffset(): PhysicalOffset {
    return toPhysicalOffset(this.uint64(28));
  }
  get sysFlag(): number {
    return this.view.getUint32(this.position + 36);
  }
  get bornTimestampMs(): number {
    return this.uint64(40);
  }
  get bornHost(): HostAddress {
    return { ip: this.view.getUint32(this.position + 48), port: this.view.getUint32(this.position + 52) };
  }
  get storeTimestampMs(): number {
    return this.uint64(56);
  }
  get storeHost(): HostAddress {
    return { ip: this.view.getUint32(this.position + 64), port: this.view.getUint32(this.position + 68) };
  }
  get reconsumeTimes(): number {
    return this.view.getUint32(this.position + 72);
  }
  get preparedTransactionOffset(): number {
    return this.uint64(76);
  }

  /** A view into the response body, as the eager decoder gives. */
  get body(): Uint8Array {
    if (this.bodyBytes === undefined) {
      const start = this.position + bodyAt;
      this.bodyBytes = this.bytes.subarray(start, start + this.bodyLength());
    }
    return this.bodyBytes;
  }

  get topic(): string {
    if (this.topicText === undefined) {
      const lengthAt = this.position + bodyAt + this.bodyLength();
      this.topicText = this.decodeTopic(lengthAt + 1, this.bytes[lengthAt]!);
    }
    return this.topicText;
  }

  private decodeTopic(start: number, length: number): string {
    const cache = this.topics;
    const bytes = this.bytes;
    if (cache.start >= 0 && cache.length === length) {
      let index = 0;
      while (index < length && bytes[start + index] === bytes[cache.start + index]) index++;
      if (index === length) return cache.text;
    }
    cache.start = start;
    cache.length = length;
    cache.text = textDecoder.decode(bytes.subarray(start, start + length));
    return cache.text;
  }

  get properties(): Properties {
    if (this.propertiesMap === undefined) {
      const start = this.propertiesStart();
      const length = this.view.getUint16(start - 2);
      this.propertiesMap = length === 0 ? {} : decodePropertiesText(textDecoder.decode(this.bytes.subarray(start, start + length)));
    }
    return this.propertiesMap;
  }

  get tags(): string | undefined {
    return this.property(propertyNames.tags);
  }

  get keys(): string[] {
    this.keyList ??= splitKeys(this.property(propertyNames.keys));
    return this.keyList;
  }

  /** The producer's msgId: one property read from the bytes, so a consumer (or its trace) that needs only it never decodes the rest. */
  get msgId(): string | undefined {
    return this.property(propertyNames.msgId);
  }

  /**
   * One property's value, read from the record's bytes without decoding the others (or from the
   * map once it is decoded). A name may repeat: the last pair wins, as in the decoded map.
   */
  property(name: string): string | undefined {
    if (this.propertiesMap !== undefined) return this.propertiesMap[name];
    const out: Array<string | undefined> = [undefined];
    this.readProperties([name], out);
    return out[0];
  }

  /**
   * The values of `names` into `out` at their indexes, in one pass over the properties' bytes:
   * each pair's name is compared in place and only a matching pair's value is decoded (names the
   * SDK reads are ASCII; a name that is not is looked up in the decoded map). What a message's trace needs of its properties, at the
   * price of a byte scan instead of a map of every property.
   */
  readProperties(names: readonly string[], out: Array<string | undefined>): void {
    if (this.propertiesMap !== undefined || !names.every(isAscii)) {
      const properties = this.properties;
      for (let index = 0; index < names.length; index++) out[index] = properties[names[index]!];
      return;
    }
    const bytes = this.bytes;
    const start = this.propertiesStart();
    const end = start + this.view.getUint16(start - 2);
    let pair = start;
    while (pair < end) {
      let pairEnd = bytes.indexOf(pairSeparatorByte, pair);
      if (pairEnd < 0 || pairEnd > end) pairEnd = end;
      for (let index = 0; index < names.length; index++) {
        const name = names[index]!;
        const valueAt = pair + name.length + 1;
        if (valueAt > pairEnd || bytes[valueAt - 1] !== nameValueSeparatorByte) continue;
        let same = true;
        for (let char = 0; char < name.length; char++) {
          if (bytes[pair + char] !== name.charCodeAt(char)) {
            same = false;
            break;
          }
        }
        if (same) out[index] = this.text(valueAt, pairEnd);
      }
      pair = pairEnd + 1;
    }
  }

  /**
   * bytes[start, end) as text. A property value is mostly ASCII (a msgId, a topic, a traceparent):
   * read as Latin-1 through a Buffer view of the whole response (one per response), a native
   * slice that costs a third of a TextDecoder call on a subarray, and taken when it holds no
   * character past ASCII (where Latin-1 and UTF-8 agree); else decoded as UTF-8.
   */
  private text(start: number, end: number): string {
    if (hasBuffer) {
      const cache = this.topics;
      const bytes = this.bytes;
      const latin1 = (cache.latin1 ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const text = latin1.toString("latin1", start, end);
      if (!nonAscii.test(text)) return text;
    }
    return textDecoder.decode(this.bytes.subarray(start, end));
  }

  /** Where the properties' text starts (its u16 length is the two bytes before). */
  private propertiesStart(): number {
    const topicLengthAt = this.position + bodyAt + this.bodyLength();
    return topicLengthAt + 1 + this.bytes[topicLengthAt]! + 2;
  }

  private bodyLength(): number {
    return this.view.getUint32(this.position + bodyLengthAt);
  }

  private uint64(offset: number): number {
    return this.view.getUint32(this.position + offset) * 4294967296 + this.view.getUint32(this.position + offset + 4);
  }
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}
