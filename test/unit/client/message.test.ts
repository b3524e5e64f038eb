/** Outgoing message checks, the local offset file and the for-await iterator. */

import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { isMqError } from "../../../src/common/errors.ts";
import { LocalOffsetStore } from "../../../src/client/local-offset-store.ts";
import { prepareMessage, type ReceivedMessage } from "../../../src/client/message.ts";
import { MessageIterator } from "../../../src/client/message-iterator.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";
import { errorOf } from "../../helpers/error-of.ts";

afterAll(removeTempDirs);

describe("prepareMessage", () => {
  test("encodes a string body as UTF-8 and keeps tags, keys and properties", () => {
    const prepared = prepareMessage({ topic: "t", body: "héllo", tags: "a", keys: "k1", properties: { color: "red" }, shardingKey: "s" });
    expect(new TextDecoder().decode(prepared.body)).toBe("héllo");
    expect(prepared.keys).toEqual(["k1"]);
    expect(prepared.properties).toEqual({ color: "red", SHARDING_KEY: "s" });
  });

  test("rejects what the broker would reject, with catalogue errors", () => {
    expect(isMqError(errorOf(() => prepareMessage({ topic: "bad topic", body: "" })), "TOPIC_INVALID")).toBe(true);
    expect(isMqError(errorOf(() => prepareMessage({ topic: "t", body: new Uint8Array(4 * 1024 * 1024 + 1) })), "MESSAGE_TOO_LARGE")).toBe(true);
    expect(isMqError(errorOf(() => prepareMessage({ topic: "t", body: "", keys: ["has space"] })), "PROPERTY_INVALID")).toBe(true);
    expect(isMqError(errorOf(() => prepareMessage({ topic: "t", body: "", properties: { "a\u0001": "x" } })), "PROPERTY_INVALID")).toBe(true);
    expect(isMqError(errorOf(() => prepareMessage({ topic: "t", body: "", properties: { big: "x".repeat(40_000) } })), "PROPERTIES_TOO_LARGE")).toBe(true);
  });

  test("refuses reserved property names and keys with a space as the broker does: PROPERTY_INVALID", () => {
    for (const name of ["TAGS", "KEYS", "UNIQ_KEY", "DELAY", "DELIVER_AT", "TRAN_MSG", "MAX_RECONSUME_TIMES"]) {
      expect({ name, refused: isMqError(errorOf(() => prepareMessage({ topic: "t", body: "", properties: { [name]: "1" } })), "PROPERTY_INVALID") }).toEqual({ name, refused: true });
    }
    expect(isMqError(errorOf(() => prepareMessage({ topic: "t", body: "", keys: "two words" })), "PROPERTY_INVALID")).toBe(true);
    expect(prepareMessage({ topic: "t", body: "", properties: { traceparent: "00-ab-cd-01" } }).properties).toEqual({ traceparent: "00-ab-cd-01" });
  });
});

describe("LocalOffsetStore", () => {
  test("keeps offsets across instances in one JSON file", async () => {
    const dir = makeTempDir();
    const queue = { topic: "t", brokerName: "127.0.0.1:1", queueId: 3 };
    const first = new LocalOffsetStore({ dir, group: "g", instance: "i@1" });
    expect(await first.read(queue)).toBe(-1);
    await first.commit([{ queue, offset: queueOffset(42) }]);
    const second = new LocalOffsetStore({ dir, group: "g", instance: "i@1" });
    expect(await second.read(queue)).toBe(queueOffset(42));
    expect(JSON.parse(readFileSync(second.path, "utf8")).version).toBe(1);
  });
});

describe("MessageIterator", () => {
  const fake = (offset: number) => ({ queueOffset: offset }) as ReceivedMessage;

  test("acknowledges a message only when the loop asks for the next one", async () => {
    const iterator = new MessageIterator(Promise.resolve(), async () => undefined);
    let acked = false;
    const handled = iterator.handler(fake(1)).then(() => (acked = true));
    expect((await iterator.next()).value?.queueOffset).toBe(1);
    await Promise.resolve();
    expect(acked).toBe(false);
    const second = iterator.next();
    await handled;
    expect(acked).toBe(true);
    void iterator.handler(fake(2));
    expect((await second).value?.queueOffset).toBe(2);
  });

  test("close abandons unacknowledged messages and ends the loop", async () => {
    const iterator = new MessageIterator(Promise.resolve(), async () => undefined);
    const first = iterator.handler(fake(1)).then(() => "acked", () => "abandoned");
    const second = iterator.handler(fake(2)).then(() => "acked", () => "abandoned");
    await iterator.next();
    iterator.close();
    expect(await first).toBe("abandoned");
    expect(await second).toBe("abandoned");
    expect((await iterator.next()).done).toBe(true);
  });
});
