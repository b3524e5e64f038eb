import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { BunSocket } from "../../../src/net/bun-socket.ts";

/** Just enough of a Bun socket: the kernel takes `room` bytes, then nothing until given more. */
class FakeNative {
  sent: number[] = [];
  room = Number.POSITIVE_INFINITY;
  ended = 0;
  write(chunk: Uint8Array): number {
    const taken = Math.min(chunk.byteLength, this.room);
    this.room -= taken;
    this.sent.push(...chunk.subarray(0, taken));
    return taken;
  }
  end(): void {
    this.ended += 1;
  }
}

function setup() {
  const native = new FakeNative();
  const socket = new BunSocket(native as unknown as Socket<BunSocket | undefined>);
  let drains = 0;
  socket.on("drain", () => drains++);
  return { native, socket, drains: () => drains };
}

describe("BunSocket", () => {
  test("keeps what the kernel did not take, in order, and asks for drain until it is sent", () => {
    const { native, socket, drains } = setup();
    native.room = 3;
    expect(socket.write(new Uint8Array([1, 2, 3, 4, 5]))).toBe(false);
    expect(socket.write(new Uint8Array([6, 7]))).toBe(false);
    expect(socket.writableLength).toBe(4);
    native.room = 2;
    socket.writable();
    expect(drains()).toBe(0);
    expect(socket.writableLength).toBe(2);
    native.room = Number.POSITIVE_INFINITY;
    socket.writable();
    expect(drains()).toBe(1);
    expect(native.sent).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(socket.writableLength).toBe(0);
    expect(socket.write(new Uint8Array([8]))).toBe(true);
  });

  test("sends what was written while corked as one write", () => {
    const { native, socket } = setup();
    const writes: number[] = [];
    const write = native.write.bind(native);
    native.write = (chunk) => (writes.push(chunk.byteLength), write(chunk));
    socket.cork();
    socket.write(new Uint8Array([1]));
    socket.write(new Uint8Array([2, 3]));
    expect(writes).toEqual([]);
    socket.uncork();
    expect(writes).toEqual([3]);
    expect(native.sent).toEqual([1, 2, 3]);
  });

  test("ends only after the unsent bytes are out, and closes once", async () => {
    const { native, socket } = setup();
    let closes = 0;
    socket.on("close", () => closes++);
    native.room = 1;
    socket.end(new Uint8Array([1, 2]));
    expect(native.ended).toBe(0);
    native.room = 1;
    socket.writable();
    expect(native.ended).toBe(1);
    socket.gone(undefined);
    socket.destroy();
    await Promise.resolve();
    expect(closes).toBe(1);
    expect(socket.write(new Uint8Array([3]))).toBe(false);
  });

  test("reports a failure to its error listeners before closing", async () => {
    const { socket } = setup();
    const events: string[] = [];
    socket.on("error", (error) => events.push(`error ${error.message}`));
    socket.on("close", () => events.push("close"));
    socket.gone(new Error("reset"));
    await Promise.resolve();
    expect(events).toEqual(["error reset", "close"]);
    expect(socket.destroyed).toBe(true);
  });
});
