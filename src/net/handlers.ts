/**
 * Request handlers, registered by code. A handler receives the validated fields (the schema of
 * its code ran at the edge) and returns a reply, or throws an MqError whose code becomes the
 * response code. Any other throw is a bug: the peer gets INTERNAL and the error is logged.
 *
 * A registry may have a parent: a server-side connection looks up its own handlers first, then
 * the server's, so a per-connection registration never leaks to other connections.
 */

import type { HeaderFields } from "../protocol/frame.ts";
import type { RequestFields } from "../protocol/schemas.ts";
import type { Channel } from "./channel.ts";

export interface IncomingRequest<C extends number = number> {
  readonly code: C;
  readonly opaque: number;
  readonly oneway: boolean;
  /** Header fields after validation (defaults applied, unknown keys dropped). */
  readonly fields: RequestFields<C>;
  /** The raw decoded header, for fields a schema does not (yet) know. */
  readonly header: HeaderFields;
  readonly body: Uint8Array;
  /** The connection the request came on: reply-independent calls back, close hooks. */
  readonly channel: Channel;
}

export interface Reply {
  readonly fields?: HeaderFields;
  readonly body?: Uint8Array;
}

export type RequestHandler<C extends number = number> = (request: IncomingRequest<C>) => Reply | void | Promise<Reply | void>;

export class HandlerRegistry {
  private readonly handlers = new Map<number, RequestHandler<never>>();

  constructor(private readonly parent?: HandlerRegistry) {}

  /** Registers the handler for `code`, replacing any earlier one. */
  on<C extends number>(code: C, handler: RequestHandler<C>): void {
    this.handlers.set(code, handler as unknown as RequestHandler<never>);
  }

  off(code: number): void {
    this.handlers.delete(code);
  }

  get(code: number): RequestHandler | undefined {
    return (this.handlers.get(code) as RequestHandler | undefined) ?? this.parent?.get(code);
  }
}
