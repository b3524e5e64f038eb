/**
 * How long a wait for something that takes milliseconds may take before the test fails: a bound
 * for a hang, not a measure of speed. Generous, because on a loaded two-core machine a process
 * can be descheduled for seconds; well inside the suite's 60 s per-test timeout, so a failure
 * names what it waited for.
 */
export const waitTimeoutMs = 30_000;

/** Polls `condition` (sync or async) every `pollMs` until it holds; fails after `timeoutMs` naming `what`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = waitTimeoutMs, pollMs = 5): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(pollMs);
  }
}

/** Retries `attempt` until a restarted process answers it (it listens before it serves); fails after `timeoutMs` naming `what`. */
export async function untilServing<T>(what: string, attempt: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await Bun.sleep(50);
    }
  }
}

/**
 * Retries `attempt` every 50 ms until it returns a value; errors count as "not yet" (a restarting
 * broker refuses connections). Fails after `timeoutMs` naming `what`, with the last error if any.
 */
export async function untilValue<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
    }
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}
