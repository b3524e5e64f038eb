import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { FrameWriter } from "../../../src/net/frame-writer.ts";

/** Just enough of a socket to watch what the writer does with it. */
class FakeSocket extends EventEmitter {
  writes: Uint8Array[] = [];
  accept = true;
  writableLength = 0;
  destroyed = false;
  corks = 0;
  write(chunk: Uint8Array): boolean {
    this.writes.push(chunk);
    if (!this.accept) this.writableLength += chunk.byteLength;
    return this.accept;
  }
  cork(): void {
    this.corks++;
  }
  uncork(): void {}
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup() {
  const socket = new FakeSocket();
  let changes = 0;
  const writer = new FrameWriter(socket as unknown as Socket, () => changes++);
  return { socket, writer, changes: () => changes };
}

describe("FrameWriter", () => {
  test("writes the first frame of a turn at once and coalesces the rest of the turn into one write", async () => {
    const { socket, writer } = setup();
    for (let index = 0; index < 100; index++) writer.enqueue(new Uint8Array([index]), new Uint8Array([index, index]));
    // The lone first frame went out at once, head and body in one write: no turn of latency for one in flight.
    expect(socket.writes.map((chunk) => [...chunk])).toEqual([[0, 0, 0]]);
    expect(writer.pendingBytes).toBe(297);
    await nextTurn();
    expect(socket.writes.length).toBe(2);
    expect(socket.writes[1]!.byteLength).toBe(297);
    expect([...socket.writes[1]!.subarray(0, 6)]).toEqual([1, 1, 1, 2, 2, 2]);
    expect(writer.pendingBytes).toBe(0);
  });

  test("a lone frame's large body is written as it is, after its head, never copied", () => {
    const { socket, writer } = setup();
    const large = new Uint8Array(100_000).fill(7);
    writer.enqueue(new Uint8Array([1]), large);
    expect(socket.writes.length).toBe(2);
    expect([...socket.writes[0]!]).toEqual([1]);
    expect(socket.writes[1]).toBe(large);
  });

  test("after a turn ends, the next lone frame is again written at once", async () => {
    const { socket, writer } = setup();
    writer.enqueue(new Uint8Array([1]));
    await nextTurn();
    writer.enqueue(new Uint8Array([2]));
    expect(socket.writes.map((chunk) => [...chunk])).toEqual([[1], [2]]);
  });

  test("writes large bodies as they are, between coalesced runs, in order", async () => {
    const { socket, writer } = setup();
    const large = new Uint8Array(100_000).fill(9);
    writer.enqueue(new Uint8Array([0])); // the turn's lone first frame, written at once
    writer.enqueue(new Uint8Array([1]));
    writer.enqueue(new Uint8Array([2]), large);
    writer.enqueue(new Uint8Array([3]));
    await nextTurn();
    expect(socket.writes.map((chunk) => chunk.byteLength)).toEqual([1, 2, 100_000, 1]);
    expect(socket.writes[2]).toBe(large);
    expect(socket.corks).toBe(1);
  });

  test("holds frames while the socket refuses more and sends them on drain", async () => {
    const { socket, writer, changes } = setup();
    socket.accept = false;
    writer.enqueue(new Uint8Array(10));
    await nextTurn();
    expect(socket.writes.length).toBe(1);
    writer.enqueue(new Uint8Array(20));
    writer.enqueue(new Uint8Array(30));
    await nextTurn();
    expect(socket.writes.length).toBe(1);
    expect(writer.pendingBytes).toBe(10 + 50);
    socket.accept = true;
    socket.writableLength = 0;
    const before = changes();
    socket.emit("drain");
    expect(socket.writes.length).toBe(2);
    expect(socket.writes[1]!.byteLength).toBe(50);
    expect(writer.pendingBytes).toBe(0);
    expect(changes()).toBeGreaterThan(before);
  });

  test("drops queued frames once stopped", async () => {
    const { socket, writer } = setup();
    writer.enqueue(new Uint8Array(10)); // written at once
    writer.enqueue(new Uint8Array(10)); // queued for the end of the turn
    writer.stop();
    writer.enqueue(new Uint8Array(10));
    await nextTurn();
    expect(socket.writes.length).toBe(1);
    expect(writer.pendingBytes).toBe(0);
  });
});
