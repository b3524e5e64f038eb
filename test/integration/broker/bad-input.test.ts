/**
 * Hostile and broken peers: each gets an error response or a closed connection, while a second
 * client on the same broker carries on and every stored message stays readable.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { encodeFrame, FrameFlag } from "../../../src/protocol/frame.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { connectTo, nextMsgId, pull, rawPeer, send, text, waitFor } from "./helpers.ts";

afterAll(removeTempDirs);
const packr = new Packr({ useRecords: false });

/** A broker holding 10 messages, and a well-behaved client. */
async function setup() {
  const broker = await startTestBroker();
  const good = await connectTo(broker);
  for (let index = 0; index < 10; index++) await send(good, "t", `m${index}`);
  return { broker, good };
}

/** The well-behaved client still sends and reads, and the 10 earlier messages are intact. */
async function expectUnharmed(broker: TestBroker, good: Awaited<ReturnType<typeof setup>>["good"]): Promise<void> {
  const sent = await send(good, "t", "after");
  expect(sent.queueOffset).toBe(10);
  const pulled = await pull(good, "t", { maxMessages: 100 });
  expect(pulled.messages.map((message) => text(message.body))).toEqual([...Array.from({ length: 10 }, (_, index) => `m${index}`), "after"]);
  expect<number>(broker.store.maxOffset("t", 0)).toBe(11);
}

function rawFrame(header: Uint8Array, body = new Uint8Array(0)): Uint8Array {
  const frame = new Uint8Array(8 + header.length + body.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 4 + header.length + body.length);
  view.setUint32(4, header.length);
  frame.set(header, 8);
  frame.set(body, 8 + header.length);
  return frame;
}

