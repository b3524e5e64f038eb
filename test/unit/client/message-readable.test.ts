/** The consumer's ReadableStream adapter on its own: the buffer bound, acknowledgement, cancel. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { MessageReadable } from "../../../src/client/message-readable.ts";
import type { ReceivedMessage } from "../../../src/client/message.ts";

function message(index: number): ReceivedMessage {
  return { msgId: `m${index}`, text: () => `m${index}` } as unknown as ReceivedMessage;
}

type Outcome = "acked" | "failed" | "abandoned";

/** Hands `count` messages to the readable's handler at once, as a consumer with that many handler slots would. */
function handAll(readable: MessageReadable, count: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      readable.handler(message(index)).then(
        (): Outcome => "acked",
        (error: unknown): Outcome => (isMqError(error, "ABORTED") ? "abandoned" : "failed"),
      ),
    ),
  );
}

describe("consumer.readable", () => {
  test("a slow sink never has more than highWaterMark messages handed over and unacknowledged", async () => {
    const readable = new MessageReadable({ highWaterMark: 4 }, async () => undefined, async () => undefined);
    const outcomes = handAll(readable, 40);
    const seen: string[] = [];
    let mostBuffered = 0;
    await readable.stream.pipeTo(
      new WritableStream({
        async write(chunk) {
          mostBuffered = Math.max(mostBuffered, readable.unacknowledged);
          seen.push(chunk.text());
          await new Promise((resolve) => setTimeout(resolve, 1)); // a slow sink
          if (seen.length === 40) readable.close();
        },
      }),
    );
    expect(mostBuffered).toBeGreaterThan(0);
    expect(mostBuffered).toBeLessThanOrEqual(4);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, index) => `m${index}`));
    // Each message is acknowledged when the next is read; the last one is open at close, so abandoned.
    expect(await outcomes).toEqual([...Array<Outcome>(39).fill("acked"), "abandoned"]);
  });

  test("manual mode: a read message stays unacknowledged until message.ack(); nack fails it", async () => {
    const readable = new MessageReadable({ highWaterMark: 2, manualAck: true }, async () => undefined, async () => undefined);
    const outcomes = handAll(readable, 3);
    const reader = readable.stream.getReader();
    const first = (await reader.read()).value!;
    const second = (await reader.read()).value!;
    expect(readable.unacknowledged).toBe(2); // the third waits for a permit
    first.ack();
    second.nack(new Error("bad payload"));
    const third = (await reader.read()).value!;
    expect(third.text()).toBe("m2");
    third.ack();
    expect(await outcomes).toEqual(["acked", "failed", "acked"]);
  });

  test("cancel(error) fails the message being worked on; the unread ones are abandoned and the consumer shut down", async () => {
    let shutDown = false;
    const readable = new MessageReadable(
      { highWaterMark: 8 },
      async () => undefined,
      async () => {
        shutDown = true;
      },
    );
    const outcomes = handAll(readable, 5);
    const failing = readable.stream.pipeTo(
      new WritableStream({
        write(chunk) {
          if (chunk.text() === "m2") throw new Error("sink refused m2");
        },
      }),
    );
    expect(await failing.then(() => "resolved", (error: Error) => error.message)).toBe("sink refused m2");
    expect(await outcomes).toEqual(["acked", "acked", "failed", "abandoned", "abandoned"]);
    expect(shutDown).toBe(true);
  });

  test("highWaterMark must be a positive integer", () => {
    expect(() => new MessageReadable({ highWaterMark: 0 }, async () => undefined, async () => undefined)).toThrow("highWaterMark");
  });
});
