import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { MqError } from "../../../src/common/errors.ts";
import { MsgIdGenerator } from "../../../src/common/ids.ts";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { messageDelayLevelDefault, timerMaxDelayMsDefault } from "../../../src/common/limits.ts";
import { parseDelayLevels } from "../../../src/common/delay-levels.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import type { OutgoingRecord } from "../../../src/broker/message-service.ts";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import { journalHeaderBytes } from "../../../src/store/schedule-journal.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { killStore } from "../../helpers/store-crash.ts";
import { withSeedAsync } from "../../helpers/seeded-random.ts";
import { waitUntil } from "../../helpers/wait-for.ts";
import { scheduledMessageJobKind } from "../../../src/broker/scheduled-message-job.ts";

const topic = "Timed";
const queues = 2;
const ids = new MsgIdGenerator({ ip: "127.0.0.1", pid: 1, instanceHash: 7 });

async function start(clock: ManualClock, dataDir?: string): Promise<TestBroker> {
  const broker = await startTestBroker({ clock, store: { clock }, ...(dataDir === undefined ? {} : { dataDir }) });
  if (broker.broker.context.topics.get(topic) === undefined) broker.broker.context.topics.create({ topic, readQueues: queues, writeQueues: queues, perm: 6, order: false });
  return broker;
}

function outgoing(fields: Partial<OutgoingRecord>): OutgoingRecord {
  return { topic, queueId: 0, body: new TextEncoder().encode("payload"), msgId: ids.next(), keys: ["k1"], tags: "t", properties: { color: "blue" }, ...fields };
}

/** Every message in the real topic's queues: msgId → [store time, scheduled time]. */
function delivered(broker: TestBroker): Map<string, { storeMs: number; outMs: number; count: number; properties: Record<string, string> }> {
  const seen = new Map<string, { storeMs: number; outMs: number; count: number; properties: Record<string, string> }>();
  for (let queueId = 0; queueId < queues; queueId++) {
    const result = broker.store.getMessages({ topic, queueId, offset: queueOffset(0), maxCount: 100_000 });
    for (const message of result.messages) {
      const record = decodeRecord(result.buffer.subarray(message.position, message.position + message.size));
      const previous = seen.get(record.msgId!);
      seen.set(record.msgId!, { storeMs: record.storeTimestampMs, outMs: Number(record.properties.TIMER_OUT_MS ?? 0), count: (previous?.count ?? 0) + 1, properties: record.properties });
    }
  }
  return seen;
}

