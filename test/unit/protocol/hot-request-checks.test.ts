import { describe, expect, test } from "bun:test";
import { hotRequestChecks } from "../../../src/protocol/hot-request-checks.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { endTransactionBatchSchema, pullMessageSchema, sendMessageSchema } from "../../../src/protocol/schemas.ts";
import { withSeed } from "../../helpers/seeded-random.ts";

const valid = {
  [RequestCode.SEND_MESSAGE]: { producerGroup: "pg", topic: "T", queueId: 3, msgId: "0123456789ABCDEF0123456789abcdef", tags: "a", keys: ["k1", "k2"], properties: { p: "v" }, flag: 7, bornTimestampMs: 1_700_000_000_000, bornHost: "127.0.0.1:5000", delayLevel: 0, deliverAtMs: 5, transactionPrepared: false, reconsumeTimes: 2 },
  [RequestCode.PULL_MESSAGE]: { consumerGroup: "cg", topic: "T", queueId: 0, queueOffset: 42, maxMessages: 32, maxBytes: 1000, filter: { expressionType: "TAG", expression: "a || b" }, suspendTimeoutMs: 15_000, commitOffset: 40 },
  [RequestCode.END_TRANSACTION_BATCH]: { transactionIds: ["0A00000100002A9F0000000000001000", "0a00000100002a9f0000000000001100"], resolutions: ["commit", "rollback"], producerGroup: "pg" },
} as const;
const schemas = { [RequestCode.SEND_MESSAGE]: sendMessageSchema, [RequestCode.PULL_MESSAGE]: pullMessageSchema, [RequestCode.END_TRANSACTION_BATCH]: endTransactionBatchSchema } as const;
const oddValues: unknown[] = [
  ...[undefined, null, -1, 0, 1, 1.5, 2 ** 31, 2 ** 53, "", "x", "bad topic", "a:1", "F".repeat(32), "x".repeat(300), true, [], ["k"], [""], {}, { a: 1 }, { expressionType: "SQL92", expression: "a > 1" }, { expressionType: "XML", expression: "" }],
  ...[["commit"], ["rollback", "commit"], ["commit", "unknown"], ["F".repeat(32)], ["F".repeat(32), "E".repeat(56)], ["F".repeat(31), "F".repeat(32)], Array.from({ length: 1025 }, () => "commit")],
];

describe("hand-written checks of per-message requests", () => {
  for (const code of [RequestCode.SEND_MESSAGE, RequestCode.PULL_MESSAGE, RequestCode.END_TRANSACTION_BATCH] as const) {
    test(`code ${code}: accept exactly what the zod schema accepts, and output what it outputs`, () => {
      withSeed((random) => {
        const check = hotRequestChecks[code]!;
        const schema = schemas[code];
        const base: Record<string, unknown> = { code, opaque: 9, flags: 0, ...valid[code] };
        expect(check(base)).toEqual(schema.parse(base) as Record<string, unknown>);
        const keys = [...Object.keys(valid[code]), "extra"];
        for (let round = 0; round < 5000; round++) {
          const header: Record<string, unknown> = { ...base };
          for (let changes = 1 + random.int(3); changes > 0; changes--) {
            const key = keys[random.int(keys.length)]!;
            const value = oddValues[random.int(oddValues.length)];
            if (value === undefined && random.next() < 0.5) delete header[key];
            else header[key] = value;
          }
          const fast = check(header);
          const slow = schema.safeParse(header);
          if (fast !== undefined) {
            expect(slow.success).toBe(true);
            expect(fast).toEqual(slow.data as Record<string, unknown>);
          } else {
            // Refusing a valid header only costs speed (zod decides) — but it must not happen.
            expect(slow.success ? `refused valid ${JSON.stringify(header)}` : "refused invalid").toBe("refused invalid");
          }
        }
      });
    });
  }
});
