/**
 * Cleanup hooks for test helper modules. `afterEach` called at the top of a helper module only
 * applies to the first test file that imports it: bun evaluates a module once per run, and the
 * hook binds to the file being loaded then — later files would leak servers and processes.
 * Helpers register here instead; test/setup.ts (preloaded, so its hooks are global) runs every
 * registered hook after each test of every file.
 */

type Hook = () => unknown;

const hooks: Hook[] = [];

/** Runs `hook` after every test of every file (register once, at a helper module's top level). */
export function afterEachTest(hook: Hook): void {
  hooks.push(hook);
}

export async function runAfterEachHooks(): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      console.error(`A test cleanup hook failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
}
