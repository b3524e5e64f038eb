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

// `--browser` (npm test): the console's browser tests drive Debian's chromium (never a browser
// download). When it is missing and apt-get can install it (as root), install it; otherwise
// say so, and the browser tests skip with the same reason.
const chromiumPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
if (process.argv.includes("--browser") && !chromiumPaths.some((path) => existsSync(path))) {
  const aptGet = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).stdout.trim();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (aptGet === "" || !root) {
    console.error(`mq: chromium is not installed and ${aptGet === "" ? "apt-get is not available" : "installing it needs root"}: the console's browser tests will be skipped (apt-get install chromium)`);
  } else {
    console.error("mq: installing chromium (apt-get) for the console's browser tests");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync(aptGet, ["update"], { stdio: "inherit", env });
    const install = update.status === 0 ? spawnSync(aptGet, ["install", "-y", "--no-install-recommends", "chromium"], { stdio: "inherit", env }) : update;
    if (install.status !== 0) console.error(`mq: apt-get failed with exit code ${install.status}: the console's browser tests will be skipped`);
  }
}
