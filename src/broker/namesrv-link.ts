/**
 * The seam between a broker and one NameServer: the registrar talks to a `NamesrvLink` and
 * never knows how the registration travels. Two implementations:
 * - `InProcessNamesrvLink`: the NameServer runs in this process (role all); registration is a
 *   synchronous event on the process bus — no serialization, no TCP hop;
 * - `TcpNamesrvLink` (tcp-namesrv-link.ts): REGISTER_BROKER over the wire protocol.
 *
 * A link either succeeds or throws an MqError; it never retries on its own — the registrar's
 * next beat is the retry.
 */

import type { EventBus } from "../common/bus.ts";
import { MqError } from "../common/errors.ts";
import type { BrokerIdentity, BrokerRegistration, NamesrvBusEvents } from "../protocol/broker-registration.ts";

export interface NamesrvLink {
  /** For logs and /ready: "in-process" or the NameServer's "host:port". */
  readonly name: string;
  register(registration: BrokerRegistration): Promise<void> | void;
  unregister(identity: BrokerIdentity): Promise<void> | void;
  /** Releases what the link holds (a connection); it may be used again afterwards. */
  close(): void;
}

export const inProcessLinkName = "in-process";

export class InProcessNamesrvLink implements NamesrvLink {
  readonly name = inProcessLinkName;

  constructor(private readonly bus: EventBus<NamesrvBusEvents>) {}

  /**
   * Emits the registration and checks that a NameServer applied it: the bus dispatches
   * synchronously, so its "broker.registered" echo arrives before `emit` returns, or never.
   */
  register(registration: BrokerRegistration): void {
    let acknowledged = false;
    const off = this.bus.on("broker.registered", (outcome) => {
      if (outcome.brokerAddr === registration.brokerAddr && outcome.brokerName === registration.brokerName && outcome.brokerId === registration.brokerId) acknowledged = true;
    });
    try {
      this.bus.emit("namesrv.register", registration);
    } finally {
      off();
    }
    if (!acknowledged) throw new MqError("NAMESRV_UNAVAILABLE", { namesrvs: `${this.name} (no NameServer applied the registration)` });
  }

  unregister(identity: BrokerIdentity): void {
    this.bus.emit("namesrv.unregister", identity);
  }

  close(): void {}
}
