import { describe, expect, test } from "bun:test";
import { Packr } from "msgpackr";
import { FrameFlag, encodeFrame } from "../../../src/protocol/frame.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import type { Server } from "../../../src/net/server.ts";
import { withSeedAsync } from "../../helpers/seeded-random.ts";
import { type RawPeer, connectTo, rawPeer, startServer, waitFor } from "./helpers.ts";

const ECHO = 900;
const BIG = 903;
const packr = new Packr({ useRecords: false });

function rawFrame(header: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, 4 + header.byteLength);
  view.setUint32(4, header.byteLength);
  out.set(header, 8);
  return out;
}

/** A server with an echo handler and a well-behaved client that must never notice bad peers. */
async function serverWithGoodClient(options: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer(options);
  server.handle(ECHO, (request) => ({ fields: { n: request.header.n }, body: request.body }));
  const good = await connectTo(server);
  const goodStillServed = async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, (_, n) => good.request({ code: ECHO, fields: { n } })));
    expect(responses.map((response) => response.header.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  };
  await goodStillServed();
  return { server, good, goodStillServed };
}

function send(peer: RawPeer, bytes: Uint8Array): void {
  peer.socket.write(bytes);
}

async function expectOpenAndServed(peer: RawPeer, opaque: number): Promise<void> {
  send(peer, encodeFrame({ code: ECHO, opaque, fields: { n: opaque } }));
  await waitFor(`the response to opaque ${opaque}`, () => peer.frames().some((frame) => frame.opaque === opaque));
  expect(peer.closed).toBe(false);
}

