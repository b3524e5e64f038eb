/** Queue selection for sends: round-robin with failover, sharding-key hash, user selectors. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import type { MessageQueue } from "../../../src/client/message-queue.ts";
import { RoundRobinSelector, selectByShardingKey, selectWith } from "../../../src/client/queue-selector.ts";

const queues: MessageQueue[] = Array.from({ length: 4 }, (_, queueId) => ({ topic: "t", brokerName: "b", queueId }));

describe("queue selection: round-robin", () => {
  test("visits every queue in turn", () => {
    const selector = new RoundRobinSelector(0);
    expect(Array.from({ length: 8 }, () => selector.next(queues).queueId)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  test("never picks the queue that just failed when another exists", () => {
    const selector = new RoundRobinSelector(0);
    for (let round = 0; round < 16; round++) {
      const failed = queues[round % 4]!;
      expect(selector.next(queues, failed).queueId).not.toBe(failed.queueId);
    }
  });

  test("prefers another broker after a failure", () => {
    const twoBrokers: MessageQueue[] = [...queues, ...queues.map((queue) => ({ ...queue, brokerName: "c" }))];
    const selector = new RoundRobinSelector(0);
    for (let round = 0; round < 10; round++) expect(selector.next(twoBrokers, queues[0]).brokerName).toBe("c");
  });

  test("falls back to the failed queue when it is the only one", () => {
    expect(new RoundRobinSelector(0).next([queues[2]!], queues[2]).queueId).toBe(2);
  });
});

describe("queue selection: sharding key", () => {
  test("maps one key to one queue every time", () => {
    for (const key of ["order-1", "order-2", "user-42", ""]) {
      const first = selectByShardingKey(queues, key).queueId;
      for (let round = 0; round < 5; round++) expect(selectByShardingKey(queues, key).queueId).toBe(first);
    }
  });

  test("spreads 1000 keys over all queues", () => {
    const counts = [0, 0, 0, 0];
    for (let index = 0; index < 1000; index++) counts[selectByShardingKey(queues, `key-${index}`).queueId]!++;
    for (const count of counts) expect(count).toBeGreaterThan(150);
  });
});

describe("queue selection: user selector", () => {
  test("uses the queue the selector returns", () => {
    expect(selectWith((all) => all[3]!, queues, { topic: "t", body: "" }).queueId).toBe(3);
  });

  test("rejects a queue that is not among the writable queues", () => {
    let error: unknown;
    try {
      selectWith(() => ({ topic: "t", brokerName: "b", queueId: 9 }), queues, { topic: "t", body: "" });
    } catch (caught) {
      error = caught;
    }
    expect(isMqError(error, "BAD_REQUEST")).toBe(true);
  });
});
