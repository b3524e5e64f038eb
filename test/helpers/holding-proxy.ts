/**
 * A TCP proxy on 127.0.0.1 in front of a broker that decodes every request a client sends and
 * either forwards it or holds it for good (the broker never sees it, the client never gets an
 * answer) — a request lost on the way, at a point the test chooses. Answers from the broker pass
 * through untouched. Stopped after each test.
 */

import { type Server, type Socket, createConnection, createServer } from "node:net";
import { FrameDecoder } from "../../src/protocol/frame-decoder.ts";
import type { Frame } from "../../src/protocol/frame.ts";
import { afterEachTest } from "./cleanup-hooks.ts";

export interface HoldingProxy {
  readonly address: string;
  /** Requests passed to the broker, in the order they came. */
  readonly forwarded: Frame[];
  /** Requests held back. */
  readonly held: Frame[];
  close(): void;
}

const open = new Set<HoldingProxy>();

afterEachTest(() => {
  for (const proxy of [...open]) proxy.close();
});

/** Starts a proxy to the broker at `upstreamPort`; `hold(frame)` says which requests never reach it. */
export async function startHoldingProxy(upstreamPort: number, hold: (frame: Frame) => boolean): Promise<HoldingProxy> {
  const sockets = new Set<Socket>();
  const forwarded: Frame[] = [];
  const held: Frame[] = [];
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: upstreamPort });
    sockets.add(client).add(upstream);
    const decoder = new FrameDecoder();
    let pending = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    client.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      // Frames leave whole, in order: `u32 total length` counts the bytes after itself.
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const bytes = pending.subarray(0, 4 + pending.readUInt32BE(0));
        pending = pending.subarray(bytes.length);
        const step = decoder.next();
        if (step.status !== "frame") throw new Error(`Holding proxy cannot decode a request: ${step.status}`);
        if (hold(step.frame)) held.push(step.frame);
        else {
          forwarded.push(step.frame);
          upstream.write(bytes);
        }
      }
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", closeBoth).on("error", closeBoth);
    upstream.on("close", closeBoth).on("error", closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const proxy: HoldingProxy = {
    address: `127.0.0.1:${port}`,
    forwarded,
    held,
    close: () => {
      open.delete(proxy);
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
  open.add(proxy);
  return proxy;
}
