/**
 * What a Channel and its FrameWriter use of a connection: the part of `node:net`'s Socket they
 * call, so a client's `node:net` socket (the SDK runs on Node too) and a server's `Bun.listen`
 * socket (bun-socket.ts) serve the same Channel. Semantics are node's: `write` keeps what it is
 * given and returns false when the caller should wait for `drain`; `writableLength` counts the
 * bytes accepted but not yet handed to the kernel; `end` flushes them before the FIN.
 */

export interface ByteSocket {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  end(): unknown;
  end(chunk: Uint8Array): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  setNoDelay(noDelay: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "close" | "drain", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
}
