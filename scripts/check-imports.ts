/**
 * Keeps DESIGN.md §3's layering true: imports flow downward only,
 *   cli → server → {namesrv, broker, ha, http} → {store, protocol, net} → common,
 * `client/` uses protocol, net and common only (it is published as a library), and `store/`
 * knows nothing of the network. Exits non-zero listing every import that breaks the rule.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

/** For each module, the modules it may import (besides itself). */
export const allowedImports: Record<string, readonly string[]> = {
  common: [],
  config: ["common"],
  protocol: ["common"],
  net: ["common", "protocol"],
  store: ["common"],
  client: ["common", "protocol", "net"],
  broker: ["common", "config", "protocol", "net", "store"],
  namesrv: ["common", "config", "protocol", "net"],
  ha: ["common", "config", "protocol", "net", "store"],
  http: ["common", "config", "protocol", "net", "store", "broker", "namesrv", "ha", "client"],
  server: ["common", "config", "protocol", "net", "store", "broker", "namesrv", "ha", "http", "client"],
  cli: ["common", "config", "protocol", "net", "store", "broker", "namesrv", "ha", "http", "client", "server"],
};

/** Built-in modules that mean "network"; the store and common layers must not use them. */
const networkBuiltins = ["node:net", "net", "node:http", "http", "node:https", "https", "node:dgram", "node:tls", "tls", "hono"];
const networkFree = new Set(["store", "common"]);

export interface ImportViolation {
  file: string;
  specifier: string;
  reason: string;
}

export function moduleOf(srcRelativePath: string): string | undefined {
  const [first] = srcRelativePath.split("/");
  if (first === undefined) return undefined;
  if (first === "server.ts" || first === "server") return "server";
  return first in allowedImports ? first : undefined;
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|(?:^|[^.\w])import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) found.push(specifier);
  }
  return found;
}

/** Checks one file's imports; `path` is relative to src/. */
export function checkFile(path: string, source: string): ImportViolation[] {
  const from = moduleOf(path);
  if (from === undefined) return [];
  const violations: ImportViolation[] = [];
  for (const specifier of importsOf(source)) {
    if (specifier.startsWith(".")) {
      const target = relative(".", join(dirname(path), specifier)).replaceAll("\\", "/");
      if (target.startsWith("..")) {
        violations.push({ file: path, specifier, reason: "imports from outside src/" });
        continue;
      }
      const to = moduleOf(target);
      if (to === undefined || to === from) continue;
      if (!allowedImports[from]!.includes(to)) {
        violations.push({ file: path, specifier, reason: `${from}/ must not import ${to}/ (allowed: ${allowedImports[from]!.join(", ") || "nothing"})` });
      }
    } else if (networkFree.has(from) && networkBuiltins.includes(specifier)) {
      violations.push({ file: path, specifier, reason: `${from}/ must not use the network` });
    }
  }
  return violations;
}

function listSources(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listSources(path));
    else if (/\.(ts|tsx)$/.test(name)) files.push(path);
  }
  return files;
}

if (import.meta.main) {
  const srcDir = resolve(import.meta.dir, "..", "src");
  const violations = listSources(srcDir).flatMap((file) =>
    checkFile(relative(srcDir, file).replaceAll("\\", "/"), readFileSync(file, "utf8")),
  );
  for (const violation of violations) {
    console.error(`src/${violation.file}: import "${violation.specifier}": ${violation.reason}`);
  }
  if (violations.length > 0) {
    console.error(`check-imports: ${violations.length} import(s) break the layering of DESIGN.md §3`);
    process.exit(1);
  }
  console.log("check-imports: layering OK");
}
