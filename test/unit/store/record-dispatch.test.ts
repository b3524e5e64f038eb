/**
 * The dispatch pipeline: every stored record reaches the consume queue, the index and the
 * registered dispatchers through one function, for live appends and for recovery replay alike,
 * and an append whose dispatch cannot complete is undone as a whole.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { errorCatalog } from "../../../src/common/errors.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { sysFlag } from "../../../src/common/message-record.ts";
import { systemTopics } from "../../../src/common/system-topics.ts";
import type { DispatchRecord, Visibility } from "../../../src/store/dispatch/dispatch-record.ts";
import type { Dispatcher } from "../../../src/store/dispatch/record-dispatch.ts";
import { FaultPoints } from "../../../src/store/fault-points.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import { putStatusError, type PutMessageInput } from "../../../src/store/put-message.ts";
import { tinyStoreProfile } from "../../../src/store/store-options.ts";
import { killStore } from "../../helpers/store-crash.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { queueBodies, tinyStoreOptions } from "../../helpers/tiny-store.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe("Dispatch: failure atomicity", () => {
  test("a consume-queue file that cannot be opened refuses the send, and no later acknowledged message is hidden", async () => {
    const faults = new FaultPoints();
    const options = tinyStoreOptions({ faults });
    const store = await MessageStore.open(options);
    const expected: string[] = [];
    for (let index = 0; index < tinyStoreProfile.consumeQueueEntriesPerFile; index++) {
      expect(store.append({ topic: "T", queueId: 0, body: encoder.encode(`m${index}`) }).status).toBe("ok");
      expected.push(`m${index}`);
    }
    faults.arm("consume_queue_open", 1);
    const refused = store.append({ topic: "T", queueId: 0, body: encoder.encode("refused"), keys: ["refused"] });
    expect(refused.status).toBe("io_error");
    if (refused.status === "ok") return;
    const error = putStatusError(refused);
    expect(error.code).toBe(errorCatalog.STORE_IO.code);
    expect(error.message).toContain("Cannot open consume-queue file");

    const later = store.append({ topic: "T", queueId: 0, body: encoder.encode("later"), keys: ["later"] });
    expect<unknown>(later.status === "ok" && later.queueOffset).toBe(tinyStoreProfile.consumeQueueEntriesPerFile);
    expected.push("later");
    expect(queueBodies(store, "T", 0)).toEqual(expected);
    expect(store.queryByKey("T", "refused")).toEqual([]);

    // Crash without a checkpoint: recovery replays every record and must agree with what was acknowledged.
    killStore(store);
    const reopened = await MessageStore.open(options);
    try {
      expect(reopened.recovery.recordsReplayed).toBe(expected.length);
      expect(queueBodies(reopened, "T", 0)).toEqual(expected);
      expect(reopened.queryByKey("T", "later").map((message) => decoder.decode(message.body))).toEqual(["later"]);
      expect(reopened.queryByKey("T", "refused")).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  test("an index file that cannot be opened refuses the send and leaves no consume-queue entry behind", async () => {
    const faults = new FaultPoints();
    const options = tinyStoreOptions({ faults, indexEntriesPerFile: 4 });
    const store = await MessageStore.open(options);
    for (let index = 0; index < 4; index++) expect(store.append({ topic: "T", queueId: 1, body: encoder.encode(`m${index}`), keys: [`k${index}`] }).status).toBe("ok");
    faults.arm("index_open", 1);
    const refused = store.append({ topic: "T", queueId: 1, body: encoder.encode("refused"), keys: ["refused"] });
    expect(refused.status).toBe("io_error");
    if (refused.status !== "ok") expect(putStatusError(refused).message).toContain("Cannot open index file");
    expect<number>(store.maxOffset("T", 1)).toBe(4);
    const later = store.append({ topic: "T", queueId: 1, body: encoder.encode("later"), keys: ["later"] });
    expect<unknown>(later.status === "ok" && later.queueOffset).toBe(4);
    killStore(store);
    const reopened = await MessageStore.open(options);
    try {
      expect(queueBodies(reopened, "T", 1)).toEqual(["m0", "m1", "m2", "m3", "later"]);
      expect(reopened.queryByKey("T", "later").length).toBe(1);
    } finally {
      await reopened.close();
    }
  });
});

/** A dispatcher that records what it was given, for one visibility. */
function recordingDispatcher(accepts: Visibility) {
  const seen: { topic: string; physicalOffset: number; queueOffset: number }[] = [];
  const dispatcher: Dispatcher = {
    accepts,
    dispatch: (record: DispatchRecord) => void seen.push({ topic: record.topic, physicalOffset: record.physicalOffset, queueOffset: record.queueOffset }),
    rollback: (from) => {
      while (seen.length > 0 && seen[seen.length - 1]!.physicalOffset >= from) seen.pop();
    },
  };
  return { dispatcher, seen };
}

