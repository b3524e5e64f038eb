/** SimpleConsumer.nack: the broker counts the failed deliveries and dead-letters the message with the error text. */

import { describe, expect, test } from "bun:test";
import { decodeRecord } from "../../../src/common/message-record.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { SimpleConsumer } from "../../../src/client/simple-consumer.ts";
import type { SimpleMessage } from "../../../src/client/popped-message.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { createTopic, startProducer, track, uniqueName } from "./helpers.ts";

describe("client: SimpleConsumer.nack", () => {
  test("a message nacked every time is received 1 + maxReconsumeTimes times, then is in the DLQ with the error text", async () => {
    const broker = await startTestBroker();
    const topic = uniqueName("nack");
    const group = uniqueName("g");
    await createTopic(broker.address, topic, 1);
    await broker.broker.context.groupConfigs.update({ group, maxReconsumeTimes: 2, backoff: { kind: "exponential", initialMs: 20, factor: 2, maxMs: 100, jitter: 0 } });
    const producer = await startProducer(broker.address);
    const sent = await producer.send({ topic, body: "bad" });
    const simple = track(new SimpleConsumer({ broker: broker.address, group, topics: topic, awaitMs: 0 }));
    await simple.start();

    const received: SimpleMessage[] = [];
    const deadLetters = () => {
      const result = broker.store.getMessages({ topic: `%DLQ%${group}`, queueId: 0, offset: queueOffset(0), maxCount: 10 });
      return result.messages.map((message) => decodeRecord(result.buffer, message.position));
    };
    // Bounded: each round long-polls at most 50 ms; the back-off is 20 ms then 40 ms.
    for (let round = 0; round < 200 && deadLetters().length === 0; round++) {
      for (const message of await simple.receive(1, { waitMs: 50 })) {
        received.push(message);
        await simple.nack(message, { errorText: `attempt ${received.length} failed` });
      }
    }
    expect(received.map((message) => message.msgId)).toEqual([sent.msgId, sent.msgId, sent.msgId]);
    expect(deadLetters()[0]!.properties[propertyNames.consumeErrorText]).toBe("attempt 3 failed");
  });
});
