/** Message properties: the `name \u0001 value \u0002` codec, its validator, KEYS splitting and the tag hash. */

import { describe, expect, test } from "bun:test";
import { decodePropertiesText, encodePropertiesText, findInvalidProperty, splitKeys, tagHash, type Properties } from "../../../src/common/message-properties.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

/** Java's String.hashCode as a signed 32-bit int, computed independently with BigInt. */
function javaHashCode(text: string): number {
  let hash = 0n;
  for (let index = 0; index < text.length; index++) hash = BigInt.asIntN(32, hash * 31n + BigInt(text.charCodeAt(index)));
  return Number(hash);
}

describe("message properties: codec", () => {
  const cases: [string, Properties][] = [
    ["no properties", {}],
    ["one property", { TAGS: "TagA" }],
    ["system and user properties", { TAGS: "TagA", KEYS: "k1 k2", UNIQ_KEY: "0A0000071092DEADBEEF000000010000", color: "red" }],
    ["an empty value", { empty: "" }],
    ["unicode names and values", { "名前": "値", emoji: "🚀 launch", "ümlaut": "grüß", rtl: "שלום" }],
    ["values with = ; : and spaces", { query: "a=1;b=2", url: "http://x:8080/a b" }],
    ["a long value", { big: "x".repeat(30_000) }],
  ];
  for (const [what, properties] of cases) {
    test(`round-trips ${what}`, () => {
      expect(decodePropertiesText(encodePropertiesText(properties))).toEqual(properties);
    });
  }

  test("encodes each pair as name \\u0001 value \\u0002", () => {
    expect(encodePropertiesText({ a: "1", b: "2" })).toBe("a\u00011\u0002b\u00012\u0002");
    expect(encodePropertiesText({})).toBe("");
  });

  test("decodes a final pair without its trailing separator", () => {
    expect(decodePropertiesText("a\u00011\u0002b\u00012")).toEqual({ a: "1", b: "2" });
  });

  test("skips pairs with no separator or an empty name when decoding", () => {
    expect(decodePropertiesText("junk\u0002\u0001nameless\u0002a\u00011\u0002")).toEqual({ a: "1" });
    expect(decodePropertiesText("")).toEqual({});
  });

  test("round-trips random valid properties", () => {
    const random = seededRandom();
    const alphabet = "abcXYZ019 _-=.:/é漢🚀\u0000\u0003\n";
    const randomText = (lengthMax: number) => {
      let text = "";
      const length = random.int(lengthMax + 1);
      for (let index = 0; index < length; index++) text += [...alphabet][random.int([...alphabet].length)];
      return text;
    };
    try {
      for (let round = 0; round < 500; round++) {
        const properties: Properties = {};
        const pairs = random.int(6);
        for (let pair = 0; pair < pairs; pair++) properties["n" + randomText(8)] = randomText(20);
        expect(findInvalidProperty(properties)).toBeUndefined();
        expect(decodePropertiesText(encodePropertiesText(properties))).toEqual(properties);
      }
    } catch (error) {
      console.error(`properties round trip failed with SEED=${random.seed}`);
      throw error;
    }
  });
});

describe("message properties: findInvalidProperty", () => {
  test("accepts valid properties", () => {
    expect(findInvalidProperty({})).toBeUndefined();
    expect(findInvalidProperty({ TAGS: "a", emoji: "🚀", empty: "" })).toBeUndefined();
  });

  const invalid: [string, Properties, string][] = [
    ["\\u0001 in a value", { ok: "x", bad: "a\u0001b" }, "bad"],
    ["\\u0002 in a value", { bad: "a\u0002" }, "bad"],
    ["\\u0001 in a name", { "a\u0001b": "x" }, "a\u0001b"],
    ["\\u0002 in a name", { "\u0002": "x" }, "\u0002"],
    ["an empty name", { ok: "x", "": "value" }, ""],
  ];
  for (const [what, properties, name] of invalid) {
    test(`names the property with ${what}`, () => {
      expect(findInvalidProperty(properties)).toBe(name);
    });
  }
});

describe("message properties: splitKeys", () => {
  test("splits KEYS on spaces, dropping empty keys", () => {
    expect(splitKeys("k1 k2 k3")).toEqual(["k1", "k2", "k3"]);
    expect(splitKeys("  k1   k2 ")).toEqual(["k1", "k2"]);
    expect(splitKeys("single")).toEqual(["single"]);
  });

  test("gives no keys for undefined, empty or blank text", () => {
    expect(splitKeys(undefined)).toEqual([]);
    expect(splitKeys("")).toEqual([]);
    expect(splitKeys("   ")).toEqual([]);
  });
});

describe("message properties: tagHash", () => {
  const known: [string, number][] = [
    ["", 0],
    ["a", 97],
    ["TagA", 2598919],
    ["hello", 99162322],
    ["Aa", 2112],
    ["BB", 2112],
    ["polygenelubricants", -2147483648],
  ];
  for (const [tag, javaValue] of known) {
    test(`equals Java's "${tag}".hashCode() (${javaValue}) read as unsigned`, () => {
      expect(javaHashCode(tag)).toBe(javaValue);
      expect(tagHash(tag)).toBe(javaValue >>> 0);
      expect(tagHash(tag) | 0).toBe(javaValue);
    });
  }

  test("matches Java's String.hashCode on random strings, including surrogate pairs", () => {
    const random = seededRandom();
    try {
      for (let round = 0; round < 1_000; round++) {
        let tag = "";
        const length = random.int(40);
        for (let index = 0; index < length; index++) tag += String.fromCharCode(random.int(0x10000));
        expect(tagHash(tag)).toBe(javaHashCode(tag) >>> 0);
      }
    } catch (error) {
      console.error(`tagHash comparison failed with SEED=${random.seed}`);
      throw error;
    }
  });

  test("is an unsigned 32-bit integer", () => {
    for (const tag of ["", "x", "polygenelubricants", "a".repeat(1000)]) {
      const hash = tagHash(tag);
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBeGreaterThanOrEqual(0);
      expect(hash).toBeLessThan(2 ** 32);
    }
  });
});
