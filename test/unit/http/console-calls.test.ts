/**
 * The console has no private API: every call its source makes (api.ts's `get` and `mutate`) is
 * an operation of the OpenAPI document, method and path.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument } from "../../../src/http/openapi.ts";

const consoleDir = join(import.meta.dir, "../../../src/http/console");
const callPattern = /\b(get|mutate)(?:<[^>]*>)?\((?:"(POST|PUT|DELETE)", )?([`"])(\/[^`"]*)\3/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** A path as the console writes it, `${...}` a segment of any value, as a pattern over the document's paths. */
function pathPattern(path: string): RegExp {
  const escaped = path.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^/api/v1${escaped.join("[^/]+")}$`);
}

describe("console: calls only documented REST operations", () => {
  test("each get/mutate in src/http/console names a method and path of the OpenAPI document", () => {
    const paths = openApiDocument("test").paths as Record<string, Record<string, unknown>>;
    // The document's paths with each {parameter} written as a sample value, so patterns can match them.
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "x") })));
    const calls = sources(consoleDir).flatMap((file) => [...readFileSync(file, "utf8").matchAll(callPattern)].map((match) => ({ method: match[2] ?? "GET", path: match[4]! })));
    expect(calls.length).toBeGreaterThan(20);
    for (const call of calls) {
      const pattern = pathPattern(call.path);
      const documented = operations.some((operation) => operation.method === call.method && pattern.test(operation.path));
      expect({ call: `${call.method} ${call.path}`, documented }).toEqual({ call: `${call.method} ${call.path}`, documented: true });
    }
  });
});
