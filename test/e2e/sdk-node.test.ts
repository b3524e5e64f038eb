/**
 * The README's "SDK on Node" example, run as written under Node (issue 9, item 15): the SDK is
 * built (`scripts/build-sdk.ts` → dist/sdk), the example is copied out of README.md into a temp
 * project whose node_modules/mq is this repository — so `import ... from "mq"` goes through
 * package.json's `exports` — and `node example.mjs` runs against a real `mq start` process.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { cleanEnv, exitTimeoutMs, freePort, repoRoot, type Started, startTimeoutMs, waitForOk, withDeadline } from "./helpers.ts";

const buildTimeoutMs = 120_000;
let server: Started | undefined;

afterAll(async () => {
  if (server !== undefined && server.process.exitCode === null) {
    server.process.kill("SIGTERM");
    await withDeadline(server.process.exited, exitTimeoutMs, "mq to exit").catch(() => server?.process.kill("SIGKILL"));
  }
  removeTempDirs();
});

/** The first ```js block of README.md that imports from "mq". */
function readmeNodeExample(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const example = blocks.find((block) => block.includes('from "mq"'));
  if (example === undefined) throw new Error('README.md has no ```js block importing from "mq"');
  return example;
}

describe("the SDK on Node", () => {
  test("the README example runs under node against a real broker, importing the built package", async () => {
    const build = Bun.spawnSync([process.execPath, join(repoRoot, "scripts/build-sdk.ts")], { cwd: repoRoot, env: cleanEnv, stdout: "pipe", stderr: "pipe" });
    expect({ exitCode: build.exitCode, stderr: build.exitCode === 0 ? "" : build.stderr.toString() }).toEqual({ exitCode: 0, stderr: "" });

    const dir = makeTempDir("mq-sdk-node-");
    const port = freePort();
    const httpPort = freePort();
    const child = Bun.spawn([process.execPath, join(repoRoot, "src/cli/main.ts"), "start", "--data", join(dir, "data"), "--port", String(port), "--namesrv-port", "0", "--http-port", String(httpPort), "--listen", "127.0.0.1", "--commit-log-file-bytes", "1048576"], {
      cwd: dir,
      env: cleanEnv,
      stdout: "pipe",
      stderr: "pipe",
    });
    server = { process: child, stdout: new Response(child.stdout).text(), stderr: new Response(child.stderr).text() };
    await waitForOk(server, `http://127.0.0.1:${httpPort}/ready`, startTimeoutMs);

    const project = join(dir, "app");
    mkdirSync(join(project, "node_modules"), { recursive: true });
    symlinkSync(repoRoot, join(project, "node_modules", "mq"), "dir");
    writeFileSync(join(project, "example.mjs"), readmeNodeExample().replaceAll("127.0.0.1:10911", `127.0.0.1:${port}`));
    const node = Bun.spawn(["node", "example.mjs"], { cwd: project, env: cleanEnv, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, exitCode] = await withDeadline(Promise.all([new Response(node.stdout).text(), new Response(node.stderr).text(), node.exited]), 30_000, "node example.mjs").finally(() => {
      if (node.exitCode === null) node.kill("SIGKILL");
    });
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
    const sent = /^sent ([0-9A-F]{32})$/m.exec(stdout)?.[1];
    expect({ stdout, sent: sent !== undefined }).toEqual({ stdout, sent: true });
    expect(stdout).toContain(`received ${sent} hello from Node`);
  }, buildTimeoutMs);
});