describe("Scheduled delivery (ManualClock)", () => {
  test("random delays and levels: none visible before its time, each delivered exactly once", async () => {
    await withSeedAsync(async (random) => {
      const clock = new ManualClock();
      const broker = await start(clock);
      const levels = parseDelayLevels(messageDelayLevelDefault);
      if (!levels.ok) throw new Error(levels.reason);
      const model = new Map<string, number>();
      for (let index = 0; index < 300; index++) {
        const choice = random.int(3);
        const fields: Partial<OutgoingRecord> =
          choice === 0 ? { delayMs: 1 + random.int(600_000) } : choice === 1 ? { delayLevel: 1 + random.int(20) } : { deliverAtMs: clock.nowMs() + 1 + random.int(600_000) };
        const message = outgoing({ ...fields, queueId: random.int(queues) });
        const result = await broker.broker.context.messages.send(message);
        expect(result.delivery?.scheduled).toBe(true);
        const level = Math.min(fields.delayLevel ?? 0, 18);
        const dueMs = fields.deliverAtMs ?? (fields.delayMs !== undefined ? clock.nowMs() + fields.delayMs : clock.nowMs() + levels.levelsMs[level - 1]!);
        expect(result.delivery?.deliverAtMs).toBe(dueMs);
        model.set(message.msgId!, dueMs);
        if (random.int(10) === 0) clock.advance(random.int(5_000));
      }
      for (let step = 0; step < 200; step++) {
        clock.advance(1 + random.int(60_000));
        for (const [msgId, seen] of delivered(broker)) {
          const dueMs = model.get(msgId)!;
          expect(seen.count).toBe(1);
          expect(seen.storeMs).toBeGreaterThanOrEqual(dueMs);
          expect(seen.outMs).toBe(dueMs);
        }
      }
      clock.advance(3 * 3_600_000);
      const all = delivered(broker);
      expect(all.size).toBe(model.size);
      for (const seen of all.values()) expect(seen.count).toBe(1);
    });
  });

  test("under sync flush a due message is delivered once, and its job completes once the copy is durable", async () => {
    const clock = new ManualClock();
    const broker = await startTestBroker({ clock, store: { clock }, flush: "sync" });
    broker.broker.context.topics.create({ topic, readQueues: queues, writeQueues: queues, perm: 6, order: false });
    const message = outgoing({ delayMs: 1_000 });
    const dueMs = clock.nowMs() + 1_000;
    expect((await broker.broker.context.messages.send(message)).delivery?.scheduled).toBe(true);
    expect(delivered(broker).size).toBe(0);
    clock.advance(1_000);
    await waitUntil("the delivered copy's job to complete", () => broker.broker.context.scheduler.openOf(scheduledMessageJobKind).length === 0);
    clock.advance(60_000);
    expect([...delivered(broker)].map(([msgId, seen]) => [msgId, seen.count, seen.outMs])).toEqual([[message.msgId!, 1, dueMs]]);
  });

  test("levels 1 to 18 with the default table: each due exactly its duration later, never before", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const table = [1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200].map((seconds) => seconds * 1000);
    const sentAt = clock.nowMs();
    const byLevel = new Map<string, number>();
    for (let level = 1; level <= 18; level++) {
      const message = outgoing({ delayLevel: level });
      await broker.broker.context.messages.send(message);
      byLevel.set(message.msgId!, level);
    }
    const over = outgoing({ delayLevel: 40 });
    expect((await broker.broker.context.messages.send(over)).delivery?.deliverAtMs).toBe(sentAt + 7_200_000);
    for (const durationMs of table) {
      clock.advance(sentAt + durationMs - 1 - clock.nowMs());
      expect([...delivered(broker).keys()].filter((id) => table[byLevel.get(id)! - 1]! === durationMs)).toEqual([]);
      clock.advance(1);
      const arrived = [...delivered(broker).entries()].filter(([id]) => table[(byLevel.get(id) ?? 18) - 1]! === durationMs);
      expect(arrived.length).toBe(durationMs === 7_200_000 ? 2 : 1);
    }
  });

  test("the delivered copy keeps msgId, keys, tags and properties, and adds its scheduled and delivered times", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const message = outgoing({ delayMs: 5_000, queueId: 1 });
    await broker.broker.context.messages.send(message);
    clock.advance(5_000);
    const found = broker.store.queryByMsgId(message.msgId!)!;
    expect(found.topic).toBe(topic);
    expect(found.queueId).toBe(1);
    expect(found.tags).toBe("t");
    expect(found.keys).toEqual(["k1"]);
    expect(found.properties.color).toBe("blue");
    expect(Number(found.properties.TIMER_OUT_MS)).toBe(clock.nowMs());
    expect(Number(found.properties.TIMER_DELIVERED_MS)).toBe(clock.nowMs());
    expect(found.properties.REAL_TOPIC).toBeUndefined();
    expect(found.properties.TIMER_SOURCE_OFFSET).toBeDefined();
  });

  test("a delivery time already past is delivered at once and the result says so", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const message = outgoing({ deliverAtMs: clock.nowMs() - 1_000 });
    const result = await broker.broker.context.messages.send(message);
    expect(result.delivery).toEqual({ deliverAtMs: clock.nowMs() - 1_000, scheduled: false });
    expect(delivered(broker).get(message.msgId!)?.count).toBe(1);
  });

  test("a delay beyond timerMaxDelayMs, or below 1 ms, is refused with TIMER_DELAY_OUT_OF_RANGE carrying the limit", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const send = (fields: Partial<OutgoingRecord>) => Promise.resolve().then(() => broker.broker.context.messages.send(outgoing(fields)));
    for (const fields of [{ delayMs: timerMaxDelayMsDefault + 1 }, { deliverAtMs: clock.nowMs() + timerMaxDelayMsDefault + 1 }, { delayMs: 0 }]) {
      const error = await send(fields).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MqError);
      expect((error as MqError).errorName).toBe("TIMER_DELAY_OUT_OF_RANGE");
      expect((error as MqError).message).toContain(String(timerMaxDelayMsDefault));
    }
    expect((await send({ delayMs: timerMaxDelayMsDefault })).delivery?.scheduled).toBe(true);
  });

  test("a batch mixing scheduled and immediate messages is stored whole; each arrives at its time", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const now = outgoing({});
    const later = outgoing({ delayMs: 10_000 });
    const results = await broker.broker.context.messages.sendBatch([now, later]);
    expect(results.map((result) => result.delivery?.scheduled)).toEqual([false, true]);
    clock.advance(0);
    expect([...delivered(broker).keys()]).toEqual([now.msgId!]);
    clock.advance(10_000);
    expect(new Set(delivered(broker).keys())).toEqual(new Set([now.msgId!, later.msgId!]));
  });

  test("pending timers survive a restart and a broker stopped past their due time delivers them at start, once", async () => {
    const clock = new ManualClock();
    let broker = await start(clock);
    const early = outgoing({ delayMs: 1_000 });
    const late = outgoing({ delayMs: 60_000 });
    await broker.broker.context.messages.send(early);
    await broker.broker.context.messages.send(late);
    clock.advance(1_000);
    expect([...delivered(broker).keys()]).toEqual([early.msgId!]);
    await broker.stop();
    clock.advance(3_600_000);
    broker = await start(clock, broker.dataDir);
    clock.advance(0);
    const all = delivered(broker);
    expect(all.get(early.msgId!)?.count).toBe(1);
    expect(all.get(late.msgId!)?.count).toBe(1);
  });
});

