/**
 * A NameServer reached over TCP: REGISTER_BROKER / UNREGISTER_BROKER on one connection, opened
 * on first use and again after any failure (a NameServer restart closes it). Connect and
 * request timeouts are short so a NameServer that is down costs one bounded wait per beat and
 * never holds the broker up.
 */

import type { Clock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { type Connection, connect } from "../net/connection.ts";
import { type BrokerIdentity, type BrokerRegistration, encodeRegisterBrokerBody } from "../protocol/broker-registration.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import type { NamesrvLink } from "./namesrv-link.ts";

/** Registration is small and the NameServer answers from memory: 3 s means it is not there. */
export const namesrvRequestTimeoutMsDefault = 3_000;

export interface TcpNamesrvLinkOptions {
  /** "host:port". */
  readonly address: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeoutMs?: number;
}

export class TcpNamesrvLink implements NamesrvLink {
  readonly name: string;
  private readonly host: string;
  private readonly port: number;
  private connection: Promise<Connection> | undefined;

  constructor(private readonly options: TcpNamesrvLinkOptions) {
    this.name = options.address;
    const colon = options.address.lastIndexOf(":");
    this.host = options.address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
    this.port = Number(options.address.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(this.port) || this.port < 1 || this.port > 65_535) {
      throw new MqError("INVALID_CONFIG", { key: `NameServer address "${options.address}"`, reason: "must be host:port with a port of 1..65535" });
    }
  }

  async register(registration: BrokerRegistration): Promise<void> {
    const { clusterName, brokerName, brokerId, brokerAddr, haAddr, version, dataVersion, storeBytes, diskUsedRatio } = registration;
    const fields = {
      clusterName,
      brokerName,
      brokerId,
      brokerAddr,
      ...(haAddr === undefined ? {} : { haAddr }),
      version,
      dataVersion,
      ...(storeBytes === undefined ? {} : { storeBytes }),
      ...(diskUsedRatio === undefined ? {} : { diskUsedRatio }),
    };
    const body = encodeRegisterBrokerBody(registration.topicConfigs);
    await this.send((connection, timeoutMs) => connection.request({ code: RequestCode.REGISTER_BROKER, fields, body, timeoutMs }));
  }

  async unregister(identity: BrokerIdentity): Promise<void> {
    const { clusterName, brokerName, brokerId, brokerAddr } = identity;
    const fields = { clusterName, brokerName, brokerId, brokerAddr };
    await this.send((connection, timeoutMs) => connection.request({ code: RequestCode.UNREGISTER_BROKER, fields, timeoutMs }));
  }

  close(): void {
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then((open) => open.close(), () => {});
  }

  private async send(request: (connection: Connection, timeoutMs: number) => Promise<unknown>): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? namesrvRequestTimeoutMsDefault;
    try {
      await request(await this.open(timeoutMs), timeoutMs);
    } catch (error) {
      // Whatever failed, start the next attempt on a fresh connection.
      this.close();
      throw error;
    }
  }

  private async open(timeoutMs: number): Promise<Connection> {
    const current = this.connection;
    if (current !== undefined) {
      const connection = await current;
      if (!connection.isClosed) return connection;
    }
    const opening = connect({ host: this.host, port: this.port, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, clock: this.options.clock, logger: this.options.logger });
    this.connection = opening;
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    return opening;
  }
}
