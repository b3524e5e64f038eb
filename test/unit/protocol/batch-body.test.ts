/** SEND_BATCH body: round trip, and the msgId-only header read without msgpack gives what msgpack gives. */

import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { decodeBatchBody, encodeBatchBody } from "../../../src/protocol/batch-body.ts";

const msgId = "0A0B0C0D000100000002000000030004";

describe("batch body", () => {
  test("entries round trip: headers as maps, bodies as given", () => {
    const entries = [
      { msgId, body: new Uint8Array([1, 2, 3]) },
      { msgId, tags: "t", keys: ["k"], properties: { a: "b" }, body: new Uint8Array(0) },
    ];
    const decoded = decodeBatchBody(encodeBatchBody(entries), 2);
    expect(decoded.map((entry) => entry.header)).toEqual([{ msgId }, { msgId, tags: "t", keys: ["k"], properties: { a: "b" } }]);
    expect(decoded.map((entry) => [...entry.body])).toEqual([[1, 2, 3], []]);
  });

  test("a msgId-only header decodes to the same map as msgpack, also when it is not hex or not ASCII", () => {
    const packr = new Packr({ useRecords: false });
    for (const id of [msgId, "z".repeat(32), "é".repeat(16)]) {
      const header = packr.pack({ msgId: id }).slice();
      const body = new Uint8Array(8 + header.length);
      new DataView(body.buffer).setUint32(0, 4 + header.length);
      new DataView(body.buffer).setUint32(4, header.length);
      body.set(header, 8);
      expect(decodeBatchBody(body, 1)[0]!.header).toEqual({ msgId: id });
    }
  });

  test("a msgId-only header as a fixmap (other msgpack writers) reads the same", () => {
    const header = new Uint8Array([0x81, 0xa5, ...new TextEncoder().encode("msgId"), 0xd9, 0x20, ...new TextEncoder().encode(msgId)]);
    const body = new Uint8Array(8 + header.length);
    new DataView(body.buffer).setUint32(0, 4 + header.length);
    new DataView(body.buffer).setUint32(4, header.length);
    body.set(header, 8);
    expect(decodeBatchBody(body, 1)[0]!.header).toEqual({ msgId });
  });
});
