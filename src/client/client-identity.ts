/**
 * Who a client instance is, as the broker and msgIds see it: the host's first non-internal
 * IPv4 address, the process id, and a random per-instance hash. The client id
 * (`ip@pid@hash`) names a group member in heartbeats, the member list and queue locks; two
 * instances in one process get different ids, so they are distinct members.
 */

import { networkInterfaces } from "node:os";
import { MsgIdGenerator } from "../common/ids.ts";

export interface ClientIdentity {
  readonly ip: string;
  readonly pid: number;
  readonly instanceHash: number;
  readonly clientId: string;
}

export function localIpv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}

let cachedIp: string | undefined;

export function createClientIdentity(clientId?: string): ClientIdentity {
  cachedIp ??= localIpv4();
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  const instanceHash = random[0]!;
  return {
    ip: cachedIp,
    pid: process.pid,
    instanceHash,
    clientId: clientId ?? `${cachedIp}@${process.pid}@${instanceHash.toString(16).padStart(8, "0")}`,
  };
}

export function createMsgIdGenerator(identity: ClientIdentity): MsgIdGenerator {
  return new MsgIdGenerator({ ip: identity.ip, pid: identity.pid, instanceHash: identity.instanceHash });
}
