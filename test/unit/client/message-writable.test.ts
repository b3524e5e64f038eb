/** The producer's WritableStream adapter on its own: the in-flight cap, close, and a failed send. */

import { describe, expect, test } from "bun:test";
import { MqError } from "../../../src/common/errors.ts";
import { createMessageWritable, type MessageSender } from "../../../src/client/message-writable.ts";
import type { ProducerMessage, SendResult } from "../../../src/client/message.ts";

/** A sender whose sends the test answers by hand. */
function manualSender() {
  const requests: Array<{ messages: ProducerMessage[]; resolve: () => void; reject: (error: Error) => void }> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const request = (messages: ProducerMessage[]) =>
    new Promise<void>((resolve, reject) => {
      inFlight += messages.length;
      mostInFlight = Math.max(mostInFlight, inFlight);
      const done = () => (inFlight -= messages.length);
      requests.push({ messages, resolve: () => (done(), resolve()), reject: (error) => (done(), reject(error)) });
    });
  const sender: MessageSender = {
    send: (message) => request([message]).then(() => ({}) as SendResult),
  };
  return { sender, requests, mostInFlight: () => mostInFlight, inFlight: () => inFlight };
}

/** Lets the stream take what was written and start its sends. */
async function turn(): Promise<void> {
  for (let hop = 0; hop < 3; hop++) await new Promise((resolve) => setImmediate(resolve));
}

function bodies(messages: readonly ProducerMessage[]): unknown[] {
  return messages.map((message) => message.body);
}

describe("producer.writable", () => {
  test("at most inFlight messages in flight; each write resolves only once its send is answered; close() waits for all", async () => {
    const { sender, requests, mostInFlight, inFlight } = manualSender();
    const writer = createMessageWritable(sender, { topic: "t", inFlight: 3 }).getWriter();
    const durable: string[] = [];
    const writes = Array.from({ length: 10 }, (_, index) => writer.write(`body${index}`).then(() => void durable.push(`body${index}`)));
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    const answered: string[] = [];
    while (answered.length < 10) {
      await turn();
      expect(inFlight()).toBeLessThanOrEqual(3);
      expect(closed).toBe(false);
      expect(durable).toEqual(answered);
      const request = requests.shift()!;
      request.resolve();
      answered.push(...request.messages.map((message) => String(message.body)));
    }
    await Promise.all(writes);
    await closing;
    expect(durable).toEqual(Array.from({ length: 10 }, (_, index) => `body${index}`));
    expect(mostInFlight()).toBe(3);
    expect(requests).toEqual([]);
  });

  test("a pipeTo keeps inFlight messages going and its close waits for every answer", async () => {
    const { sender, requests, mostInFlight } = manualSender();
    const source = new ReadableStream<string>({
      start(controller) {
        for (let index = 0; index < 20; index++) controller.enqueue(`m${index}`);
        controller.close();
      },
    });
    let piped = false;
    const piping = source.pipeTo(createMessageWritable(sender, { topic: "t", inFlight: 4 })).then(() => (piped = true));
    let answered = 0;
    while (answered < 20) {
      await turn();
      expect(piped).toBe(false);
      const request = requests.shift()!;
      request.resolve();
      answered += request.messages.length;
    }
    await piping;
    expect(mostInFlight()).toBe(4);
  });

  test("a writer after a pipe that left the stream open still gets each of its chunks' own answer", async () => {
    const { sender, requests } = manualSender();
    const stream = createMessageWritable(sender, { topic: "t", inFlight: 2 });
    const source = new ReadableStream<string>({
      start(controller) {
        controller.enqueue("p0");
        controller.enqueue("p1");
        controller.close();
      },
    });
    const piping = source.pipeTo(stream, { preventClose: true });
    await turn();
    for (const request of requests.splice(0)) request.resolve();
    await piping;
    const writer = stream.getWriter();
    const outcomes: string[] = [];
    const first = writer.write("w0").then(() => void outcomes.push("w0 durable"), () => void outcomes.push("w0 failed"));
    await turn();
    const second = writer.write("w1").then(() => void outcomes.push("w1 durable"), () => void outcomes.push("w1 failed"));
    await turn();
    expect(requests.map((request) => bodies(request.messages))).toEqual([["w0"], ["w1"]]);
    requests[1]!.resolve();
    await turn();
    expect(outcomes).toEqual(["w1 durable"]);
    requests[0]!.reject(new Error("broker gone"));
    await Promise.all([first, second]);
    expect(outcomes).toEqual(["w1 durable", "w0 failed"]);
  });

  test("a chunk is a message without its topic, or a body; the stream's topic fills it in", async () => {
    const { sender, requests } = manualSender();
    const writer = createMessageWritable(sender, { topic: "t", inFlight: 4 }).getWriter();
    const writes = [writer.write({ body: "b", tags: "x" }), writer.write(new Uint8Array([1]))];
    await turn();
    expect(requests.flatMap((request) => request.messages)).toEqual([{ topic: "t", body: "b", tags: "x" }, { topic: "t", body: new Uint8Array([1]) }]);
    for (const request of requests.splice(0)) request.resolve();
    await Promise.all(writes);
    await writer.close();
  });

  test("a failed send rejects its write and errors the stream with STREAM_WRITE_FAILED naming the chunk", async () => {
    const { sender, requests } = manualSender();
    const writer = createMessageWritable(sender, { topic: "t", inFlight: 2 }).getWriter();
    const first = writer.write("a").then(() => "durable", (caught: MqError) => caught.message);
    await turn();
    const second = writer.write("b").then(() => "durable", (caught: MqError) => caught.message);
    await turn();
    requests[1]!.reject(new MqError("TOPIC_NOT_FOUND", { topic: "t" }));
    requests[0]!.resolve();
    expect(await first).toBe("durable");
    expect(await second).toBe('Cannot write stream chunk 1 to topic "t": Cannot find topic "t"');
    const error = await writer.closed.then(() => undefined, (caught: MqError) => caught);
    expect(error?.errorName).toBe("STREAM_WRITE_FAILED");
    expect(error?.message).toBe('Cannot write stream chunk 1 to topic "t": Cannot find topic "t"');
    expect(await writer.write("c").then(() => "written", () => "refused")).toBe("refused");
  });

  test("a pipe into a stream whose send fails rejects with the chunk's error", async () => {
    const { sender, requests } = manualSender();
    const source = new ReadableStream<string>({
      start(controller) {
        for (let index = 0; index < 5; index++) controller.enqueue(`m${index}`);
        controller.close();
      },
    });
    const piping = source.pipeTo(createMessageWritable(sender, { topic: "t", inFlight: 8 })).then(() => "piped", (caught: MqError) => caught.message);
    await turn();
    expect(requests.map((request) => bodies(request.messages))).toEqual([["m0"], ["m1"], ["m2"], ["m3"], ["m4"]]);
    requests[3]!.reject(new Error("disk full"));
    for (const request of requests.splice(0)) request.resolve();
    expect(await piping).toBe('Cannot write stream chunk 3 to topic "t": disk full');
  });

  test("inFlight must be a positive integer", () => {
    expect(() => createMessageWritable(manualSender().sender, { topic: "t", inFlight: 0 })).toThrow("inFlight");
  });
});
