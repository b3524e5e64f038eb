/** REST sends with delivery times: JSON delayMs / deliverAt / delayLevel, octet-stream headers, limits. */

import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { startHttpBroker } from "./helpers.ts";

describe("REST: scheduled sends", () => {
  test("JSON delayMs, deliverAt (ms or ISO) and delayLevel are scheduled; each appears at its time, not before", async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 24, 17, 0));
    const h = await startHttpBroker({ clock, store: { clock } });
    const now = clock.nowMs();
    const { status, json } = await h.call("POST", "/api/v1/topics/t/messages", [
      { body: "delay", delayMs: 90_000 },
      { body: "at-ms", deliverAt: now + 30_000 },
      { body: "at-iso", deliverAt: "2026-12-24T18:00Z" },
      { body: "level", delayLevel: 2 },
    ]);
    expect(status).toBe(200);
    expect(json.map((answer: { deliverAtMs: number }) => answer.deliverAtMs)).toEqual([now + 90_000, now + 30_000, Date.UTC(2026, 11, 24, 18, 0), now + 5_000]);
    expect(json.every((answer: { scheduled: boolean }) => answer.scheduled)).toBe(true);
    const visible = async () => (await h.call("GET", `/api/v1/messages/${json[2].msgId}`)).status;
    expect(await visible()).toBe(404);
    clock.advance(3_600_000 - 1);
    expect(await visible()).toBe(404);
    clock.advance(1);
    expect(await visible()).toBe(200);
  });

  test("octet-stream takes mq-delay-ms and mq-deliver-at; a past time is delivered at once and says so", async () => {
    const clock = new ManualClock();
    const h = await startHttpBroker({ clock, store: { clock } });
    const raw = { "content-type": "application/octet-stream" };
    const delayed = await h.call("POST", "/api/v1/topics/raw/messages", new Uint8Array([1, 2]), { ...raw, "mq-delay-ms": "1000" });
    expect([delayed.status, delayed.json.scheduled, delayed.json.deliverAtMs]).toEqual([200, true, clock.nowMs() + 1_000]);
    const past = await h.call("POST", "/api/v1/topics/raw/messages", new Uint8Array([3]), { ...raw, "mq-deliver-at": new Date(clock.nowMs() - 1).toISOString() });
    expect([past.status, past.json.scheduled]).toEqual([200, false]);
    expect((await h.call("GET", `/api/v1/messages/${past.json.msgId}`)).status).toBe(200);
  });

  test("a delay beyond timerMaxDelayMs is 400 TIMER_DELAY_OUT_OF_RANGE naming the limit, in JSON and in headers", async () => {
    const h = await startHttpBroker({ config: { timerMaxDelayMs: 60_000 } });
    const json = await h.call("POST", "/api/v1/topics/t/messages", { body: "x", delayMs: 60_001 });
    expect([json.status, json.json.code, json.json.error]).toEqual([400, 3020, "Cannot schedule message: delay is 60001 ms, it must be 1..60000 ms (timerMaxDelayMs)"]);
    const raw = await h.call("POST", "/api/v1/topics/t/messages", new Uint8Array([1]), { "content-type": "application/octet-stream", "mq-delay-ms": "60001" });
    expect([raw.status, raw.json.code]).toEqual([400, 3020]);
  });
});