describe("Scheduled delivery: crash and journal loss (ManualClock)", () => {
  async function crashAndRestart(options: { deliverFirst: number; cutJournal: boolean }): Promise<void> {
    const clock = new ManualClock();
    const broker = await start(clock);
    const dueByMsgId = new Map<string, number>();
    for (let index = 0; index < 40; index++) {
      const message = outgoing({ delayMs: 1_000 * (index + 1), queueId: index % queues });
      const result = await broker.broker.context.messages.send(message);
      dueByMsgId.set(message.msgId!, result.delivery!.deliverAtMs);
    }
    clock.advance(1_000 * options.deliverFirst);
    expect(delivered(broker).size).toBe(options.deliverFirst);
    // kill -9: nothing flushed or checkpointed; the old broker's timers are on a clock nobody advances again.
    killStore(broker.store);
    if (options.cutJournal) truncateSync(join(broker.dataDir, "schedule", "journal"), journalHeaderBytes);
    const later = new ManualClock(clock.nowMs());
    const restarted = await startTestBroker({ clock: later, store: { clock: later }, dataDir: broker.dataDir });
    expect(restarted.broker.context.scheduler.openOfKind("scheduled-message")).toBe(40 - options.deliverFirst);
    later.advance(0);
    later.advance(60_000);
    const all = delivered(restarted);
    expect(all.size).toBe(40);
    for (const [msgId, seen] of all) {
      expect(seen.count).toBe(1);
      expect(seen.storeMs).toBeGreaterThanOrEqual(dueByMsgId.get(msgId)!);
    }
  }

  test("after a kill with the journal intact, each timer is delivered once: open jobs are not added again", async () => {
    await crashAndRestart({ deliverFirst: 15, cutJournal: false });
  });

  test("after a kill that lost the journal, jobs are derived again from the CommitLog, and delivered ones are not", async () => {
    await crashAndRestart({ deliverFirst: 15, cutJournal: true });
  });
});

describe("Scheduled delivery: retention (ManualClock)", () => {
  test("a 10-day timer survives a 72 h retention: its CommitLog file is kept (and counted) until it is delivered", async () => {
    const clock = new ManualClock();
    const hourMs = 3_600_000;
    const broker = await startTestBroker({
      clock,
      tiny: true,
      store: { clock, fileReservedTimeHours: 72, deleteWhenHour: new Date(clock.nowMs()).getHours(), flushIntervalMs: hourMs, retentionCheckIntervalMs: hourMs },
    });
    broker.broker.context.topics.create({ topic, readQueues: 1, writeQueues: 1, perm: 6, order: false });
    const body = new Uint8Array(4_096);
    const plain = async (count: number) => {
      for (let index = 0; index < count; index++) await broker.broker.context.messages.send(outgoing({ body, keys: undefined }));
    };
    await plain(20);
    const timer = outgoing({ body, delayMs: 10 * 24 * hourMs });
    await broker.broker.context.messages.send(timer);
    const fileBytes = broker.store.commitLog.fileBytes;
    await plain(80);
    await broker.store.checkpointNow(); // flushed: retention deletes only flushed files
    clock.advance(4 * 24 * hourMs);
    const timerOffset = (await broker.broker.context.scheduler.openOf("scheduled-message"))[0]!.payload.physicalOffset;
    expect<number>(broker.store.commitLog.minOffset).toBe(timerOffset - (timerOffset % fileBytes));
    expect(broker.store.retention.filesKeptForTimersTotal).toBeGreaterThan(0);
    clock.advance(6 * 24 * hourMs);
    expect(broker.store.queryByMsgId(timer.msgId!)?.topic).toBe(topic);
    clock.advance(24 * hourMs);
    expect(broker.store.commitLog.minOffset).toBeGreaterThan(timerOffset);
  });
});

describe("Scheduled delivery: the timer topic", () => {
  test("a send straight to rmq_sys_wheel_timer is refused with TOPIC_INVALID (it would never be delivered)", async () => {
    const clock = new ManualClock();
    const broker = await start(clock);
    const error = await Promise.resolve()
      .then(() => broker.broker.context.messages.send(outgoing({ topic: "rmq_sys_wheel_timer" })))
      .catch((caught: unknown) => caught);
    expect((error as MqError).errorName).toBe("TOPIC_INVALID");
  });
});
