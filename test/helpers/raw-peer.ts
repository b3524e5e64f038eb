/**
 * A plain TCP socket to a server on 127.0.0.1 that records everything the server sends back,
 * decoded into frames — for sending bad bytes and watching the answer. The caller destroys it
 * (`socket.destroy()`), usually from its cleanup list.
 */

import { type Socket, createConnection } from "node:net";
import { type DecodeStep, FrameDecoder } from "../../src/protocol/frame-decoder.ts";
import type { Frame } from "../../src/protocol/frame.ts";

export interface RawPeer {
  readonly socket: Socket;
  readonly steps: DecodeStep[];
  readonly frames: () => Frame[];
  closed: boolean;
}

export async function connectRawPeer(port: number): Promise<RawPeer> {
  const socket = createConnection({ host: "127.0.0.1", port });
  const decoder = new FrameDecoder();
  const peer: RawPeer = {
    socket,
    steps: [],
    frames: () => peer.steps.flatMap((step) => (step.status === "frame" ? [step.frame] : [])),
    closed: false,
  };
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let step = decoder.next(); step.status !== "need_more"; step = decoder.next()) {
      peer.steps.push(step);
      if (step.status === "fatal") break;
    }
  });
  socket.on("error", () => {});
  socket.on("close", () => (peer.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return peer;
}
