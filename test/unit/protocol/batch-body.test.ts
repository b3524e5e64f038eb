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

  test("a plain entry whose msgId has 32 characters, one not ASCII, round trips (encoded again through msgpack)", () => {
    const odd = "é" + "a".repeat(31);
    const entries = [{ msgId, body: new Uint8Array([1]) }, { msgId: odd, body: new Uint8Array([2]) }];
    const decoded = decodeBatchBody(encodeBatchBody(entries), 2);
    expect(decoded.map((entry) => entry.header)).toEqual([{ msgId }, { msgId: odd }]);
    expect(decoded.map((entry) => [...entry.body])).toEqual([[1], [2]]);
  });

  test("a msgId-only header as a fixmap (other msgpack writers) reads the same", () => {
    const header = new Uint8Array([0x81, 0xa5, ...new TextEncoder().encode("msgId"), 0xd9, 0x20, ...new TextEncoder().encode(msgId)]);
    const body = new Uint8Array(8 + header.length);
    new DataView(body.buffer).setUint32(0, 4 + header.length);
    new DataView(body.buffer).setUint32(4, header.length);
    body.set(header, 8);
    expect(decodeBatchBody(body, 1)[0]!.header).toEqual({ msgId });
  });

  test("a scheduled entry's header (msgId and one delivery field) is written and read without msgpack, as the map msgpack reads", () => {
    const { Unpackr } = require("msgpackr") as typeof import("msgpackr");
    const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
    const values = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_796_000_000_123, Number.MAX_SAFE_INTEGER];
    const entries = values.flatMap((value) => [{ msgId, deliverAtMs: value, body: new Uint8Array([7]) }, { msgId, delayMs: value, body: new Uint8Array(0) }, { msgId, delayLevel: value, body: new Uint8Array(0) }]);
    const encoded = encodeBatchBody(entries);
    const decoded = decodeBatchBody(encoded, entries.length);
    expect(decoded.map((entry) => entry.header)).toEqual(entries.map(({ body: _body, ...header }) => (header.delayLevel === 0 ? { msgId } : header)));
    // The same bytes through msgpack give the same maps (the header is standard msgpack).
    let position = 0;
    for (const entry of decoded) {
      const view = new DataView(encoded.buffer, encoded.byteOffset);
      const headerLength = view.getUint32(position + 4);
      expect(unpackr.unpack(encoded.subarray(position + 8, position + 8 + headerLength))).toEqual(entry.header as Record<string, unknown>);
      position += 4 + view.getUint32(position);
    }
  });

  test("a scheduled header written by msgpack, or with more fields, still decodes through msgpack", () => {
    const packr = new Packr({ useRecords: false });
    for (const header of [{ msgId, delayMs: 5 }, { msgId, deliverAtMs: 1_796_000_000_123 }, { msgId, delayMs: 5, tags: "t" }, { msgId, delayMs: -3 }, { msgId, deliverAtMs: 1.5 }]) {
      const bytes = packr.pack(header).slice();
      const body = new Uint8Array(8 + bytes.length);
      new DataView(body.buffer).setUint32(0, 4 + bytes.length);
      new DataView(body.buffer).setUint32(4, bytes.length);
      body.set(bytes, 8);
      expect(decodeBatchBody(body, 1)[0]!.header).toEqual(header);
    }
    // Values the fast header does not take (negative, fractional, two fields) go through msgpack on the way out too.
    const odd = [{ msgId, delayMs: -3, body: new Uint8Array(0) }, { msgId, deliverAtMs: 1.5, body: new Uint8Array(0) }, { msgId, delayMs: 5, delayLevel: 2, body: new Uint8Array(0) }];
    expect(decodeBatchBody(encodeBatchBody(odd), 3).map((entry) => entry.header)).toEqual(odd.map(({ body: _body, ...header }) => header));
  });
});
