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
 * Entries are numbered by `seq` so a reader continues with `after`. The last `auditEntriesMax`
 * are kept in memory and, when a broker runs in this process, appended to `audit.log` in its
 * data dir (one JSON object a line, written before the answer leaves), so they survive a
 * restart: the file is read back at start and rewritten with the kept entries once it holds
 * twice as many.
 */

import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
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
  private linesInFile = 0;

  /** `file`: where entries are appended and read back from at start (absent: memory only). */
  constructor(private readonly options: { file?: string; nowMs?: () => number } = {}) {
    if (options.file !== undefined && existsSync(options.file)) this.load(options.file);
  }

  record(entry: Omit<AuditEntry, "seq" | "timeMs">): AuditEntry {
    const written = { seq: this.nextSeq++, timeMs: (this.options.nowMs ?? Date.now)(), ...entry };
    this.entries.push(written);
    if (this.entries.length > auditEntriesMax) this.entries.splice(0, this.entries.length - auditEntriesMax);
    this.persist(written);
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

  private persist(entry: AuditEntry): void {
    const file = this.options.file;
    if (file === undefined) return;
    if (this.linesInFile >= 2 * auditEntriesMax) {
      writeFileSync(file, this.entries.map((kept) => `${JSON.stringify(kept)}\n`).join(""));
      this.linesInFile = this.entries.length;
      return;
    }
    appendFileSync(file, `${JSON.stringify(entry)}\n`);
    this.linesInFile++;
  }

  /** The file's entries (a line cut short by a crash is skipped); the numbering goes on after them. */
  private load(file: string): void {
    const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0);
    this.linesInFile = lines.length;
    for (const line of lines.slice(-auditEntriesMax)) {
      try {
        const entry = JSON.parse(line) as AuditEntry;
        if (typeof entry.seq === "number") this.entries.push(entry);
      } catch {
        // A torn last line: the entry was never answered.
      }
    }
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
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
