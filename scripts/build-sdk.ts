/**
 * Builds the client SDK for Node (≥ 20) and Bun: `dist/sdk/index.js`, one ES module bundled from
 * src/client/index.ts with its npm dependencies (msgpackr, zod) left as imports, and
 * `dist/sdk/types/` with the declarations (tsc). package.json's `exports` points at both, so
 * `import { Producer } from "mq"` works from any project that installed this package.
 *
 * Built aside and renamed over, so a reader never sees half an SDK.
 */

import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const outdir = join(root, "dist", "sdk");
const staging = `${outdir}.tmp-${process.pid}`;
const startMs = performance.now();

function run(what: string, command: string[]): void {
  const result = Bun.spawnSync(command, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) {
    rmSync(staging, { recursive: true, force: true });
    console.error(`build-sdk: ${what} exited with ${result.exitCode}`);
    process.exit(result.exitCode ?? 1);
  }
}

run("bun build", [process.execPath, "build", "--target", "node", "--format", "esm", "--packages", "external", join(root, "src/client/index.ts"), "--outdir", staging]);
run("tsc", [process.execPath, join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "scripts/tsconfig.sdk.json"), "--outDir", join(staging, "types")]);

// Declarations import each other as "./x.ts" (the sources' spelling); ".js" resolves to the
// ".d.ts" next to it under every moduleResolution a consumer may use.
function rewriteImports(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) rewriteImports(path);
    else if (name.endsWith(".d.ts")) writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+|import\()"(\.{1,2}\/[^"]+)\.ts"/g, '$1"$2.js"'));
  }
}
rewriteImports(join(staging, "types"));

if (existsSync(outdir)) rmSync(outdir, { recursive: true, force: true });
renameSync(staging, outdir);
console.log(`build-sdk: wrote ${outdir} (index.js, types/) in ${((performance.now() - startMs) / 1000).toFixed(1)} s`);
