/**
 * Telling a user they dialled the wrong port. A client pointed at a NameServer's port sends
 * broker requests, one pointed at a broker's port sends NameServer requests, and one pointed at
 * the admin HTTP port gets an HTTP error page back: each is answered with WRONG_SERVICE naming
 * what answered and which address to give instead, not with "unknown request code 40" or
 * "connection closed".
 */

import { MqError } from "../common/errors.ts";
import { RequestCode, requestDirection, type RequestCodeName } from "../protocol/request-codes.ts";
import type { Server } from "./server.ts";

export interface ServiceIdentity {
  /** Who answers, e.g. "an mq NameServer, not a broker". */
  readonly service: string;
  /** What to do instead, e.g. "give it as a NameServer address (--namesrv)". */
  readonly hint: string;
}

/** Answers every request meant for the other kind of server with WRONG_SERVICE. */
export function refuseRequestsFor(server: Server, direction: "client→broker" | "→namesrv", identity: ServiceIdentity): void {
  for (const name of Object.keys(requestDirection) as RequestCodeName[]) {
    if (requestDirection[name] !== direction) continue;
    server.handle(RequestCode[name], () => {
      throw new MqError("WRONG_SERVICE", { address: `port ${server.port}`, ...identity });
    });
  }
}

const httpPrefix = new TextEncoder().encode("HTTP/");

/** Whether the first bytes a peer sent are an HTTP response (the client dialled an HTTP port). */
export function looksLikeHttp(chunk: Uint8Array): boolean {
  if (chunk.length < httpPrefix.length) return false;
  for (let index = 0; index < httpPrefix.length; index++) if (chunk[index] !== httpPrefix[index]) return false;
  return true;
}

export function httpAnsweredError(address: string): MqError {
  return new MqError("WRONG_SERVICE", {
    address,
    service: "an HTTP server, not an mq broker or NameServer",
    hint: "give the broker's TCP port (--broker, default 10911) or the NameServer's (--namesrv, default 9876)",
  });
}
