/**
 * Loopback ports for processes a test starts (`--port N`), free when handed out.
 *
 * A port the kernel picks (listen on 0) is in its ephemeral range, where every outgoing
 * connection and every other `port: 0` listener of the suite and its children also takes its
 * local port: between the hand-out and the child's listen (or a broker's restart on the same
 * port after kill -9) one of them could take it, and the child failed with EADDRINUSE. So ports
 * come from below that range, where nothing takes a port by itself, walking forward from a start
 * that differs per process: one process hands a port out again only after every other port of the range.
 */

import { readFileSync } from "node:fs";

const rangeStart = 20_000;
const rangeEnd = ephemeralRangeStart();
const rangeSize = rangeEnd - rangeStart;

/** Where the kernel's ephemeral range starts (Linux: net.ipv4.ip_local_port_range, 32768 by default). */
function ephemeralRangeStart(): number {
  const linuxDefault = 32_768;
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low >= rangeStart + 1_000 ? low : linuxDefault;
  } catch {
    return linuxDefault;
  }
}

let next = rangeStart + ((process.pid * 7_919) % rangeSize);

/** A loopback port nothing listens on right now, below the ephemeral range, not handed out lately by this process. */
export function freePort(): number {
  for (let tried = 0; tried < rangeSize; tried++) {
    const port = next;
    next = next + 1 >= rangeEnd ? rangeStart : next + 1;
    if (canListen(port)) return port;
  }
  throw new Error(`freePort: no free loopback port from ${rangeStart} to ${rangeEnd - 1}`);
}

function canListen(port: number): boolean {
  try {
    const listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    listener.stop(true);
    return true;
  } catch {
    return false;
  }
}
