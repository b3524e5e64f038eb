/**
 * A held pull's wake-up costs no timer: the store's "message.stored" for its queue re-runs the
 * pull in a microtask of the same turn (coalesced over a batch), so a pushed message reaches a
 * waiting consumer with no added delay. Counted in microtask turns on a standing ManualClock.
 */

import { describe, expect, test } from "bun:test";
import { EventBus } from "../../../src/common/bus.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { physicalOffset, queueOffset } from "../../../src/common/offsets.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { LongPollService } from "../../../src/broker/long-poll-service.ts";
import type { StoreEvents } from "../../../src/store/store-options.ts";

function stored(bus: EventBus<StoreEvents>, queueId: number, offset: number): void {
  bus.emit("message.stored", {
    topic: "t",
    queueId,
    queueOffset: queueOffset(offset),
    physicalOffset: physicalOffset(offset * 100),
    size: 100,
    storeTimestampMs: 0,
    msgId: undefined,
    keys: undefined,
    tags: undefined,
    properties: undefined,
    reconsumeTimes: undefined,
  });
}

/** Lets `turns` microtask turns run; no timer, no I/O. */
async function microtasks(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await Promise.resolve();
}

describe("LongPollService: wake-up", () => {
  test("a held pull is answered within two microtask turns of a message stored for its queue, one retry per batch", async () => {
    const bus = new EventBus<StoreEvents>();
    const service = new LongPollService<string>({ bus, clock: new ManualClock(), heldMax: 16, logger: silentLogger });
    let stock = 0;
    let retries = 0;
    let answer: string | undefined;
    void service
      .hold({
        topic: "t",
        queueId: 1,
        timeoutMs: 15_000,
        channel: {} as Channel,
        retry: () => {
          retries += 1;
          return stock > 0 ? `found ${stock}` : undefined;
        },
        onTimeout: () => "no_new_message",
      })
      .then((reply) => (answer = reply));
    stored(bus, 0, 0); // another queue: no retry
    await microtasks(4);
    expect({ retries, answer }).toEqual({ retries: 0, answer: undefined });
    for (let offset = 0; offset < 64; offset++) {
      stock += 1;
      stored(bus, 1, offset);
    }
    await microtasks(2);
    expect({ retries, answer, held: service.size }).toEqual({ retries: 1, answer: "found 64", held: 0 });
  });
});
