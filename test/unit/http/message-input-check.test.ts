import { describe, expect, test } from "bun:test";
import { acceptMessageInput } from "../../../src/http/message-input-check.ts";
import { messageInput } from "../../../src/http/schemas.ts";
import { withSeed } from "../../helpers/seeded-random.ts";

describe("POST messages: the hand-written check", () => {
  test("accepts only what the zod schema accepts, and outputs what it outputs", () => {
    withSeed((random) => {
      const pick = <T>(values: readonly T[]): T => values[random.int(values.length)]!;
      const strings = ["", "x", "a b", "tag", "k".repeat(300), "é"];
      const anything = () => pick<unknown>([undefined, null, 1, true, [], {}, ...strings, ["a", "b"], ["a b"], [""], { a: "1" }, { "": "x" }, { a: 1 }]);
      for (let round = 0; round < 5000; round++) {
        const value: Record<string, unknown> = {};
        for (const key of ["body", "encoding", "tags", "keys", "properties", "shardingKey", "extra"]) {
          if (random.next() < 0.5) continue;
          value[key] = key === "encoding" ? pick<unknown>(["utf8", "base64", "hex", 1]) : random.next() < 0.6 && key === "body" ? "hello" : anything();
        }
        const fast = acceptMessageInput(value);
        const slow = messageInput.safeParse(value);
        if (fast !== undefined) {
          expect(slow.success).toBe(true);
          expect(fast).toEqual(slow.data!);
        } else if (slow.success) {
          // Rejecting a valid input only costs speed (zod decides), but it should be rare: log it.
          expect(`fast path refused ${JSON.stringify(value)}`).toBe("never");
        }
      }
    });
  });
});
