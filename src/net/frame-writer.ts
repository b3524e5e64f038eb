/**
 * Outgoing frames of one socket: coalesced and flow-controlled.
 *
 * Coalescing: frames enqueued during one event-loop turn are flushed together on the next
 * `setImmediate`, small ones copied into one buffer, so a burst of pipelined requests or
 * responses costs one write syscall instead of one per frame (measured ~5x faster). Bodies of
 * `coalesceChunkBytesMax` or more are written as they are, inside the same cork, never copied.
 *
 * A lone frame — the first of its event-loop turn, with nothing queued or owed to the socket —
 * is written at once instead, head and a small body in one write: one request in flight then
 * pays no extra turn of latency nor a second syscall, while the frames after it in a busy turn
 * are still coalesced.
 *
 * Flow control: when the socket refuses more (`write()` returns false) the writer keeps further
 * frames in its own queue until `drain`. `pendingBytes` counts both queues, which is what the
 * channel compares against its high water mark to stop reading from the peer.
 */

import type { ByteSocket } from "./byte-socket.ts";
import { coalesceChunkBytesMax } from "../protocol/limits.ts";

export class FrameWriter {
  private parts: Uint8Array[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingForDrain = false;
  private stopped = false;
  /** Set by an immediate write until the end of its event-loop turn. */
  private wroteThisTurn = false;
  private readonly endTurn = (): void => {
    this.wroteThisTurn = false;
  };

  /** `onOutputChange` runs after each flush and drain, so the owner can resume reading. */
  constructor(
    private readonly socket: ByteSocket,
    private readonly onOutputChange: () => void,
  ) {
    socket.on("drain", () => {
      this.waitingForDrain = false;
      this.flush();
      this.onOutputChange();
    });
  }

  /** Bytes accepted for sending but not yet handed to the kernel. */
  get pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  enqueue(head: Uint8Array, body?: Uint8Array): void {
    if (this.stopped) return;
    if (!this.wroteThisTurn && !this.flushScheduled && !this.waitingForDrain && this.parts.length === 0 && this.socket.writableLength === 0 && !this.socket.destroyed) {
      this.wroteThisTurn = true;
      setImmediate(this.endTurn);
      let accepted: boolean;
      if (body === undefined || body.byteLength === 0) accepted = this.socket.write(head);
      // A small body goes in the head's write (one syscall); a large one is not copied.
      else if (body.byteLength < coalesceChunkBytesMax) accepted = this.socket.write(concat([head, body], 0, 2));
      else {
        accepted = this.socket.write(head);
        accepted = this.socket.write(body) && accepted;
      }
      if (!accepted) this.waitingForDrain = true;
      return;
    }
    this.parts.push(head);
    this.queuedBytes += head.byteLength;
    if (body !== undefined && body.byteLength > 0) {
      this.parts.push(body);
      this.queuedBytes += body.byteLength;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  /** Writes whatever is queued now (used right before ending the socket). */
  flushNow(): void {
    this.waitingForDrain = false;
    this.flush();
  }

  /** Drops queued frames; the socket is going away. */
  stop(): void {
    this.stopped = true;
    this.parts = [];
    this.queuedBytes = 0;
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
    this.onOutputChange();
  };

  private flush(): void {
    if (this.stopped || this.waitingForDrain || this.parts.length === 0) return;
    if (this.socket.destroyed) {
      this.stop();
      return;
    }
    const parts = this.parts;
    this.parts = [];
    this.queuedBytes = 0;
    let accepted = true;
    if (parts.length === 1) {
      accepted = this.socket.write(parts[0]!);
    } else {
      this.socket.cork();
      let start = 0;
      for (let index = 0; index <= parts.length; index++) {
        const part = parts[index];
        // A run of small parts ends at a large part or at the end: copy the run into one buffer.
        if (part !== undefined && part.byteLength < coalesceChunkBytesMax) continue;
        if (index > start) accepted = this.socket.write(concat(parts, start, index)) && accepted;
        if (part !== undefined) accepted = this.socket.write(part) && accepted;
        start = index + 1;
      }
      this.socket.uncork();
    }
    if (!accepted) this.waitingForDrain = true;
  }
}

function concat(parts: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 1) return parts[start]!;
  let total = 0;
  for (let index = start; index < end; index++) total += parts[index]!.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let index = start; index < end; index++) {
    const part = parts[index]!;
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
