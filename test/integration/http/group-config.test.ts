import { describe, expect, test } from "bun:test";
import { Admin } from "../../../src/client/index.ts";
import { startHttpBroker } from "./helpers.ts";

const defaults = { maxReconsumeTimes: 16, backoff: { kind: "levels" }, consumeEnable: true, orderly: false };

describe("Group configuration over REST and the Admin SDK", () => {
  test("GET answers the defaults; PUT changes only the fields given, durably, and survives a restart", async () => {
    const h = await startHttpBroker();
    expect((await h.call("GET", "/api/v1/groups/billing/config")).json).toEqual({ group: "billing", ...defaults });
    const put = await h.call("PUT", "/api/v1/groups/billing/config", { maxReconsumeTimes: 2, backoff: { kind: "exponential", initialMs: 100, factor: 2, maxMs: 1_000 } });
    const expected = { group: "billing", ...defaults, maxReconsumeTimes: 2, backoff: { kind: "exponential", initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0 } };
    expect([put.status, put.json]).toEqual([200, expected]);
    const orderly = await h.call("PUT", "/api/v1/groups/billing/config", { orderly: true });
    expect(orderly.json).toEqual({ ...expected, orderly: true });
    await h.broker.restart();
    expect(h.broker.broker.context.groupConfigs.get("billing")).toEqual({ ...expected, orderly: true } as never);
  });

  test("PUT refuses what the schema refuses: 400 INVALID_FIELD naming the field, nothing changed", async () => {
    const h = await startHttpBroker();
    for (const body of [{ maxReconsumeTimes: -1 }, { backoff: { kind: "exponential", initialMs: 500, factor: 2, maxMs: 10 } }, { backoff: { kind: "fibonacci" } }, { retries: 3 }]) {
      const answer = await h.call("PUT", "/api/v1/groups/billing/config", body);
      expect([answer.status, answer.json.code]).toEqual([400, 1004]);
    }
    expect((await h.call("GET", "/api/v1/groups/billing/config")).json).toEqual({ group: "billing", ...defaults });
  });

  test("the OpenAPI document lists GET and PUT /api/v1/groups/{group}/config", async () => {
    const h = await startHttpBroker();
    const doc = (await h.call("GET", "/api/v1/openapi.json")).json;
    expect(Object.keys(doc.paths["/api/v1/groups/{group}/config"] ?? {}).sort()).toEqual(["get", "put"]);
  });

  test("Admin.updateGroupConfig and getGroupConfig over TCP", async () => {
    const h = await startHttpBroker();
    const admin = new Admin({ broker: h.broker.address });
    try {
      expect(await admin.getGroupConfig("shipping")).toEqual({ group: "shipping", ...defaults } as never);
      const updated = await admin.updateGroupConfig("shipping", { maxReconsumeTimes: 5, consumeEnable: false });
      expect(updated).toEqual({ group: "shipping", ...defaults, maxReconsumeTimes: 5, consumeEnable: false } as never);
      expect(await admin.getGroupConfig("shipping")).toEqual(updated);
      expect(h.broker.broker.context.groupConfigs.get("shipping")).toEqual(updated);
    } finally {
      await admin.close();
    }
  });
});
