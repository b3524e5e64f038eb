/** The SDK's trace dispatcher (trace-dispatcher.ts): hops sent in SEND_BATCHes small enough to ride with the sends around them, nothing lost on shutdown. */

import { describe, expect, test } from "bun:test";
import { type ClientContext } from "../../../src/client/client-context.ts";
import { TraceDispatcher } from "../../../src/client/trace-dispatcher.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { traceSendBytesMax } from "../../../src/common/limits.ts";
import { decodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { unpackTraceHops } from "../../../src/protocol/trace-record.ts";

function fakeContext(batches: Array<{ body: Uint8Array; count: number }>): ClientContext {
  return {
    identity: { clientId: "10.0.0.7@42#1", ip: "10.0.0.7", pid: 42, instanceHash: 1 },
    clock: new ManualClock(1_765_000_000_000),
    routes: { topicRoute: async () => ({ writeQueues: [{ brokerName: "b", queueId: 0 }] }), brokerAddress: () => "127.0.0.1:1" },
    broker: {
      sendBatch: async (_address: string, fields: { messageCount: number }, body: Uint8Array) => {
        batches.push({ body, count: fields.messageCount });
        return [];
      },
    },
  } as unknown as ClientContext;
}

describe("trace dispatcher", () => {
  test("a large backlog goes out as several SEND_BATCHes of at most traceSendBytesMax trace bytes, every hop written by shutdown", async () => {
    const batches: Array<{ body: Uint8Array; count: number }> = [];
    const dispatcher = TraceDispatcher.create(undefined, fakeContext(batches))!;
    const hops = 5_000;
    for (let index = 0; index < hops; index++) {
      const msgId = `0A00000700002A000001${(index >> 4).toString(16).toUpperCase().padStart(8, "0")}${index.toString(16).toUpperCase().padStart(4, "0")}`;
      dispatcher.record({ hop: "publish", msgId, topic: "T", host: dispatcher.host, timeMs: 1_765_000_000_000 + index, costMs: 1, status: "ok", group: "G", offsetMsgId: `7F00000100002A9F${index.toString(16).toUpperCase().padStart(16, "0")}`, queueId: index % 8, queueOffset: index });
    }
    await dispatcher.shutdown();
    expect(dispatcher.counters).toEqual({ recorded: hops, written: hops, dropped: 0 });
    expect(batches.length).toBeGreaterThan(1);
    let read = 0;
    for (const batch of batches) {
      const entries = decodeBatchBody(batch.body, batch.count);
      expect(entries.reduce((bytes, entry) => bytes + entry.body.byteLength, 0)).toBeLessThanOrEqual(traceSendBytesMax);
      for (const entry of entries) read += unpackTraceHops(entry.body).length;
    }
    expect(read).toBe(hops);
  });
});