describe("Server with bad peers", () => {
  test("survives random bytes from a peer while another client carries on (seeded)", async () => {
    const { server, goodStillServed } = await serverWithGoodClient();
    const peers: RawPeer[] = [];
    await withSeedAsync(async (random) => {
      for (let round = 0; round < 20; round++) {
        const peer = await rawPeer(server);
        send(peer, random.bytes(1 + random.int(4_000)));
        peers.push(peer);
      }
    });
    await goodStillServed();
    for (const peer of peers) {
      for (const step of peer.steps) {
        expect(step.status).toBe("frame"); // the server only ever sends well-formed error frames
        if (step.status === "frame") expect(step.frame.flags & FrameFlag.response).toBe(FrameFlag.response);
      }
    }
    await goodStillServed();
    expect(server.connections.size).toBeGreaterThanOrEqual(1);
  });

  test("closes a peer that sends a length of 2^31, after telling it FRAME_TOO_LARGE", async () => {
    const { server, goodStillServed } = await serverWithGoodClient();
    const peer = await rawPeer(server);
    send(peer, new Uint8Array([0x80, 0, 0, 0, 0, 0, 0, 0]));
    await waitFor("the peer to be closed", () => peer.closed);
    const frame = peer.frames()[0];
    expect(frame?.code).toBe(1002);
    expect(frame?.opaque).toBe(0);
    expect(frame?.header.remark).toBe(`Cannot accept frame: ${2 ** 31 + 4} bytes, limit is ${16 * 1024 * 1024}`);
    await goodStillServed();
  });

  test("answers a header that is not msgpack with MALFORMED_FRAME at opaque 0 and keeps the connection", async () => {
    const { server, goodStillServed } = await serverWithGoodClient();
    const peer = await rawPeer(server);
    send(peer, rawFrame(new Uint8Array([0xc1, 0xc1])));
    await waitFor("the error response", () => peer.frames().length === 1);
    const frame = peer.frames()[0]!;
    expect(frame.code).toBe(1001);
    expect(frame.opaque).toBe(0);
    expect(frame.header.remark).toStartWith("Cannot decode frame: header is not msgpack");
    await expectOpenAndServed(peer, 5);
    await goodStillServed();
  });

  test("answers a header without a valid code at the frame's own opaque", async () => {
    const { server } = await serverWithGoodClient();
    const peer = await rawPeer(server);
    send(peer, rawFrame(packr.pack({ code: "ten", opaque: 42 })));
    await waitFor("the error response", () => peer.frames().length === 1);
    expect(peer.frames()[0]?.opaque).toBe(42);
    expect(peer.frames()[0]?.header.remark).toBe('Cannot decode frame: header field "code" must be a u16, got "ten"');
    await expectOpenAndServed(peer, 6);
  });

  test("answers a valid frame with invalid fields with INVALID_FIELD at its opaque", async () => {
    const { server, goodStillServed } = await serverWithGoodClient();
    const peer = await rawPeer(server);
    server.handle(RequestCode.SEND_MESSAGE, () => ({}));
    send(peer, encodeFrame({ code: RequestCode.SEND_MESSAGE, opaque: 77, fields: { topic: "bad topic!" } }));
    await waitFor("the error response", () => peer.frames().length === 1);
    const frame = peer.frames()[0]!;
    expect(frame.opaque).toBe(77);
    expect(frame.code).toBe(1004);
    expect(frame.header.errorName).toBe("INVALID_FIELD");
    expect(frame.header.remark).toBe('Cannot accept request: field "producerGroup" is required');
    await expectOpenAndServed(peer, 8);
    await goodStillServed();
  });

  test("sends no response to a oneway request, even a failing one", async () => {
    const { server } = await serverWithGoodClient();
    const peer = await rawPeer(server);
    send(peer, encodeFrame({ code: 777, opaque: 1, flags: FrameFlag.oneway }));
    send(peer, encodeFrame({ code: ECHO, opaque: 2, flags: FrameFlag.oneway }));
    await expectOpenAndServed(peer, 3);
    expect(peer.frames().map((frame) => frame.opaque)).toEqual([3]);
  });

  test("stops reading from a peer that never reads its responses, with bounded output, while others carry on", async () => {
    const highWater = 1024 * 1024;
    const { server, goodStillServed } = await serverWithGoodClient({ outputBytesHighWater: highWater, outputBytesLowWater: highWater / 4 });
    const responseBody = new Uint8Array(64 * 1024);
    server.handle(BIG, () => ({ body: responseBody }));
    const before = new Set(server.connections);
    const peer = await rawPeer(server);
    peer.socket.pause(); // never read
    await waitFor("the server to accept the peer", () => server.connections.size === before.size + 1);
    const channel = [...server.connections].find((candidate) => !before.has(candidate))!;
    // 40,000 requests ask for ~2.6 GB of responses; the server must stop long before that.
    const request = (opaque: number) => encodeFrame({ code: BIG, opaque });
    for (let batch = 0; batch < 40; batch++) {
      const frames = Array.from({ length: 1_000 }, (_, index) => request(batch * 1_000 + index + 1));
      send(peer, Buffer.concat(frames));
    }
    await waitFor("the server to stop reading from the peer", () => channel.readingPaused);
    await goodStillServed();
    // Output stays at the high water mark plus at most one response.
    expect(channel.outputBytesPending).toBeLessThanOrEqual(highWater + responseBody.byteLength + 1024);
    // And it stays paused: the peer still has not read.
    await goodStillServed();
    expect(channel.readingPaused).toBe(true);
    expect(channel.outputBytesPending).toBeLessThanOrEqual(highWater + responseBody.byteLength + 1024);
    peer.socket.destroy();
    await waitFor("the server to drop the peer", () => channel.isClosed && !server.connections.has(channel));
    await goodStillServed();
  });

  test("resumes reading once a slow peer catches up and answers every request", async () => {
    const highWater = 256 * 1024;
    const server: Server = await startServer({ outputBytesHighWater: highWater, outputBytesLowWater: highWater / 4 });
    const responseBody = new Uint8Array(32 * 1024);
    server.handle(BIG, () => ({ body: responseBody }));
    const peer = await rawPeer(server);
    peer.socket.pause();
    const count = 2_000;
    send(peer, Buffer.concat(Array.from({ length: count }, (_, index) => encodeFrame({ code: BIG, opaque: index + 1 }))));
    await waitFor("the server to stop reading", () => [...server.connections].some((channel) => channel.readingPaused));
    peer.socket.resume();
    await waitFor("every response", () => peer.frames().length === count);
    expect(peer.frames().map((frame) => frame.opaque)).toEqual(Array.from({ length: count }, (_, index) => index + 1));
  });
});
