import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { msgpackBytesUpperBound, readResult, resultReply } from "../../../src/protocol/response-body.ts";
import { frameHeaderBytesMax } from "../../../src/protocol/limits.ts";
import { withSeed } from "../../helpers/seeded-random.ts";

const packr = new Packr({ useRecords: false });

describe("response bodies", () => {
  test("the size bound is never below the real msgpack size", () => {
    withSeed((random) => {
      const value = () => {
        const kind = random.int(5);
        if (kind === 0) return random.int(2 ** 31) * (random.next() < 0.5 ? -1 : 1) * 1000;
        if (kind === 1) return "é😀x".repeat(random.int(20));
        if (kind === 2) return random.next() < 0.5;
        if (kind === 3) return random.next();
        return null;
      };
      for (let round = 0; round < 500; round++) {
        const result: Record<string, unknown> = { results: Array.from({ length: random.int(50) }, () => ({ a: value(), bb: value(), list: [value(), value()] })) };
        expect(msgpackBytesUpperBound(result, Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(packr.pack(result).byteLength);
      }
    });
  });

  test("a small result stays in the header; one too large for it moves to the body and reads back", () => {
    expect(resultReply({ count: 1 })).toEqual({ fields: { count: 1 } });
    const big = { results: Array.from({ length: 3000 }, (_, index) => ({ msgId: "A".repeat(32), queueOffset: index })) };
    const reply = resultReply(big);
    expect(reply.fields).toEqual({ resultInBody: true });
    expect(reply.body!.byteLength).toBeGreaterThan(frameHeaderBytesMax / 2);
    expect(readResult({ header: reply.fields, body: reply.body! })).toEqual(big);
  });
});
