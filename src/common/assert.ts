/**
 * Assertions for programmer errors. They stay on in production: a broken invariant in a store
 * must stop the process before it writes something wrong, not after.
 */

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Exhaustiveness check for `switch` over a union: the compiler proves this is never called. */
export function unreachable(value: never): never {
  throw new AssertionError(`Unreachable: unexpected value ${JSON.stringify(value)}`);
}
