/**
 * The audit log of the admin HTTP API (`GET /api/v1/audit`): one entry per mutating request
 * that changes what the cluster is — topics, group configuration and offsets, dead-letter
 * redrives, timer cancels — with who asked (remote address, console or not), what (method, path,
 * the body's first `auditBodyCharsMax` characters), when, and how it ended (status, error code).
 * Refused requests (cross-site, read-only, invalid) are written too.
 *
 * The message traffic itself (sends, receives, acks, nacks) is not audited unless the console
 * made the request (it carries the console's CSRF token): a producer's every send is no admin
 * action, and auditing it would cost the hot path and drown the log.
 *
 * Entries live in memory, the last `auditEntriesMax`, numbered by `seq` so a reader continues
 * with `after`; they are lost when the process stops.
 */

import type { MiddlewareHandler } from "hono";
import { auditBodyCharsMax, auditEntriesMax } from "./limits.ts";
import { csrfTokenHeader, isMutating } from "./request-guard.ts";

export interface AuditEntry {
  readonly seq: number;
  readonly timeMs: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The catalogue code of an error answer. */
  readonly code?: number;
  /** True when the web console made the request. */
  readonly console: boolean;
  readonly remoteAddress?: string;
  /** The request body's start (JSON as sent; raw bodies are not kept). */
  readonly body?: string;
}

/** Message traffic: audited only when the console sends it. */
const trafficPaths = [/^\/api\/v1\/topics\/[^/]+\/messages$/, /^\/api\/v1\/groups\/[^/]+\/(receive|ack|nack)$/];

export class AuditLog {
  private readonly entries: AuditEntry[] = [];
  private nextSeq = 1;

  constructor(private readonly nowMs: () => number = Date.now) {}

  record(entry: Omit<AuditEntry, "seq" | "timeMs">): AuditEntry {
    const written = { seq: this.nextSeq++, timeMs: this.nowMs(), ...entry };
    this.entries.push(written);
    if (this.entries.length > auditEntriesMax) this.entries.splice(0, this.entries.length - auditEntriesMax);
    return written;
  }

  /** Entries after `after` (a seq), oldest first, at most `limit` of the newest ones. */
  list(options: { after?: number; limit: number }): AuditEntry[] {
    const after = options.after ?? 0;
    const start = this.entries.findIndex((entry) => entry.seq > after);
    if (start < 0) return [];
    const matching = this.entries.slice(start);
    return matching.slice(Math.max(0, matching.length - options.limit));
  }

  /** The hono middleware writing an entry for each audited request once it is answered. */
  middleware(csrfToken: string): MiddlewareHandler {
    return async (context, next) => {
      const request = context.req.raw;
      if (!isMutating(request.method)) return next();
      const fromConsole = request.headers.get(csrfTokenHeader) === csrfToken;
      const path = context.req.path;
      if (!fromConsole && trafficPaths.some((pattern) => pattern.test(path))) return next();
      const body = await bodyStart(request);
      await next();
      const status = context.res.status;
      const code = status >= 400 ? await errorCode(context.res) : undefined;
      const server = context.env as { requestIP?: (request: Request) => { address: string } | null } | undefined;
      const remoteAddress = server?.requestIP?.(request)?.address;
      this.record({
        method: request.method,
        path,
        status,
        ...(code === undefined ? {} : { code }),
        console: fromConsole,
        ...(remoteAddress === undefined ? {} : { remoteAddress }),
        ...(body === undefined ? {} : { body }),
      });
    };
  }
}

/** A JSON body's first characters, read from a clone so the route still reads the original. */
async function bodyStart(request: Request): Promise<string | undefined> {
  const contentType = request.headers.get("content-type") ?? "";
  if (request.body === null || !contentType.startsWith("application/json")) return undefined;
  const text = await request.clone().text();
  return text.length > auditBodyCharsMax ? `${text.slice(0, auditBodyCharsMax)}…` : text;
}

async function errorCode(response: Response): Promise<number | undefined> {
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    return typeof body.code === "number" ? body.code : undefined;
  } catch {
    return undefined;
  }
}
