/**
 * A broker's registration with a NameServer, as one typed value, and the in-process bus events
 * that carry it when both run in one process (role all): the same data as REGISTER_BROKER's
 * header + body, without the serialization. Brokers and NameServers may not import each other
 * (DESIGN.md §3), so the vocabulary they share lives here, beside the wire schemas.
 *
 * Request events ("namesrv.*") go broker → NameServer; the NameServer answers each one it
 * applied with "broker.registered" (synchronously, inside the emit), which is how the broker
 * knows an in-process NameServer is there at all.
 */

import { Packr, Unpackr } from "msgpackr";
import type { z } from "zod";
import { MqError } from "../common/errors.ts";
import { type brokerIdentitySchema, type registerBrokerSchema, registerBrokerBodySchema, type topicConfigSchema, validateFields } from "./schemas.ts";

export type BrokerIdentity = z.output<typeof brokerIdentitySchema>;
export type RegisteredTopicConfig = z.output<typeof topicConfigSchema>;

export interface BrokerRegistration extends z.output<typeof registerBrokerSchema> {
  readonly topicConfigs: readonly RegisteredTopicConfig[];
}

export interface RegistrationOutcome extends BrokerIdentity {
  /** False when the NameServer already had this dataVersion and only refreshed the heartbeat. */
  readonly changed: boolean;
}

export type NamesrvBusEvents = {
  /** A co-located broker registers (start, topic change, heartbeat). */
  "namesrv.register": BrokerRegistration;
  /** A co-located broker leaves on graceful shutdown. */
  "namesrv.unregister": BrokerIdentity;
  /** A NameServer applied a registration (in-process or over TCP). */
  "broker.registered": RegistrationOutcome;
  /** A NameServer dropped a broker: unregistered, or silent past the expiry. */
  "broker.expired": BrokerIdentity & { readonly reason: "unregistered" | "expired" };
};

// Plain maps, never msgpackr records: other languages must read the body (README §3).
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** REGISTER_BROKER's body: `{topicConfigs: [...]}` as msgpack (a topic table can outgrow a header). */
export function encodeRegisterBrokerBody(topicConfigs: readonly RegisteredTopicConfig[]): Uint8Array {
  // pack() returns a view of a reused buffer: copy it before the next pack.
  return packr.pack({ topicConfigs }).slice();
}

/** Decodes and validates REGISTER_BROKER's body (empty = no topics); throws MALFORMED_FRAME or INVALID_FIELD. */
export function decodeRegisterBrokerBody(body: Uint8Array): RegisteredTopicConfig[] {
  if (body.byteLength === 0) return []; // a broker with no topics may send no body at all
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(body);
  } catch (error) {
    throw new MqError("MALFORMED_FRAME", { reason: `REGISTER_BROKER body is not msgpack: ${(error as Error).message}` });
  }
  const validation = validateFields(registerBrokerBodySchema, decoded);
  if (!validation.ok) throw validation.error;
  return validation.fields.topicConfigs;
}
