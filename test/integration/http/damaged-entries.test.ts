/**
 * Browsing past damage through the transports users have: a REST browse
 * (`GET /api/v1/topics/{t}/queues/{q}/messages?offset=N`) and a pull (Admin.readQueue) started at
 * a damaged consume-queue entry answer a nextOffset past it, so a reader paging by nextOffset
 * always reaches the end; the damaged entry is never served.
 */

import { describe, expect, test } from "bun:test";
import { Admin } from "../../../src/client/admin.ts";
import { queueOffset as asQueueOffset } from "../../../src/common/offsets.ts";
import { startHttpBroker } from "./helpers.ts";

/** Damages the entry at `queueOffset` in the live mapping (the real file): a size no record has. */
function damage(store: import("../../../src/store/message-store.ts").MessageStore, topic: string, queueOffset: number): void {
  const located = store.consumeQueue(topic, 0)!.locate(asQueueOffset(queueOffset))!;
  located.file.view.setUint32(located.position + 8, 0x7fff_ffff);
}

describe("Damaged consume-queue entries: browse and pull", () => {
  test("a REST browse and a pull at a damaged entry move past it, and paging reaches the end", async () => {
    const h = await startHttpBroker();
    expect((await h.call("POST", "/api/v1/topics", { topic: "dmg", queues: 1 })).status).toBe(201);
    for (let seq = 0; seq < 6; seq++) expect((await h.call("POST", "/api/v1/topics/dmg/messages", { body: `m${seq}` })).status).toBe(200);
    damage(h.broker.store, "dmg", 2);
    damage(h.broker.store, "dmg", 5);

    const atDamage = await h.call("GET", "/api/v1/topics/dmg/queues/0/messages?offset=2&max=1");
    expect(atDamage.status).toBe(200);
    expect(atDamage.json.messages.map((message: { body: string }) => message.body)).toEqual(["m3"]);
    expect(atDamage.json.nextOffset).toBe(4);

    const admin = new Admin({ broker: h.broker.address });
    try {
      const last = await admin.readQueue("dmg", 0, { offset: 5, max: 1 });
      expect(last.messages).toEqual([]);
      expect<number>(last.nextOffset).toBe(6);
    } finally {
      await admin.close();
    }

    // Both entries were reported and are rewritten from the CommitLog: paging now serves all six.
    await h.broker.store.queueRepair.idle();
    const bodies: string[] = [];
    for (let offset = 0, pages = 0; offset < 6 && pages < 10; pages++) {
      const page = await h.call("GET", `/api/v1/topics/dmg/queues/0/messages?offset=${offset}&max=2`);
      expect(page.json.nextOffset).toBeGreaterThan(offset);
      bodies.push(...page.json.messages.map((message: { body: string }) => message.body));
      offset = page.json.nextOffset;
    }
    expect(bodies).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
  });
});
