import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { MqError, isMqError } from "../../../src/common/errors.ts";
import { connect } from "../../../src/net/connection.ts";
import { timeoutSweepMs } from "../../../src/net/pending-requests.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { connectTo, rejection, startServer, waitFor } from "./helpers.ts";

const ECHO = 900;
const HOLD = 901;
const SINK = 902;


describe("Connection", () => {
  test("matches pipelined responses to their requests by opaque, answered in reverse order", async () => {
    const server = await startServer();
    const held: Array<() => void> = [];
    server.handle(HOLD, (request) => new Promise((resolve) => held.push(() => resolve({ fields: { n: request.header.n }, body: request.body }))));
    const connection = await connectTo(server);
    const count = 200;
    const responses = Array.from({ length: count }, (_, n) => connection.request({ code: HOLD, fields: { n }, body: new Uint8Array([n % 256]) }));
    await waitFor("every request to reach the handler", () => held.length === count);
    expect(connection.pendingRequests).toBe(count);
    for (const release of held.reverse()) release();
    const frames = await Promise.all(responses);
    frames.forEach((frame, n) => {
      expect(frame.header.n).toBe(n);
      expect(frame.body[0]).toBe(n % 256);
    });
    expect(connection.pendingRequests).toBe(0);
  });

  test("rejects a request with REQUEST_TIMEOUT when no response comes in time, and drops the late response", async () => {
    const server = await startServer();
    const held: Array<() => void> = [];
    server.handle(HOLD, () => new Promise((resolve) => held.push(() => resolve({ fields: { late: true } }))));
    server.handle(ECHO, (request) => ({ fields: { n: request.header.n } }));
    const clock = new ManualClock();
    const connection = await connectTo(server, { clock });
    const response = connection.request({ code: HOLD, timeoutMs: 250 });
    await waitFor("the request to reach the handler", () => held.length === 1);
    clock.advance(249);
    expect(connection.pendingRequests).toBe(1);
    clock.advance(timeoutSweepMs); // deadlines are swept, so a timeout fires up to one sweep late
    const error = await rejection(response);
    expect(error.errorName).toBe("REQUEST_TIMEOUT");
    expect(error.message).toBe(`Request 901 to 127.0.0.1:${server.port} timed out after 250 ms`);
    held[0]!();
    expect((await connection.request({ code: ECHO, fields: { n: 7 } })).header.n).toBe(7);
  });

  test("uses the request code's name in timeout messages", async () => {
    const server = await startServer();
    server.handle(RequestCode.GET_CLUSTER_INFO, () => new Promise(() => {}));
    const clock = new ManualClock();
    const connection = await connectTo(server, { clock, requestTimeoutMs: 100 });
    const response = connection.request({ code: RequestCode.GET_CLUSTER_INFO });
    clock.advance(100);
    expect((await rejection(response)).message).toContain("Request GET_CLUSTER_INFO to");
  });

  test("sends oneway requests that get no response", async () => {
    const server = await startServer();
    const seen: number[] = [];
    server.handle(SINK, (request) => {
      seen.push(request.header.n as number);
      expect(request.oneway).toBe(true);
      return { fields: { ignored: true } };
    });
    server.handle(ECHO, () => ({}));
    const connection = await connectTo(server);
    for (let n = 0; n < 10; n++) connection.oneway({ code: SINK, fields: { n } });
    await connection.request({ code: ECHO });
    await waitFor("every oneway request to arrive", () => seen.length === 10);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(connection.pendingRequests).toBe(0);
  });

  test("rejects with ABORTED when the signal aborts, before or during the request", async () => {
    const server = await startServer();
    server.handle(HOLD, () => new Promise(() => {}));
    const connection = await connectTo(server);
    const before = new AbortController();
    before.abort(new Error("user gave up"));
    const early = await rejection(connection.request({ code: HOLD, signal: before.signal }));
    expect(early.errorName).toBe("ABORTED");
    expect(early.message).toBe("Operation aborted: user gave up");
    const during = new AbortController();
    const response = connection.request({ code: HOLD, signal: during.signal });
    expect(connection.pendingRequests).toBe(1);
    during.abort();
    expect((await rejection(response)).errorName).toBe("ABORTED");
    expect(connection.pendingRequests).toBe(0);
  });

  test("refuses requests past pendingRequestsMax with TOO_MANY_PENDING_REQUESTS", async () => {
    const server = await startServer();
    server.handle(HOLD, () => new Promise(() => {}));
    const connection = await connectTo(server, { pendingRequestsMax: 2 });
    const held = [connection.request({ code: HOLD }), connection.request({ code: HOLD })];
    const error = await rejection(connection.request({ code: HOLD }));
    expect(error.errorName).toBe("TOO_MANY_PENDING_REQUESTS");
    expect(error.message).toBe("Cannot accept request: 2 requests pending on this connection, limit is 2");
    const settled = Promise.allSettled(held);
    connection.destroy();
    for (const outcome of await settled) expect(outcome.status === "rejected" && isMqError(outcome.reason, "CONNECTION_CLOSED")).toBe(true);
  });

  test("rejects every pending request with CONNECTION_CLOSED when the server goes away", async () => {
    const server = await startServer();
    server.handle(HOLD, () => new Promise(() => {}));
    const connection = await connectTo(server);
    const pending = Array.from({ length: 5 }, () => connection.request({ code: HOLD }));
    await waitFor("the server to see the requests", () => [...server.connections].some((channel) => channel.requestsInFlight === 5));
    const settled = Promise.allSettled(pending);
    await server.close();
    for (const outcome of await settled) {
      if (outcome.status !== "rejected") throw new Error("expected a rejection");
      expect(isMqError(outcome.reason, "CONNECTION_CLOSED")).toBe(true);
      expect((outcome.reason as Error).message).toBe(`Cannot complete request: connection to 127.0.0.1:${server.port} closed`);
    }
    await waitFor("the connection to close", () => connection.isClosed);
    expect((await rejection(connection.request({ code: ECHO }))).errorName).toBe("CONNECTION_CLOSED");
    expect(() => connection.oneway({ code: SINK })).toThrow(/connection to .* closed/);
  });

  test("rejects pending requests with CONNECTION_CLOSED on a local close and runs close listeners once", async () => {
    const server = await startServer();
    server.handle(HOLD, () => new Promise(() => {}));
    const connection = await connectTo(server);
    let closes = 0;
    connection.onClose(() => closes++);
    const response = connection.request({ code: HOLD });
    connection.close();
    expect((await rejection(response)).errorName).toBe("CONNECTION_CLOSED");
    await waitFor("the close listener", () => closes === 1);
    connection.close();
    connection.destroy();
    expect(closes).toBe(1);
  });

  test("refuses to send a frame past the limit with FRAME_TOO_LARGE and stays usable", async () => {
    const server = await startServer();
    server.handle(ECHO, (request) => ({ body: request.body }));
    const connection = await connectTo(server, { frameLimits: { frameBytesMax: 4096, headerBytesMax: 1024 } });
    const error = await rejection(connection.request({ code: ECHO, body: new Uint8Array(5000) }));
    expect(error.errorName).toBe("FRAME_TOO_LARGE");
    expect(connection.pendingRequests).toBe(0);
    expect((await connection.request({ code: ECHO, body: new Uint8Array(100) })).body.byteLength).toBe(100);
  });

  test("carries a large body (frame at the default limit) both ways", async () => {
    const server = await startServer();
    server.handle(ECHO, (request) => ({ body: request.body }));
    const connection = await connectTo(server);
    const body = new Uint8Array(16 * 1024 * 1024 - 200);
    for (let index = 0; index < body.length; index += 4093) body[index] = index & 0xff;
    const response = await connection.request({ code: ECHO, body, timeoutMs: 30_000 });
    expect(response.body.byteLength).toBe(body.byteLength);
    expect(Buffer.compare(Buffer.from(response.body), Buffer.from(body))).toBe(0);
  });

  test("fails to connect to a closed port with CONNECT_FAILED", async () => {
    const server = await startServer();
    const port = server.port;
    await server.close();
    try {
      await connect({ host: "127.0.0.1", port });
      throw new Error("expected CONNECT_FAILED");
    } catch (error) {
      expect(isMqError(error, "CONNECT_FAILED")).toBe(true);
      expect((error as Error).message).toStartWith(`Cannot connect to 127.0.0.1:${port}: `);
    }
  });
});
