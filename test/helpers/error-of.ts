/** What `run` throws, or undefined when it returns: for asserting on a synchronous refusal. */
export function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
