/**
 * One framed, full-duplex connection, the same on both ends: the client's `Connection` and each
 * of a server's accepted sockets is a Channel. Either side may send requests (matched to their
 * responses by opaque, many in flight) and answer requests (handlers registered by code).
 *
 * Invariants:
 * - At most `pendingRequestsMax` requests this side sent are awaiting a response, and at most
 *   as many of the peer's requests are being handled; more are refused with
 *   TOO_MANY_PENDING_REQUESTS, never queued.
 * - While unsent output exceeds the high water mark the channel stops reading (server side),
 *   so a peer that never reads its responses stops being served instead of growing our memory;
 *   reading resumes below the low water mark. A client bounds its output by pending requests.
 * - A frame with a bad header is answered with an error and the stream carries on; a frame
 *   whose lengths are unusable ends the connection. Either way other connections never notice.
 * - On close every awaiting request fails with CONNECTION_CLOSED, once, and close listeners run.
 */

import type { ByteSocket } from "./byte-socket.ts";
import type { Clock, TimerHandle } from "../common/clock.ts";
import { MqError, isMqError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { FrameDecoder, type FrameError } from "../protocol/frame-decoder.ts";
import { type Frame, type FrameInput, type FrameLimits, FrameFlag, encodeFrameHead, isOneway, isResponse } from "../protocol/frame.ts";
import { hasCompactHeader } from "../protocol/compact-header.ts";
import { closeGraceMs } from "../protocol/limits.ts";
import { ResponseCode, requestCodeName } from "../protocol/request-codes.ts";
import { type RequestFieldsInput, validateRequest } from "../protocol/schemas.ts";
import { HandlerRegistry, type IncomingRequest, type Reply, type RequestHandler } from "./handlers.ts";
import { FrameWriter } from "./frame-writer.ts";
import { PendingRequests } from "./pending-requests.ts";
import { httpAnsweredError, looksLikeHttp } from "./wrong-service.ts";

export interface ChannelOptions {
  readonly socket: ByteSocket;
  /** `host:port` of the peer, used in error messages and logs. */
  readonly address: string;
  /** Handlers shared with other channels (a server's); this channel's own come first. */
  readonly handlers?: HandlerRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly pendingRequestsMax: number;
  /**
   * Stop reading from the peer while unsent output passes this; `Infinity` never stops. Only the
   * answering side (a server) should set it: a client that stopped reading responses because
   * its own requests queue up would deadlock with a server waiting for it to read.
   */
  readonly outputBytesHighWater: number;
  readonly outputBytesLowWater: number;
  readonly frameLimits: FrameLimits;
}

export interface RequestOptions<C extends number> {
  readonly code: C;
  readonly fields?: RequestFieldsInput<C>;
  readonly body?: Uint8Array;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface OnewayOptions<C extends number> {
  readonly code: C;
  readonly fields?: RequestFieldsInput<C>;
  readonly body?: Uint8Array;
}

export type CloseListener = (channel: Channel, reason: Error | undefined) => void;

export class Channel {
  readonly address: string;
  private readonly socket: ByteSocket;
  private readonly options: ChannelOptions;
  private readonly handlers: HandlerRegistry;
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  private readonly pending: PendingRequests;
  private readonly closeListeners: CloseListener[] = [];
  private handling = 0;
  private paused = false;
  private closing = false;
  private closedFlag = false;
  private closeReason: Error | undefined;
  private graceTimer: TimerHandle | undefined;
  private lastActivity: number;
  private receivedAny = false;

  constructor(options: ChannelOptions) {
    this.options = options;
    this.socket = options.socket;
    this.address = options.address;
    this.handlers = new HandlerRegistry(options.handlers);
    this.decoder = new FrameDecoder(options.frameLimits);
    this.pending = new PendingRequests(options.clock);
    this.writer = new FrameWriter(this.socket, () => this.updateBackpressure());
    this.lastActivity = options.clock.monotonicMs();
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (error) => {
      this.closeReason ??= error;
      options.logger.debug(`Connection to ${this.address} failed: ${error.message}`);
    });
    this.socket.on("close", () => this.finish());
  }

  get isClosed(): boolean {
    return this.closedFlag || this.closing;
  }
  /** Requests this side sent that await a response. */
  get pendingRequests(): number {
    return this.pending.size;
  }
  /** Peer requests being handled now. */
  get requestsInFlight(): number {
    return this.handling;
  }
  get outputBytesPending(): number {
    return this.writer.pendingBytes;
  }
  get readingPaused(): boolean {
    return this.paused;
  }
  /** Monotonic ms of the last byte received or sent. */
  get lastActivityMs(): number {
    return this.lastActivity;
  }

  /** Registers a handler for requests the peer sends on this connection only. */
  handle<C extends number>(code: C, handler: RequestHandler<C>): void {
    this.handlers.on(code, handler);
  }

  /** Sends a request and resolves with the success response; error responses reject as MqError. */
  request<C extends number>(options: RequestOptions<C>): Promise<Frame> {
    if (this.isClosed) return Promise.reject(this.closedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    if (this.pending.size >= this.options.pendingRequestsMax) {
      return Promise.reject(new MqError("TOO_MANY_PENDING_REQUESTS", { pending: this.pending.size, limit: this.options.pendingRequestsMax }));
    }
    const opaque = this.pending.nextOpaque();
    // The hot codes travel with a compact header (protocol/compact-header.ts); the rest as maps.
    const head = this.encode({ code: options.code, opaque, fields: options.fields as FrameInput["fields"], body: options.body, compact: hasCompactHeader(options.code) });
    if (head instanceof MqError) return Promise.reject(head);
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const response = this.pending.add({
      opaque,
      code: options.code,
      timeoutMs,
      signal,
      onTimeout: () => new MqError("REQUEST_TIMEOUT", { requestCode: requestCodeName(options.code), address: this.address, timeoutMs }),
      onAbort: abortedError,
    });
    this.writer.enqueue(head, options.body);
    this.afterEnqueue();
    return response;
  }

  /** Sends a request that gets no response. Throws CONNECTION_CLOSED or FRAME_TOO_LARGE. */
  oneway<C extends number>(options: OnewayOptions<C>): void {
    if (this.isClosed) throw this.closedError();
    // Oneway requests still get an opaque so the peer's logs can name them.
    const opaque = this.pending.nextOpaque();
    const head = this.encode({ code: options.code, opaque, flags: FrameFlag.oneway, fields: options.fields as FrameInput["fields"], body: options.body, compact: hasCompactHeader(options.code) });
    if (head instanceof MqError) throw head;
    this.writer.enqueue(head, options.body);
    this.afterEnqueue();
  }

  onClose(listener: CloseListener): void {
    if (this.closedFlag) queueMicrotask(() => listener(this, this.closeReason));
    else this.closeListeners.push(listener);
  }

  /** Flushes what is queued, then ends the connection; destroys it if the peer lingers. */
  close(reason?: Error): void {
    if (this.closing || this.closedFlag) return;
    this.closing = true;
    this.closeReason ??= reason;
    this.pending.failAll(this.closedError());
    this.writer.flushNow();
    this.socket.end();
    this.graceTimer = this.options.clock.setTimeout(() => this.socket.destroy(), closeGraceMs);
  }

  /** Ends the connection at once, dropping unsent output. */
  destroy(reason?: Error): void {
    this.closeReason ??= reason;
    this.writer.stop();
    this.socket.destroy();
    this.finish();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = this.options.clock.monotonicMs();
    if (!this.receivedAny) {
      this.receivedAny = true;
      if (looksLikeHttp(chunk)) {
        this.destroy(httpAnsweredError(this.address));
        return;
      }
    }
    this.decoder.push(chunk);
    this.decodeBuffered();
  }

  /**
   * Handles buffered frames until the input runs out or reading pauses: a chunk can hold
   * thousands of small requests, and answering all of them after output passed the high water
   * mark would defeat the bound. The rest waits in the decoder until output drains.
   */
  private decodeBuffered(): void {
    while (!this.paused) {
      const step = this.decoder.next();
      if (step.status === "need_more") break;
      if (step.status === "frame") this.onFrame(step.frame);
      else if (step.status === "malformed") this.onMalformed(step.error);
      else {
        this.onFatal(step.error);
        break;
      }
      if (this.closing || this.closedFlag) break;
    }
  }

  private onFrame(frame: Frame): void {
    if (isResponse(frame)) {
      const matched = this.pending.complete(frame.opaque, ({ resolve, reject }) => {
        if (frame.code === ResponseCode.SUCCESS) resolve(frame);
        else reject(MqError.fromCode(frame.code, typeof frame.header.remark === "string" ? frame.header.remark : ""));
      });
      if (!matched) this.options.logger.debug(`Dropped a response from ${this.address}: opaque ${frame.opaque} awaits nothing (late or unknown)`);
      return;
    }
    this.onRequest(frame);
  }

  private onRequest(frame: Frame): void {
    const oneway = isOneway(frame);
    if (!oneway && this.handling >= this.options.pendingRequestsMax) {
      this.respondError(frame.opaque, new MqError("TOO_MANY_PENDING_REQUESTS", { pending: this.handling, limit: this.options.pendingRequestsMax }));
      return;
    }
    const handler = this.handlers.get(frame.code);
    if (handler === undefined) {
      this.replyOrLog(frame, oneway, new MqError("UNKNOWN_REQUEST_CODE", { requestCode: frame.code }));
      return;
    }
    const validation = validateRequest(frame.code, frame.header);
    if (!validation.ok) {
      this.replyOrLog(frame, oneway, validation.error);
      return;
    }
    const request: IncomingRequest = { code: frame.code, opaque: frame.opaque, oneway, fields: validation.fields, header: frame.header, body: frame.body, channel: this };
    this.handling++;
    // A compact request is answered with a compact header, a map request with a map.
    const answering = frame.compact === true ? frame.code : undefined;
    let result: ReturnType<RequestHandler>;
    try {
      result = handler(request);
    } catch (error) {
      this.handling--;
      this.replyOrLog(frame, oneway, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => {
          this.handling--;
          if (!oneway) this.respond(frame.opaque, reply ?? undefined, answering);
        },
        (error: unknown) => {
          this.handling--;
          this.replyOrLog(frame, oneway, error);
        },
      );
    } else {
      this.handling--;
      if (!oneway) this.respond(frame.opaque, result ?? undefined, answering);
    }
  }

  /** Answers a failed request with its error; for a oneway request only logs it. */
  private replyOrLog(frame: Frame, oneway: boolean, error: unknown): void {
    if (!isMqError(error)) this.options.logger.error(`Handler for ${requestCodeName(frame.code)} from ${this.address} threw: ${errorText(error)}`);
    if (oneway) {
      if (isMqError(error)) this.options.logger.debug(`Oneway ${requestCodeName(frame.code)} from ${this.address} failed: ${error.message}`);
      return;
    }
    this.respondError(frame.opaque, error);
  }

  /** `compactFor`: the code of a request that came with a compact header. */
  private respond(opaque: number, reply: Reply | undefined, compactFor?: number): void {
    if (this.isClosed) return;
    const head = this.encode({ code: ResponseCode.SUCCESS, opaque, flags: FrameFlag.response, fields: reply?.fields, body: reply?.body, compact: compactFor !== undefined, requestCode: compactFor });
    if (head instanceof MqError) {
      this.respondError(opaque, head);
      return;
    }
    this.writer.enqueue(head, reply?.body);
    this.afterEnqueue();
  }

  private respondError(opaque: number, error: unknown): void {
    if (this.isClosed) return;
    const mqError = isMqError(error) ? error : new MqError("INTERNAL", { reason: error instanceof Error ? error.message : String(error) });
    const head = this.encode({ code: mqError.code, opaque, flags: FrameFlag.response, remark: mqError.message, errorName: mqError.errorName });
    // An error frame holds a short remark; failing to encode one is a bug worth surfacing.
    if (head instanceof MqError) throw head;
    this.writer.enqueue(head);
    this.afterEnqueue();
  }

  private onMalformed(error: FrameError): void {
    this.options.logger.warn(`Skipped a frame from ${this.address}: ${error.message}`);
    const flags = error.flags;
    if (error.opaque !== undefined && flags !== undefined && (flags & FrameFlag.response) !== 0) {
      this.pending.fail(error.opaque, error);
      return;
    }
    if (flags !== undefined && (flags & FrameFlag.oneway) !== 0) return;
    this.respondError(error.opaque ?? 0, error);
  }

  private onFatal(error: FrameError): void {
    this.options.logger.warn(`Closing connection to ${this.address}: ${error.message}`);
    this.respondError(0, error);
    this.close(error);
  }

  private encode(input: FrameInput): Uint8Array | MqError {
    try {
      return encodeFrameHead(input, this.options.frameLimits);
    } catch (error) {
      if (isMqError(error)) return error;
      throw error;
    }
  }

  private afterEnqueue(): void {
    this.lastActivity = this.options.clock.monotonicMs();
    this.updateBackpressure();
  }

  private updateBackpressure(): void {
    if (this.closedFlag) return;
    const pendingBytes = this.writer.pendingBytes;
    if (!this.paused && pendingBytes > this.options.outputBytesHighWater) {
      this.paused = true;
      this.socket.pause();
      this.options.logger.debug(`Stopped reading from ${this.address}: ${pendingBytes} bytes of output pending`);
    } else if (this.paused && pendingBytes <= this.options.outputBytesLowWater && !this.closing) {
      this.paused = false;
      this.socket.resume();
      this.decodeBuffered();
    }
  }

  private closedError(): MqError {
    if (isMqError(this.closeReason, "WRONG_SERVICE")) return this.closeReason;
    return new MqError("CONNECTION_CLOSED", { address: this.address });
  }

  private finish(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.graceTimer?.cancel();
    this.writer.stop();
    this.pending.failAll(this.closedError());
    for (const listener of this.closeListeners.splice(0)) {
      try {
        listener(this, this.closeReason);
      } catch (error) {
        this.options.logger.error(`Close listener for ${this.address} threw: ${errorText(error)}`);
      }
    }
  }
}

function abortedError(reason: unknown): MqError {
  return new MqError("ABORTED", { reason: reason instanceof Error ? reason.message : String(reason ?? "signal aborted") });
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
