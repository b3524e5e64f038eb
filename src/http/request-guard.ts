/**
 * What stands before every mutating REST call (POST, PUT, PATCH, DELETE under /api/v1): the
 * cross-site request check and the read-only switch.
 *
 * Cross-site requests (CSRF): a page on another site can make a browser send a request to this
 * port with the user's network position, so:
 * - a request whose `Origin` is not this server (scheme and host as the request names them) is
 *   refused, as is one the browser marks `Sec-Fetch-Site: cross-site`;
 * - a POST with a body must carry `Content-Type: application/json` or `application/octet-stream`
 *   — types a cross-site form or a "simple" fetch cannot send without a CORS preflight, which
 *   this server never grants — or the `mq-csrf-token` header with this process's token (GET
 *   /api/v1/console/settings). A POST without a body, and PUT, PATCH and DELETE (always
 *   preflighted by browsers), are covered by the Origin check: browsers send an Origin with every
 *   cross-site one. curl, the SDK and the CLI send no Origin and pass.
 *
 * Read-only (`consoleReadOnly: true`): every mutating request is refused (CONSOLE_READ_ONLY) and
 * the console, told by its settings, hides its actions.
 */

import type { MiddlewareHandler } from "hono";
import { MqError } from "../common/errors.ts";

export const csrfTokenHeader = "mq-csrf-token";

const mutatingMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const preflightFreeTypes = [/^application\/json\s*(;|$)/i, /^application\/octet-stream\s*(;|$)/i];

export interface RequestGuardOptions {
  readonly readOnly: boolean;
  /** The value `mq-csrf-token` must carry to stand in for a JSON content type. */
  readonly csrfToken: string;
}

export function isMutating(method: string): boolean {
  return mutatingMethods.has(method);
}

export function requestGuard(options: RequestGuardOptions): MiddlewareHandler {
  return async (context, next) => {
    const { method } = context.req;
    if (!isMutating(method)) return next();
    const path = context.req.path;
    const refusal = crossSiteRefusal(context.req.raw, options.csrfToken);
    if (refusal !== undefined) throw new MqError("CROSS_SITE_REFUSED", { method, path, reason: refusal });
    if (options.readOnly) throw new MqError("CONSOLE_READ_ONLY", { method, path });
    return next();
  };
}

/** Why `request` looks cross-site, or undefined when it may go on. */
export function crossSiteRefusal(request: Request, csrfToken: string): string | undefined {
  const headers = request.headers;
  const origin = headers.get("origin");
  if (origin !== null && !sameOrigin(origin, request)) return `its Origin "${origin}" is not this server`;
  if (headers.get("sec-fetch-site") === "cross-site") return "the browser marks it cross-site (Sec-Fetch-Site)";
  if (request.method !== "POST") return undefined;
  const contentType = headers.get("content-type") ?? "";
  if (contentType === "" && bodyless(headers)) return undefined;
  if (preflightFreeTypes.some((pattern) => pattern.test(contentType))) return undefined;
  const token = headers.get(csrfTokenHeader);
  if (token !== null && token === csrfToken) return undefined;
  return token === null
    ? `a POST needs Content-Type application/json or application/octet-stream, or the ${csrfTokenHeader} header (got ${contentType === "" ? "no content type" : `"${contentType}"`})`
    : `its ${csrfTokenHeader} header is not this server's token`;
}

/**
 * A POST with no body at all (a commit or rollback by id): no form can send one, and a browser
 * script's cross-site POST always carries an Origin, refused above.
 */
function bodyless(headers: Headers): boolean {
  const length = headers.get("content-length");
  return (length === null || length === "0") && headers.get("transfer-encoding") === null;
}

/** The Origin names the host the request was sent to (the Host header, as the browser wrote it). */
function sameOrigin(origin: string, request: Request): boolean {
  const host = request.headers.get("host");
  if (host === null) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
