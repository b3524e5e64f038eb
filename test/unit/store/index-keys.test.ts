import { describe, expect, test } from "bun:test";
import { dedupKeyIndexKey, indexKeyOf, keyIndexKey, msgIdIndexKey, sendBackIndexKey } from "../../../src/store/index-keys.ts";

/** The CRC32 of the key's joined UTF-8 text: what index files written before hold. */
function joined(text: string): number {
  return Bun.hash.crc32(new TextEncoder().encode(text)) >>> 0;
}

describe("index keys", () => {
  test("equal the CRC32 of their joined text, so existing index files keep finding their entries", () => {
    for (const [topic, key] of [["Orders", "order-1"], ["Zahlungen", "Größe"], ["订单", "键😀"], ["T", ""]] as const) {
      expect<number>(keyIndexKey(topic, key)).toBe(joined(`${topic}#${key}`));
      expect<number>(dedupKeyIndexKey(topic, key)).toBe(joined(`#dedup#${topic}#${key}`));
      expect<number>(sendBackIndexKey(key)).toBe(joined(`#sendBack#${key}`));
      expect<number>(indexKeyOf(`${topic}#${key}`)).toBe(joined(`${topic}#${key}`));
    }
  });

  test("a msgId is its upper-cased text: either case finds the same entries", () => {
    const msgId = "7f000001a1b2c3d4e5f60718293a4b5c";
    expect<number>(msgIdIndexKey(msgId)).toBe(joined(`#msgId#${msgId.toUpperCase()}`));
    expect(msgIdIndexKey(msgId)).toBe(msgIdIndexKey(msgId.toUpperCase()));
  });
});
