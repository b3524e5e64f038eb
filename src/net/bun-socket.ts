/**
 * A `Bun.listen` socket as the ByteSocket a server's Channel writes to and reads from.
 *
 * Why not `node:net` on the server: under Bun, node:net is a JavaScript stream layer (Duplex,
 * its buffering, its events) over this same native socket, paid on every chunk read and every
 * write. Here a chunk goes from the native callback to the Channel directly, and a write is one
 * `send` to the kernel (see src/net/server.ts for the measured difference).
 *
 * Bun's `write` takes what the kernel takes now and returns the count; the rest is ours to keep.
 * It waits in `unsent`, in order, until Bun calls `drain`, so `write` keeps node's contract
 * (everything is accepted; false means wait for `drain`) and `writableLength` counts the bytes
 * not yet in the kernel, which is what the Channel's high water mark bounds.
 *
 * `cork` collects writes and `uncork` sends them as one buffer: one syscall per flush.
 */

import type { Socket } from "bun";
import type { ByteSocket } from "./byte-socket.ts";

type DataListener = (chunk: Buffer) => void;
type ErrorListener = (error: Error) => void;
type Listener = () => void;

export class BunSocket implements ByteSocket {
  private unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private corked: Uint8Array[] | undefined;
  private corkDepth = 0;
  private ending = false;
  private closed = false;
  private closeEmitted = false;
  private dataListeners: DataListener[] = [];
  private errorListeners: ErrorListener[] = [];
  private closeListeners: Listener[] = [];
  private drainListeners: Listener[] = [];

  constructor(private readonly socket: Socket<BunSocket | undefined>) {}

  get writableLength(): number {
    return this.unsentBytes;
  }
  get destroyed(): boolean {
    return this.closed;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    if (this.corked !== undefined) {
      this.corked.push(chunk);
      return true;
    }
    return this.send(chunk);
  }

  cork(): void {
    this.corkDepth += 1;
    this.corked ??= [];
  }

  uncork(): void {
    if (this.corkDepth === 0 || --this.corkDepth > 0) return;
    const parts = this.corked!;
    this.corked = undefined;
    if (parts.length === 1) this.send(parts[0]!);
    else if (parts.length > 1) this.send(concatParts(parts));
  }

  /** Sends `chunk` (if given) and whatever is unsent, then closes with a FIN. */
  end(chunk?: Uint8Array): void {
    if (this.closed || this.ending) return;
    if (chunk !== undefined) this.write(chunk);
    this.ending = true;
    if (this.unsentBytes === 0) this.socket.end();
  }

  /** Closes now, dropping what is unsent (the peer sees a FIN, like node's destroy). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsent = [];
    this.unsentBytes = 0;
    this.socket.end();
    this.emitClose();
  }

  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  setNoDelay(noDelay: boolean): void {
    this.socket.setNoDelay(noDelay);
  }

  on(event: "data", listener: DataListener): this;
  on(event: "error", listener: ErrorListener): this;
  on(event: "close" | "drain", listener: Listener): this;
  on(event: "data" | "error" | "close" | "drain", listener: DataListener | ErrorListener | Listener): this {
    if (event === "data") this.dataListeners.push(listener as DataListener);
    else if (event === "error") this.errorListeners.push(listener as ErrorListener);
    else if (event === "close") this.closeListeners.push(listener as Listener);
    else this.drainListeners.push(listener as Listener);
    return this;
  }

  once(event: "close", listener: Listener): this {
    return this.on(event, listener);
  }

  // The server's Bun.listen handlers call these.

  received(chunk: Buffer): void {
    const listeners = this.dataListeners;
    if (listeners.length === 1) listeners[0]!(chunk);
    else for (const listener of listeners) listener(chunk);
  }

  /** The kernel takes more: send what waits, and tell the writer once nothing does. */
  writable(): void {
    while (this.unsent.length > 0) {
      const next = this.unsent[0]!;
      const written = this.socket.write(next);
      if (written < 0) return;
      if (written < next.byteLength) {
        this.unsent[0] = next.subarray(written);
        this.unsentBytes -= written;
        return;
      }
      this.unsent.shift();
      this.unsentBytes -= next.byteLength;
    }
    if (this.ending) {
      this.socket.end();
      return;
    }
    for (const listener of this.drainListeners) listener();
  }

  /** The peer sent its FIN: like node's default (no half-open connections), end our side too. */
  peerEnded(): void {
    this.end();
  }

  failed(error: Error): void {
    for (const listener of this.errorListeners) listener(error);
  }

  gone(error: Error | undefined): void {
    if (error !== undefined && !this.closed) this.failed(error);
    this.closed = true;
    this.unsent = [];
    this.unsentBytes = 0;
    this.emitClose();
  }

  private send(chunk: Uint8Array): boolean {
    if (this.unsentBytes > 0) {
      this.keep(chunk);
      return false;
    }
    const written = this.socket.write(chunk);
    if (written === chunk.byteLength) return true;
    if (written < 0) return false;
    this.keep(written === 0 ? chunk : chunk.subarray(written));
    return false;
  }

  private keep(chunk: Uint8Array): void {
    this.unsent.push(chunk);
    this.unsentBytes += chunk.byteLength;
  }

  /** Like node, `close` comes after the call that caused it has returned. */
  private emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    queueMicrotask(() => {
      for (const listener of this.closeListeners.splice(0)) listener();
    });
  }
}

function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