describe("Broker: bad input", () => {
  test("random bytes get an error frame or a closed connection; others carry on", async () => {
    const { broker, good } = await setup();
    const random = seededRandom();
    try {
      for (let round = 0; round < 5; round++) {
        const peer = await rawPeer(broker);
        const bytes = random.bytes(64 + random.int(4_096));
        bytes[0] = bytes[0]! | 1; // a length of at least 2^24: past the frame limit, so the answer must come now
        peer.socket.write(bytes);
        await waitFor("an answer and a close", () => peer.steps.length > 0 && peer.closed);
        for (const frame of peer.frames()) expect(frame.code).toBeGreaterThanOrEqual(1000);
        peer.socket.destroy();
      }
    } catch (error) {
      console.error(`Failed with seed ${random.seed}: replay with SEED=${random.seed}`);
      throw error;
    }
    await expectUnharmed(broker, good);
  });

  test("a frame length of 2^31 gets FRAME_TOO_LARGE and the connection is closed", async () => {
    const { broker, good } = await setup();
    const peer = await rawPeer(broker);
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setUint32(0, 2 ** 31);
    peer.socket.write(prefix);
    await waitFor("the connection to close", () => peer.closed);
    const errors = peer.steps.filter((step) => step.status === "frame").map((step) => (step.status === "frame" ? step.frame.code : 0));
    expect(errors).toEqual([1002]);
    await expectUnharmed(broker, good);
  });

  test("a header that is not msgpack gets MALFORMED_FRAME at opaque 0 and the connection stays usable", async () => {
    const { broker, good } = await setup();
    const peer = await rawPeer(broker);
    peer.socket.write(rawFrame(new Uint8Array([0xc1, 0xc1, 0xc1])));
    peer.socket.write(encodeFrame({ code: RequestCode.GET_MAX_OFFSET, opaque: 7, fields: { topic: "t", queueId: 0 } }));
    await waitFor("two answers", () => peer.frames().length === 2);
    const [malformed, answer] = peer.frames();
    expect(malformed).toMatchObject({ code: 1001, opaque: 0 });
    expect(answer).toMatchObject({ code: 0, opaque: 7 });
    expect(answer!.header.queueOffset).toBe(10);
    expect(peer.closed).toBe(false);
    await expectUnharmed(broker, good);
  });

  test("an unknown request code gets UNKNOWN_REQUEST_CODE", async () => {
    const { broker, good } = await setup();
    const peer = await rawPeer(broker);
    peer.socket.write(encodeFrame({ code: 999, opaque: 3 }));
    await waitFor("an answer", () => peer.frames().length === 1);
    expect(peer.frames()[0]).toMatchObject({ code: 1003, opaque: 3, flags: FrameFlag.response });
    expect(peer.frames()[0]!.header.remark).toBe("Cannot handle request: unknown request code 999");
    await expectUnharmed(broker, good);
  });

  test("a valid frame with invalid fields gets INVALID_FIELD naming the field", async () => {
    const { broker, good } = await setup();
    const peer = await rawPeer(broker);
    peer.socket.write(encodeFrame({ code: RequestCode.PULL_MESSAGE, opaque: 4, fields: { consumerGroup: "g", topic: "t", queueId: -1, queueOffset: 0, maxMessages: 1 } }));
    peer.socket.write(encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 5, fields: { producerGroup: "pg", topic: "bad topic!", queueId: 0, msgId: nextMsgId(), bornTimestampMs: 0 }, body: new Uint8Array(1) }));
    await waitFor("two answers", () => peer.frames().length === 2);
    const [first, second] = peer.frames();
    expect(first).toMatchObject({ code: 1004, opaque: 4 });
    expect(first!.header.remark).toBe('Cannot accept request: field "queueId" must be at least 0, got -1');
    expect(second).toMatchObject({ code: 1004, opaque: 5 });
    await expectUnharmed(broker, good);
  });

  test("a batch body that lies about its lengths is refused whole, storing nothing", async () => {
    const { broker, good } = await setup();
    const header = packr.pack({ msgId: nextMsgId() });
    const entry = new Uint8Array(8 + header.length + 3);
    const view = new DataView(entry.buffer);
    view.setUint32(0, 4 + header.length + 3 + 1_000); // claims 1000 bytes more than there are
    view.setUint32(4, header.length);
    entry.set(header, 8);
    const peer = await rawPeer(broker);
    peer.socket.write(encodeFrame({ code: RequestCode.SEND_BATCH, opaque: 9, fields: { producerGroup: "pg", topic: "t", queueId: 0, messageCount: 1, bornTimestampMs: 0 }, body: entry }));
    const headerTooLong = new Uint8Array(entry);
    new DataView(headerTooLong.buffer).setUint32(0, 4 + header.length + 3);
    new DataView(headerTooLong.buffer).setUint32(4, 60_000);
    peer.socket.write(encodeFrame({ code: RequestCode.SEND_BATCH, opaque: 10, fields: { producerGroup: "pg", topic: "t", queueId: 0, messageCount: 1, bornTimestampMs: 0 }, body: headerTooLong }));
    const good1 = new Uint8Array(entry);
    new DataView(good1.buffer).setUint32(0, 4 + header.length + 3);
    const twoAnnouncedOneSent = encodeFrame({ code: RequestCode.SEND_BATCH, opaque: 11, fields: { producerGroup: "pg", topic: "t", queueId: 0, messageCount: 2, bornTimestampMs: 0 }, body: good1 });
    peer.socket.write(twoAnnouncedOneSent);
    await waitFor("three answers", () => peer.frames().length === 3);
    const answers = peer.frames();
    expect(answers.map((frame) => frame.code)).toEqual([1004, 1004, 1004]);
    expect(answers[0]!.header.remark).toBe('Cannot accept request: field "body" batch entry 0 claims 1018 bytes'.replace("1018", String(4 + header.length + 3 + 1_000)));
    expect(answers[2]!.header.remark).toBe('Cannot accept request: field "body" batch holds 1 messages, 2 announced');
    await expectUnharmed(broker, good);
  });

  test("a batch whose second entry is invalid stores none of its entries", async () => {
    const { broker, good } = await setup();
    const entries = [packr.pack({ msgId: nextMsgId() }), packr.pack({ msgId: "not-an-id" })].map((header) => {
      const copy = Uint8Array.from(header);
      const entry = new Uint8Array(8 + copy.length);
      new DataView(entry.buffer).setUint32(0, 4 + copy.length);
      new DataView(entry.buffer).setUint32(4, copy.length);
      entry.set(copy, 8);
      return entry;
    });
    const body = new Uint8Array(entries[0]!.length + entries[1]!.length);
    body.set(entries[0]!, 0);
    body.set(entries[1]!, entries[0]!.length);
    const peer = await rawPeer(broker);
    peer.socket.write(encodeFrame({ code: RequestCode.SEND_BATCH, opaque: 12, fields: { producerGroup: "pg", topic: "t", queueId: 0, messageCount: 2, bornTimestampMs: 0 }, body }));
    await waitFor("an answer", () => peer.frames().length === 1);
    expect(peer.frames()[0]!.header.remark).toBe('Cannot accept request: field "body[1].msgId" must be 32 hex characters, got "not-an-id"');
    await expectUnharmed(broker, good);
  });

  test("a client that never reads its responses stops being served; others carry on", async () => {
    const { broker, good } = await setup();
    const big = new Uint8Array(1024 * 1024).fill(1);
    for (let index = 0; index < 4; index++) await send(good, "big", big);
    const peer = await rawPeer(broker);
    peer.socket.pause(); // never reads
    const pullFrame = (opaque: number) => encodeFrame({ code: RequestCode.PULL_MESSAGE, opaque, fields: { consumerGroup: "g", topic: "big", queueId: 0, queueOffset: 0, maxMessages: 4 } });
    for (let opaque = 1; opaque <= 64; opaque++) peer.socket.write(pullFrame(opaque));
    await waitFor("the broker to stop reading from the non-reader", () => [...broker.server.connections].some((channel) => channel.readingPaused));
    await expectUnharmed(broker, good);
    const pendingBytes = Math.max(...[...broker.server.connections].map((channel) => channel.outputBytesPending));
    expect(pendingBytes).toBeLessThan(64 * 4 * 1024 * 1024); // bounded: not every pull was answered into memory
    peer.socket.destroy();
    await waitFor("the non-reader's connection to go", () => broker.server.connections.size === 1);
  });
});
