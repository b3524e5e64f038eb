/**
 * Compiles `dist/mq`: one executable holding the CLI, every server role and the store's worker
 * threads (workers are separate entry points so the compiled binary can start them).
 * `--target bun-linux-arm64` (etc.) cross-compiles.
 */

import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const targetIndex = process.argv.indexOf("--target");
const target = targetIndex > 0 ? process.argv[targetIndex + 1] : undefined;
const outfile = join(root, "dist", target === undefined ? "mq" : `mq-${target.replace(/^bun-/, "")}`);
mkdirSync(join(root, "dist"), { recursive: true });

const args = [
  "build", "--compile", "--minify", "--bytecode",
  ...(target === undefined ? [] : [`--target=${target}`]),
  join(root, "src/cli/main.ts"),
  join(root, "src/store/workers/flush-worker.ts"),
  join(root, "src/store/workers/allocator-worker.ts"),
  // Built aside and renamed over: a running dist/mq is never rewritten in place (ETXTBSY).
  "--outfile", `${outfile}.tmp-${process.pid}`,
];
const startMs = performance.now();
const build = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) {
  rmSync(`${outfile}.tmp-${process.pid}`, { force: true });
  console.error(`build: bun build exited with ${build.exitCode}`);
  process.exit(build.exitCode ?? 1);
}
renameSync(`${outfile}.tmp-${process.pid}`, outfile);
console.log(`build: wrote ${outfile} in ${((performance.now() - startMs) / 1000).toFixed(1)} s`);