describe("Dispatch: records not yet visible", () => {
  test("prepared and scheduled records reach only their own dispatcher, live and on replay", async () => {
    const clock = new ManualClock();
    const dueAtMs = String(clock.nowMs() + 60_000);
    const schedule = recordingDispatcher("scheduled");
    const transaction = recordingDispatcher("prepared");
    const options = tinyStoreOptions({ clock, dispatchers: { schedule: schedule.dispatcher, transaction: transaction.dispatcher } });
    const store = await MessageStore.open(options);
    const put = (topic: string, text: string, extra: Partial<PutMessageInput> = {}) => {
      const result = store.append({ topic, queueId: 0, body: encoder.encode(text), keys: [text], ...extra });
      expect(result.status).toBe("ok");
      return result.status === "ok" ? result.physicalOffset : -1;
    };
    put("T", "plain");
    const prepared = put("T", "prepared", { sysFlag: sysFlag.transactionPrepared });
    const delayed = put("T", "delayed", { properties: { [propertyNames.deliverAtMs]: dueAtMs } });
    const timer = put("T", "timer", { properties: { [propertyNames.timerDeliverMs]: dueAtMs } });
    const wheel = put(systemTopics.wheelTimer, "wheel");
    put("T", "due", { properties: { [propertyNames.deliverAtMs]: String(clock.nowMs() - 1) } });
    put("T", "committed", { sysFlag: sysFlag.transactionCommit });
    const expectRouting = (target: MessageStore) => {
      expect(queueBodies(target, "T", 0)).toEqual(["plain", "due", "committed"]);
      expect<number>(target.maxOffset("T", 0)).toBe(3);
      expect(target.topics().map((info) => info.topic)).toEqual(["T"]);
      expect(target.queryByKey("T", "prepared")).toEqual([]);
      expect(target.queryByKey("T", "delayed")).toEqual([]);
      expect(schedule.seen.map((record) => record.physicalOffset)).toEqual([delayed, timer, wheel]);
      expect(transaction.seen.map((record) => record.physicalOffset)).toEqual([prepared]);
    };
    expectRouting(store);

    killStore(store);
    schedule.seen.length = 0;
    transaction.seen.length = 0;
    const reopened = await MessageStore.open(options);
    try {
      expectRouting(reopened);
    } finally {
      await reopened.close();
    }
  });

  test("with no dispatcher registered for them, prepared and scheduled records reach no queue", async () => {
    const store = await MessageStore.open(tinyStoreOptions());
    try {
      expect(store.append({ topic: "T", queueId: 0, body: encoder.encode("prepared"), sysFlag: sysFlag.transactionPrepared }).status).toBe("ok");
      expect(store.append({ topic: systemTopics.wheelTimer, queueId: 0, body: encoder.encode("wheel") }).status).toBe("ok");
      expect(store.topics()).toEqual([]);
      store.registerDispatcher("trace", recordingDispatcher("visible").dispatcher);
      expect(() => store.registerDispatcher("trace", recordingDispatcher("visible").dispatcher)).toThrow();
    } finally {
      await store.close();
    }
  });
});
