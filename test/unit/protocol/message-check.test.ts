/** The one message check: each rule, at its limits, with the catalogue error it gives. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { messageBodyBytesMax, messagePropertiesBytesMax, tagLengthMax } from "../../../src/common/limits.ts";
import { reservedPropertyNames } from "../../../src/common/message-properties.ts";
import { messageKeyLengthMax, messageKeysMax, propertyNameLengthMax } from "../../../src/protocol/limits.ts";
import { type MessageToCheck, checkMessage } from "../../../src/protocol/message-check.ts";

const empty = new Uint8Array(0);

function errorNameOf(message: Partial<MessageToCheck>): string | undefined {
  try {
    checkMessage({ topic: "t", body: empty, ...message });
  } catch (error) {
    return isMqError(error) ? error.errorName : String(error);
  }
  return undefined;
}

const cases: Array<[string, Partial<MessageToCheck>, string | undefined]> = [
  ["a plain message", {}, undefined],
  ["a topic with a space", { topic: "a b" }, "TOPIC_INVALID"],
  ["a topic of 128 characters", { topic: "t".repeat(128) }, "TOPIC_INVALID"],
  ["the largest body", { body: new Uint8Array(messageBodyBytesMax) }, undefined],
  ["a body one byte over", { body: new Uint8Array(messageBodyBytesMax + 1) }, "MESSAGE_TOO_LARGE"],
  ["the longest tag", { tags: "x".repeat(tagLengthMax) }, undefined],
  ["a tag one character over", { tags: "x".repeat(tagLengthMax + 1) }, "INVALID_FIELD"],
  ["a tag holding a separator", { tags: "a\u0001b" }, "PROPERTY_INVALID"],
  ["a tag holding a space", { tags: "big box" }, undefined],
  ["the most keys", { keys: Array.from({ length: messageKeysMax }, (_, index) => `k${index}`) }, undefined],
  ["one key too many", { keys: Array.from({ length: messageKeysMax + 1 }, (_, index) => `k${index}`) }, "INVALID_FIELD"],
  ["the longest key", { keys: ["k".repeat(messageKeyLengthMax)] }, undefined],
  ["an empty key", { keys: [""] }, "INVALID_FIELD"],
  ["a key holding a space", { keys: ["a b"] }, "PROPERTY_INVALID"],
  ["a key holding a tab", { keys: ["a\tb"] }, "PROPERTY_INVALID"],
  ["the longest property name", { properties: { ["p".repeat(propertyNameLengthMax)]: "v" } }, undefined],
  ["a property name one over", { properties: { ["p".repeat(propertyNameLengthMax + 1)]: "v" } }, "INVALID_FIELD"],
  ["an empty property name", { properties: { "": "v" } }, "INVALID_FIELD"],
  ["a value holding a separator", { properties: { p: "a\u0002" } }, "PROPERTY_INVALID"],
  ["a value that is not a string", { properties: { p: 7 as unknown as string } }, "PROPERTY_INVALID"],
  ["traceparent", { properties: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } }, undefined],
  ["SHARDING_KEY (recorded, never acted on)", { properties: { SHARDING_KEY: "k" } }, undefined],
  ["properties just within the limit", { properties: { p: "v".repeat(messagePropertiesBytesMax - 64) } }, undefined],
  ["properties over the limit", { properties: { p: "v".repeat(messagePropertiesBytesMax) } }, "PROPERTIES_TOO_LARGE"],
  ["multi-byte properties over the limit", { properties: { p: "é".repeat(messagePropertiesBytesMax / 2) } }, "PROPERTIES_TOO_LARGE"],
];

describe("checkMessage", () => {
  for (const [what, message, expected] of cases) {
    test(`${what}: ${expected ?? "accepted"}`, () => {
      expect(errorNameOf(message)).toBe(expected);
    });
  }

  test("every reserved name is refused with PROPERTY_INVALID", () => {
    for (const name of reservedPropertyNames) expect({ name, error: errorNameOf({ properties: { [name]: "1" } }) }).toEqual({ name, error: "PROPERTY_INVALID" });
    expect(reservedPropertyNames.has("traceparent")).toBe(false);
  });
});
