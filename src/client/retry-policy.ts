/**
 * Which failures a send (or any request) may retry: those where the broker did not refuse the
 * request itself — timeouts, lost or refused connections, a broker too busy or not ready yet.
 * Validation errors (bad topic, message too large, unknown topic) would fail the same way again.
 *
 * A retried send may store the message twice (a timeout does not say whether the first attempt
 * was stored): sends are at-least-once, and the msgId stays the same across attempts so the
 * broker's dedup window or the consumer can tell the copies apart.
 */

import { type ErrorName, isMqError } from "../common/errors.ts";

const retriable: ReadonlySet<ErrorName> = new Set<ErrorName>([
  "REQUEST_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECT_FAILED",
  // The catalogue has no BROKER_BUSY: these are how a busy or starting broker says "not now".
  "TOO_MANY_PENDING_REQUESTS",
  "TOO_MANY_CONNECTIONS",
  "STORE_NOT_READY",
  "FLUSH_TIMEOUT",
  "SLAVE_NOT_AVAILABLE",
]);

export function isRetriable(error: unknown): boolean {
  return isMqError(error) && retriable.has(error.errorName);
}
