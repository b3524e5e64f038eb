/**
 * The connections of one client instance (a Producer, a PushConsumer or an Admin), one per
 * broker address, opened on first use and reopened on the next use after they close. Each
 * instance has its own pool: the broker ties a client id's heartbeat, queue locks and
 * NOTIFY_CONSUMER_IDS_CHANGED to the connection it came on, so two clients must not share one.
 *
 * Handlers for requests the broker sends (consumer-ids-changed, transaction check-back) are
 * registered here once and installed on every connection, present and future.
 */

import { type Clock, systemClock } from "../common/clock.ts";
import { MqError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { type Frame } from "../protocol/frame.ts";
import { connectTimeoutMsDefault, requestTimeoutMsDefault } from "../protocol/limits.ts";
import type { Channel, OnewayOptions, RequestOptions } from "../net/channel.ts";
import { connect } from "../net/connection.ts";
import type { RequestHandler } from "../net/handlers.ts";

export interface ConnectionPoolOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

export class ConnectionPool {
  private readonly channels = new Map<string, Channel>();
  private readonly connecting = new Map<string, Promise<Channel>>();
  private readonly handlers = new Map<number, RequestHandler<never>>();
  private readonly openListeners: Array<(address: string) => void> = [];
  private closed = false;
  readonly clock: Clock;
  readonly logger: Logger;

  constructor(private readonly options: ConnectionPoolOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /** Registers a handler for a broker→client request on every connection of this pool. */
  handle<C extends number>(code: C, handler: RequestHandler<C>): void {
    this.handlers.set(code, handler as unknown as RequestHandler<never>);
    for (const channel of this.channels.values()) channel.handle(code, handler as unknown as RequestHandler);
  }

  /** Called after each (re)connect, e.g. to send a heartbeat so the broker knows us again. */
  onOpen(listener: (address: string) => void): void {
    this.openListeners.push(listener);
  }

  async channel(address: string): Promise<Channel> {
    if (this.closed) throw new MqError("CONNECTION_CLOSED", { address });
    const open = this.channels.get(address);
    if (open !== undefined && !open.isClosed) return open;
    const pending = this.connecting.get(address);
    if (pending !== undefined) return pending;
    const opening = this.open(address).finally(() => this.connecting.delete(address));
    this.connecting.set(address, opening);
    return opening;
  }

  /** On an open connection the request is written in the caller's turn, with no async hop. */
  request<C extends number>(address: string, options: RequestOptions<C>): Promise<Frame> {
    const open = this.closed ? undefined : this.channels.get(address);
    if (open !== undefined && !open.isClosed) return open.request(options);
    return this.channel(address).then((channel) => channel.request(options));
  }

  async oneway<C extends number>(address: string, options: OnewayOptions<C>): Promise<Channel> {
    const channel = await this.channel(address);
    channel.oneway(options);
    return channel;
  }

  /** Flushes and closes every connection; later requests fail with CONNECTION_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.connecting.values()]);
    const closing = [...this.channels.values()].map(
      (channel) => new Promise<void>((resolve) => {
        channel.onClose(() => resolve());
        channel.close();
      }),
    );
    this.channels.clear();
    await Promise.all(closing);
  }

  private async open(address: string): Promise<Channel> {
    const { host, port } = parseAddress(address);
    const channel = await connect({
      host,
      port,
      clock: this.clock,
      logger: this.logger,
      connectTimeoutMs: this.options.connectTimeoutMs ?? connectTimeoutMsDefault,
      requestTimeoutMs: this.options.requestTimeoutMs ?? requestTimeoutMsDefault,
    });
    if (this.closed) {
      channel.destroy();
      throw new MqError("CONNECTION_CLOSED", { address });
    }
    for (const [code, handler] of this.handlers) channel.handle(code, handler as RequestHandler);
    this.channels.set(address, channel);
    channel.onClose(() => {
      if (this.channels.get(address) === channel) this.channels.delete(address);
    });
    for (const listener of this.openListeners) listener(address);
    return channel;
  }
}

/** Splits `host:port` (an IPv6 host in brackets: `[::1]:10911`). */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim());
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65_535) {
    throw new MqError("BAD_REQUEST", { reason: `broker address must be "host:port", got "${address}"` });
  }
  return { host: match[1]!, port };
}
