import { describe, expect, test } from "bun:test";
import { ManualClock } from "../../../src/common/clock.ts";
import { MqError } from "../../../src/common/errors.ts";
import type { Channel } from "../../../src/net/channel.ts";
import { connect } from "../../../src/net/connection.ts";
import { FrameFlag } from "../../../src/protocol/frame.ts";
import { RequestCode } from "../../../src/protocol/request-codes.ts";
import { connectTo, rawPeer, rejection, startServer, waitFor } from "./helpers.ts";

const ECHO = 900;
const HOLD = 901;


describe("Server", () => {
  test("answers an unknown request code with UNKNOWN_REQUEST_CODE", async () => {
    const server = await startServer();
    const connection = await connectTo(server);
    const error = await rejection(connection.request({ code: 777 }));
    expect(error.errorName).toBe("UNKNOWN_REQUEST_CODE");
    expect(error.code).toBe(1003);
    expect(error.message).toBe("Cannot handle request: unknown request code 777");
  });

  test("answers a handler's MqError with that error's code and message", async () => {
    const server = await startServer();
    server.handle(RequestCode.GET_ROUTE, (request) => {
      throw new MqError("TOPIC_NOT_FOUND", { topic: request.fields.topic });
    });
    server.handle(ECHO, async () => {
      await Promise.resolve();
      throw new MqError("QUEUE_LOCKED", { queueId: 3, topic: "t", owner: "c9" });
    });
    const connection = await connectTo(server);
    const error = await rejection(connection.request({ code: RequestCode.GET_ROUTE, fields: { topic: "missing" } }));
    expect(error.errorName).toBe("TOPIC_NOT_FOUND");
    expect(error.code).toBe(2001);
    expect(error.message).toBe('Cannot find topic "missing"');
    const asyncError = await rejection(connection.request({ code: ECHO }));
    expect(asyncError.errorName).toBe("QUEUE_LOCKED");
  });

  test("answers any other throw with INTERNAL and keeps serving", async () => {
    const server = await startServer();
    server.handle(ECHO, (request) => {
      if (request.header.sync === true) throw new TypeError("boom");
      return Promise.reject(new RangeError("async boom"));
    });
    server.handle(HOLD, () => ({ fields: { ok: 1 } }));
    const connection = await connectTo(server);
    const error = await rejection(connection.request({ code: ECHO, fields: { sync: true } }));
    expect(error.errorName).toBe("INTERNAL");
    expect(error.message).toBe("Internal error: boom");
    expect((await rejection(connection.request({ code: ECHO }))).message).toBe("Internal error: async boom");
    expect((await connection.request({ code: HOLD })).header.ok).toBe(1);
  });

  test("validates request fields before the handler runs and answers INVALID_FIELD", async () => {
    const server = await startServer();
    let calls = 0;
    server.handle(RequestCode.GET_MAX_OFFSET, (request) => {
      calls++;
      return { fields: { queueOffset: request.fields.queueId * 10 } };
    });
    const connection = await connectTo(server);
    const error = await rejection(connection.request({ code: RequestCode.GET_MAX_OFFSET, fields: { topic: "t", queueId: -1 } }));
    expect(error.errorName).toBe("INVALID_FIELD");
    expect(error.message).toBe('Cannot accept request: field "queueId" must be at least 0, got -1');
    expect(calls).toBe(0);
    const ok = await connection.request({ code: RequestCode.GET_MAX_OFFSET, fields: { topic: "t", queueId: 4 } });
    expect(ok.header.queueOffset).toBe(40);
  });

  test("sends a request to a connected client and gets its response by opaque", async () => {
    const server = await startServer();
    const channels: Channel[] = [];
    server.onConnection((channel) => channels.push(channel));
    const connection = await connectTo(server);
    connection.handle(RequestCode.CHECK_TRANSACTION_STATE, (request) => ({
      fields: { resolution: request.fields.transactionId === "1".repeat(32) ? "commit" : "rollback" },
    }));
    await waitFor("the server to accept the connection", () => channels.length === 1);
    const check = (transactionId: string) =>
      channels[0]!.request({
        code: RequestCode.CHECK_TRANSACTION_STATE,
        fields: { producerGroup: "pg", topic: "t", msgId: "A".repeat(32), transactionId, checkTimes: 1, storeTimestampMs: 0 },
      });
    const [first, second] = await Promise.all([check("1".repeat(32)), check("2".repeat(32))]);
    expect(first.header.resolution).toBe("commit");
    expect(second.header.resolution).toBe("rollback");
  });

  test("keeps a connection's own handlers to that connection", async () => {
    const server = await startServer();
    const channels: Channel[] = [];
    server.onConnection((channel) => {
      if (channels.length === 0) channel.handle(ECHO, () => ({ fields: { mine: true } }));
      channels.push(channel);
    });
    const first = await connectTo(server);
    expect((await first.request({ code: ECHO })).header.mine).toBe(true);
    const second = await connectTo(server);
    expect((await rejection(second.request({ code: ECHO }))).errorName).toBe("UNKNOWN_REQUEST_CODE");
  });

  test("runs a connection's close hooks when the client goes away", async () => {
    const server = await startServer();
    const closed: string[] = [];
    server.onConnection((channel) => channel.onClose((gone) => closed.push(gone.address)));
    const connection = await connectTo(server);
    await waitFor("the server to accept", () => server.connections.size === 1);
    connection.close();
    await waitFor("the close hook", () => closed.length === 1);
    expect(closed[0]).toStartWith("127.0.0.1:");
    expect(server.connections.size).toBe(0);
  });

  test("refuses connections past connectionsMax with TOO_MANY_CONNECTIONS and closes them", async () => {
    const server = await startServer({ connectionsMax: 1 });
    server.handle(ECHO, () => ({}));
    const connection = await connectTo(server);
    await waitFor("the first connection to be accepted", () => server.connections.size === 1);
    const refused = await rawPeer(server);
    await waitFor("the refused peer to be closed", () => refused.closed);
    const frame = refused.frames()[0];
    expect(frame?.code).toBe(1006);
    expect(frame?.opaque).toBe(0);
    expect(frame?.flags).toBe(FrameFlag.response);
    expect(frame?.header.remark).toBe("Cannot accept connection: 1 open, limit is 1");
    await connection.request({ code: ECHO });
  });

  test("refuses a peer's requests past pendingRequestsPerConnectionMax with TOO_MANY_PENDING_REQUESTS", async () => {
    const server = await startServer({ pendingRequestsPerConnectionMax: 2 });
    const held: Array<() => void> = [];
    server.handle(HOLD, () => new Promise((resolve) => held.push(() => resolve({}))));
    const connection = await connectTo(server);
    const first = connection.request({ code: HOLD });
    const second = connection.request({ code: HOLD });
    const error = await rejection(connection.request({ code: HOLD }));
    expect(error.errorName).toBe("TOO_MANY_PENDING_REQUESTS");
    expect(error.message).toBe("Cannot accept request: 2 requests pending on this connection, limit is 2");
    for (const release of held) release();
    await Promise.all([first, second]);
  });

  test("closes a connection idle for idleTimeoutMs, but not one with a request in flight", async () => {
    const clock = new ManualClock();
    const server = await startServer({ clock, idleTimeoutMs: 1_000 });
    server.handle(HOLD, () => new Promise(() => {}));
    const idle = await connectTo(server);
    const busy = await connectTo(server);
    const held = busy.request({ code: HOLD, timeoutMs: 60_000 }).catch(() => undefined);
    await waitFor("the server to see the held request", () => [...server.connections].some((channel) => channel.requestsInFlight === 1));
    clock.advance(999);
    expect(server.connections.size).toBe(2);
    clock.advance(1_000);
    await waitFor("the idle connection to close", () => idle.isClosed);
    expect(busy.isClosed).toBe(false);
    busy.destroy();
    await held;
  });

  test("stops every connection on close and rejects new connections", async () => {
    const server = await startServer();
    const connection = await connectTo(server);
    await waitFor("the server to accept", () => server.connections.size === 1);
    await server.close();
    await waitFor("the client to see the close", () => connection.isClosed);
    expect(server.connections.size).toBe(0);
    const late = await connect({ host: "127.0.0.1", port: server.port }).then(
      () => "connected",
      (error: unknown) => (error instanceof MqError ? error.errorName : "other"),
    );
    expect(late).toBe("CONNECT_FAILED");
  });
});
