import { describe, expect, test } from "bun:test";
import { RequestCode, type RequestCodeName, requestCodeName, requestDirection } from "../../../src/protocol/request-codes.ts";
import { hasRequestSchema, registerBrokerBodySchema, validateFields, validateRequest } from "../../../src/protocol/schemas.ts";

const msgId = "0A0000010001000000000000000000AB";

function reasonOf(code: number, header: Record<string, unknown>): string {
  const result = validateRequest(code, header);
  if (result.ok) throw new Error("expected the header to be rejected");
  expect(result.error.errorName).toBe("INVALID_FIELD");
  return result.error.message;
}

describe("Request codes", () => {
  test("are unique u16 values below the error code range", () => {
    const values = Object.values(RequestCode);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) {
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(1000);
    }
  });

  test("each has a direction and a schema", () => {
    for (const name of Object.keys(RequestCode) as RequestCodeName[]) {
      expect(requestDirection[name]).toBeDefined();
      expect(hasRequestSchema(RequestCode[name])).toBe(true);
    }
  });

  test("name themselves, and unknown codes print as numbers", () => {
    expect(requestCodeName(RequestCode.SEND_MESSAGE)).toBe("SEND_MESSAGE");
    expect(requestCodeName(999)).toBe("999");
  });
});

describe("validateRequest", () => {
  const send = { producerGroup: "pg", topic: "orders", queueId: 0, msgId, bornTimestampMs: 1_700_000_000_000 };

  test("returns typed fields with defaults applied and unknown keys dropped", () => {
    const result = validateRequest(RequestCode.SEND_MESSAGE, { ...send, code: 10, opaque: 1, flags: 0, extra: "x" });
    if (!result.ok) throw result.error;
    expect(result.fields.topic).toBe("orders");
    expect(result.fields.flag).toBe(0);
    expect(Object.hasOwn(result.fields, "extra")).toBe(false);
    expect(Object.hasOwn(result.fields, "opaque")).toBe(false);
  });

  test("names a missing field", () => {
    const { topic: _topic, ...rest } = send;
    expect(reasonOf(RequestCode.SEND_MESSAGE, rest)).toBe('Cannot accept request: field "topic" is required');
  });

  test("rejects a topic outside the topic name pattern, quoting it", () => {
    expect(reasonOf(RequestCode.SEND_MESSAGE, { ...send, topic: "bad topic" })).toBe(
      'Cannot accept request: field "topic" must match /^[%|a-zA-Z0-9_-]{1,127}$/, got "bad topic"',
    );
    expect(reasonOf(RequestCode.SEND_MESSAGE, { ...send, topic: "t".repeat(128) })).toContain('field "topic" must match');
  });

  test("accepts topic names at the length edges 1 and 127", () => {
    expect(validateRequest(RequestCode.GET_ROUTE, { topic: "t" }).ok).toBe(true);
    expect(validateRequest(RequestCode.GET_ROUTE, { topic: "t".repeat(127) }).ok).toBe(true);
    expect(validateRequest(RequestCode.GET_ROUTE, { topic: "" }).ok).toBe(false);
  });

  test("rejects a negative queueId and a fractional or unsafe offset", () => {
    expect(reasonOf(RequestCode.GET_MAX_OFFSET, { topic: "t", queueId: -1 })).toBe('Cannot accept request: field "queueId" must be at least 0, got -1');
    const base = { consumerGroup: "g", topic: "t", queueId: 0 };
    expect(reasonOf(RequestCode.UPDATE_CONSUMER_OFFSET, { ...base, queueOffset: 1.5 })).toBe(
      'Cannot accept request: field "queueOffset" must be a safe integer, got 1.5',
    );
    expect(reasonOf(RequestCode.UPDATE_CONSUMER_OFFSET, { ...base, queueOffset: 2 ** 60 })).toContain('field "queueOffset" must be at most 9007199254740991');
    expect(validateRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { ...base, queueOffset: Number.MAX_SAFE_INTEGER }).ok).toBe(true);
  });

  test("rejects a wrong type, naming what it got", () => {
    expect(reasonOf(RequestCode.GET_MAX_OFFSET, { topic: "t", queueId: "1" })).toBe('Cannot accept request: field "queueId" must be a number, got "1"');
  });

  test("rejects an enum value outside its options", () => {
    const base = { producerGroup: "pg", msgId, transactionId: msgId };
    expect(reasonOf(RequestCode.END_TRANSACTION, { ...base, resolution: "maybe" })).toBe(
      'Cannot accept request: field "resolution" must be one of "commit", "rollback", "unknown", got "maybe"',
    );
  });

  test("names nested fields by path and bounds arrays", () => {
    const base = { consumerGroup: "g", clientId: "c1" };
    expect(reasonOf(RequestCode.LOCK_BATCH_MQ, { ...base, queues: [{ topic: "t", queueId: 0 }, { topic: "t", queueId: -2 }] })).toBe(
      'Cannot accept request: field "queues.1.queueId" must be at least 0, got -2',
    );
    expect(reasonOf(RequestCode.LOCK_BATCH_MQ, { ...base, queues: [] })).toBe('Cannot accept request: field "queues" must be at least 1 items long, got 0 items');
    const many = Array.from({ length: 257 }, (_, queueId) => ({ topic: "t", queueId: queueId % 1024 }));
    expect(reasonOf(RequestCode.LOCK_BATCH_MQ, { ...base, queues: many })).toContain('field "queues" must be at most 256 items long');
  });

  test("bounds pull sizes and long-poll time", () => {
    const pull = { consumerGroup: "g", topic: "t", queueId: 0, queueOffset: 0, maxMessages: 32 };
    const result = validateRequest(RequestCode.PULL_MESSAGE, pull);
    if (!result.ok) throw result.error;
    expect(result.fields.suspendTimeoutMs).toBe(0);
    expect(reasonOf(RequestCode.PULL_MESSAGE, { ...pull, maxMessages: 0 })).toContain('field "maxMessages" must be at least 1');
    expect(reasonOf(RequestCode.PULL_MESSAGE, { ...pull, suspendTimeoutMs: 60_000 })).toContain('field "suspendTimeoutMs" must be at most 30000');
  });

  test("passes a code without a schema through untouched", () => {
    const header = { anything: 1 };
    const result = validateRequest(9_999, header);
    expect(result.ok && result.fields).toBe(header);
  });

  test("validates structured bodies with the same errors", () => {
    const ok = validateFields(registerBrokerBodySchema, { topicConfigs: [{ topic: "t", readQueues: 4, writeQueues: 4 }] });
    if (!ok.ok) throw ok.error;
    expect(ok.fields.topicConfigs[0]?.perm).toBe(6);
    const bad = validateFields(registerBrokerBodySchema, { topicConfigs: [{ topic: "t", readQueues: 0, writeQueues: 4 }] });
    expect(bad.ok ? "" : bad.error.message).toBe('Cannot accept request: field "topicConfigs.0.readQueues" must be at least 1, got 0');
  });
});
