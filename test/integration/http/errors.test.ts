import { describe, expect, test } from "bun:test";
import { httpBodyBytesMax } from "../../../src/http/limits.ts";
import { seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";
import { startHttpBroker } from "./helpers.ts";

describe("REST: documented errors", () => {
  test("every error is JSON { code, error, details } with the catalogue's status", async () => {
    const h = await startHttpBroker({ config: { autoCreateTopics: false } });
    await h.call("POST", "/api/v1/topics", { topic: "t" });
    const cases: [string, string, unknown, number, number, string?][] = [
      ["GET", "/api/v1/topics/unknown", undefined, 404, 2001],
      ["POST", "/api/v1/topics/unknown/messages", { body: "x" }, 404, 2001],
      ["GET", "/api/v1/topics/bad%20name", undefined, 400, 1004, "topic"],
      ["POST", "/api/v1/topics/t/messages", "{not json", 400, 1000],
      ["POST", "/api/v1/topics/t/messages", "", 400, 1000],
      ["POST", "/api/v1/topics/t/messages", { body: 42 }, 400, 1004, "body"],
      ["POST", "/api/v1/topics/t/messages", { body: "x", keys: "k" }, 400, 1004, "keys"],
      ["POST", "/api/v1/topics/t/messages", [{ body: "x" }, { body: "y", tags: 7 }], 400, 1004, "[1].tags"],
      ["POST", "/api/v1/topics/t/messages", { body: "x", bogus: 1 }, 400, 1004, "bogus"],
      ["POST", "/api/v1/topics/t/messages", { body: "!!", encoding: "base64" }, 400, 1004, "body"],
      ["POST", "/api/v1/topics/t/messages", [], 400, 1004, "(body)"],
      ["POST", "/api/v1/topics", { topic: "t", queues: 0 }, 400, 1004, "queues"],
      ["POST", "/api/v1/groups/g/receive", { topic: "t", invisibleMs: "soon" }, 400, 1004, "invisibleMs"],
      ["POST", "/api/v1/groups/g/ack", { receiptHandles: [] }, 400, 1004, "receiptHandles"],
      ["POST", "/api/v1/groups/g/offsets/reset", { topic: "t", to: "middle" }, 400, 1004, "to"],
      ["GET", "/api/v1/groups/unknown", undefined, 404, 4001],
      ["GET", "/api/v1/topics/t/queues/0/messages?max=abc", undefined, 400, 1004, "max"],
      ["GET", "/api/v1/messages/xyz", undefined, 400, 1004, "id"],
      ["GET", "/api/v1/messages?topic=t", undefined, 400, 1004, "key"],
      ["GET", "/api/v1/nothing-here", undefined, 404, 1010],
    ];
    for (const [method, path, body, status, code, field] of cases) {
      const answer = await h.call(method, path, body);
      expect({ path, body, status: answer.status, code: answer.json.code }).toEqual({ path, body, status, code });
      expect(typeof answer.json.error).toBe("string");
      expect(typeof answer.json.details).toBe("object");
      if (field !== undefined) expect({ path, field: answer.json.details.field }).toEqual({ path, field });
    }
  });

  test("a malformed body's error names the field and why", async () => {
    const h = await startHttpBroker();
    const { json } = await h.call("POST", "/api/v1/groups/g/receive", { topic: "t", max: 100_000 });
    expect(json.error).toBe('Cannot accept request: field "max" must be at most 256, got 100000');
  });

  test("a body over the request limit is 413 REQUEST_TOO_LARGE; a raw body over the message limit is 413 MESSAGE_TOO_LARGE", async () => {
    const h = await startHttpBroker();
    const huge = await h.call("POST", "/api/v1/topics/t/messages", new Uint8Array(httpBodyBytesMax + 1), { "content-type": "application/octet-stream" });
    expect([huge.status, huge.json.code]).toEqual([413, 1014]);
    const large = await h.call("POST", "/api/v1/topics/t/messages", new Uint8Array(4 * 1024 * 1024 + 1), { "content-type": "application/octet-stream" });
    expect([large.status, large.json.code]).toEqual([413, 3001]);
  });

  test("without a broker in the process the API answers 503 STORE_NOT_READY and the probes still work", async () => {
    const { createHttpApp } = await import("../../../src/http/app.ts");
    const app = createHttpApp({ version: "test", readiness: () => [{ name: "store", ok: false, detail: "recovering" }] });
    const api = await app.request("/api/v1/topics");
    expect(api.status).toBe(503);
    expect(((await api.json()) as { code: number }).code).toBe(5006);
    expect((await app.request("/health")).status).toBe(200);
    expect((await app.request("/ready")).status).toBe(503);
  });
});

describe("REST: fuzz", () => {
  test("random JSON sent to every POST endpoint never yields a 500", async () => {
    // Held receives are capped short, so a random waitMs cannot stall the run.
    const h = await startHttpBroker({ config: { longPollMsMax: 20 } });
    await h.call("POST", "/api/v1/topics", { topic: "t", queues: 2 });
    await h.call("POST", "/api/v1/topics/t/messages", { body: "seed" });
    const random = seededRandom();
    const paths = ["/api/v1/topics", "/api/v1/topics/t/messages", "/api/v1/groups/g/receive", "/api/v1/groups/g/ack", "/api/v1/groups/g/nack", "/api/v1/groups/g/offsets/reset"];
    const fields = ["topic", "queues", "perm", "order", "body", "encoding", "tags", "keys", "properties", "shardingKey", "max", "invisibleMs", "waitMs", "receiptHandles", "delayMs", "to", "__proto__", "constructor"];
    try {
      for (let round = 0; round < 600; round++) {
        const path = paths[random.int(paths.length)]!;
        const body = random.int(4) === 0 ? JSON.stringify(randomValue(random, 3, fields)).slice(0, random.int(64) + 1) : JSON.stringify(randomBody(random, fields));
        const answer = await h.call("POST", path, body, { "content-type": "application/json" });
        expect({ path, body, status: answer.status < 500 }).toEqual({ path, body, status: true });
        expect(typeof answer.json.code === "number" || answer.status < 300).toBe(true);
      }
    } catch (error) {
      console.error(`Fuzz failed with seed ${random.seed}: replay with SEED=${random.seed}`);
      throw error;
    }
  });
});

function randomBody(random: SeededRandom, fields: readonly string[]): unknown {
  if (random.int(5) === 0) return randomValue(random, 2, fields);
  const body: Record<string, unknown> = {};
  const count = random.int(5);
  for (let index = 0; index < count; index++) body[fields[random.int(fields.length)]!] = randomValue(random, 2, fields);
  if (random.int(2) === 0) body.topic = "t";
  if (random.int(3) === 0) body.body = "x";
  return random.int(6) === 0 ? [body, body] : body;
}

function randomValue(random: SeededRandom, depth: number, fields: readonly string[]): unknown {
  switch (random.int(depth <= 0 ? 6 : 8)) {
    case 0: return null;
    case 1: return random.int(2) === 0;
    case 2: return [0, -1, 1, 1.5, 2 ** 53, -(2 ** 31), 1e308, 300_000][random.int(8)];
    case 3: return ["", "t", "first", "last", "utf8", "base64", "a || b", "x".repeat(300), "\u0001\u0002", "%RETRY%g", "ixyz.0.0.1"][random.int(11)];
    case 4: return random.int(1_000_000);
    case 5: return String.fromCharCode(...random.bytes(random.int(8)));
    case 6: return Array.from({ length: random.int(4) }, () => randomValue(random, depth - 1, fields));
    default: {
      const value: Record<string, unknown> = {};
      for (let index = random.int(4); index > 0; index--) value[fields[random.int(fields.length)]!] = randomValue(random, depth - 1, fields);
      return value;
    }
  }
}
