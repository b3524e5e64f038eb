// Installs dependencies when they are missing, so `npm start` and `npm test` work on a fresh
// clone with only Node and npm. Runs under Node (Bun itself is one of the dependencies).
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const required = ["bun", "hono", "msgpackr", "zod", "cac", "preact", "htm", "uplot", "typescript", "bun-types", "playwright-core"];
const missing = required.filter((name) => !existsSync(join(root, "node_modules", name, "package.json")));
const bunBinary = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");

if (missing.length > 0 || !existsSync(bunBinary)) {
  console.error(`mq: installing dependencies (missing: ${missing.join(", ") || "bun binary"})`);
  // `npm install` (not `ci`) so a lock file written by another npm version still installs.
  const command = "install";
  const result = spawnSync("npm", [command, "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`mq: npm ${command} failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}
