/** The producer's WritableStream adapter on its own: the in-flight cap, close, and a failed send. */

import { describe, expect, test } from "bun:test";
import { MqError } from "../../../src/common/errors.ts";
import { createMessageWritable, type MessageSender } from "../../../src/client/message-writable.ts";
import type { ProducerMessage, SendResult } from "../../../src/client/message.ts";

/** A sender whose sends the test completes by hand. */
function manualSender() {
  const pending: Array<{ message: ProducerMessage; resolve: () => void; reject: (error: Error) => void }> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const sender: MessageSender = {
    send: (message) =>
      new Promise<SendResult>((resolve, reject) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        const done = () => inFlight--;
        pending.push({ message, resolve: () => (done(), resolve({} as SendResult)), reject: (error) => (done(), reject(error)) });
      }),
  };
  return { sender, pending, mostInFlight: () => mostInFlight, inFlight: () => inFlight };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("producer.writable", () => {
  test("at most inFlight sends at once; close() resolves only once every send has its answer", async () => {
    const { sender, pending, mostInFlight, inFlight } = manualSender();
    const writer = createMessageWritable(sender, { topic: "t", inFlight: 3 }).getWriter();
    const writes = Array.from({ length: 10 }, (_, index) => writer.write(`body${index}`));
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    for (let answered = 0; answered < 10; answered++) {
      await settle();
      expect(inFlight()).toBeLessThanOrEqual(3);
      expect(closed).toBe(false);
      pending.shift()!.resolve();
    }
    await Promise.all(writes);
    await closing;
    expect(mostInFlight()).toBe(3);
    expect(pending).toEqual([]);
  });

  test("a chunk is a message without its topic, or a body; the stream's topic fills it in", async () => {
    const { sender, pending } = manualSender();
    const writer = createMessageWritable(sender, { topic: "t", inFlight: 4 }).getWriter();
    void writer.write({ body: "b", tags: "x" });
    void writer.write(new Uint8Array([1]));
    await settle();
    expect(pending.map((entry) => entry.message)).toEqual([{ topic: "t", body: "b", tags: "x" }, { topic: "t", body: new Uint8Array([1]) }]);
    for (const entry of pending.splice(0)) entry.resolve();
    await writer.close();
  });

  test("a failed send errors the stream with STREAM_WRITE_FAILED naming the chunk", async () => {
    const { sender, pending } = manualSender();
    const stream = createMessageWritable(sender, { topic: "t", inFlight: 2 });
    const writer = stream.getWriter();
    void writer.write("a");
    void writer.write("b");
    await settle();
    pending[1]!.reject(new MqError("TOPIC_NOT_FOUND", { topic: "t" }));
    pending[0]!.resolve();
    const error = await writer.closed.then(() => undefined, (caught: MqError) => caught);
    expect(error?.errorName).toBe("STREAM_WRITE_FAILED");
    expect(error?.message).toBe('Cannot write stream chunk 1 to topic "t": Cannot find topic "t"');
    expect(await writer.write("c").then(() => "written", () => "refused")).toBe("refused");
  });

  test("inFlight must be a positive integer", () => {
    expect(() => createMessageWritable(manualSender().sender, { topic: "t", inFlight: 0 })).toThrow("inFlight");
  });
});
