export {};
// Runs the whole suite with `bun test` and ends with the plain line `N passed, N failed`
// (`, N skipped` when any), which `bun test` does not print itself. Its exit status is kept.
// Extra arguments go to `bun test` (a path filter, `--timeout`, ...).

// bun test 1.4 does not read bunfig's [test] timeout (a test without its own timeout got 5 s and,
// on a loaded machine, timed out and had its servers killed under the tests after it), so the
// suite's default goes on the command line unless the caller gives one.
const callerArgs = process.argv.slice(2);
const timeoutArgs = callerArgs.some((arg) => arg.startsWith("--timeout")) ? [] : ["--timeout", "60000"];
const args = ["test", ...timeoutArgs, ...callerArgs];
const child = Bun.spawn([process.execPath, ...args], {
  stdout: "inherit",
  stderr: "pipe",
  env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
});

// Bun prints its summary on stderr: pass it through as it comes and keep the tail to read counts.
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stderr) {
  process.stderr.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-8192);
}
const exitCode = await child.exited;

function count(label: string): number | undefined {
  const match = tail.match(new RegExp(`^\\s*(\\d+) ${label}$`, "m"));
  return match ? Number(match[1]) : undefined;
}

const passed = count("pass");
const failedCount = count("fail");
const skipped = (count("skip") ?? 0) + (count("todo") ?? 0);
let failed = failedCount ?? 0;
if (passed === undefined || failedCount === undefined) {
  console.error(`run-tests: bun test ended with exit code ${exitCode} and printed no summary`);
  failed = Math.max(failed, 1);
}
if (exitCode !== 0 && failed === 0) failed = 1; // a crash or load error still fails the run

const line = `${passed ?? 0} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : "");
console.log(line);
process.exit(exitCode !== 0 ? exitCode : failed > 0 ? 1 : 0);
