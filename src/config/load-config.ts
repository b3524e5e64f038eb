/**
 * Loads the configuration: a file (YAML or TOML, by extension) < environment `MQ_*` < flags.
 * Environment names are the keys in upper snake case (`MQ_DATA_DIR`, `MQ_HTTP_PORT`). Values
 * from text sources are coerced to the schema's types here, so zod reports a wrong type with
 * the key's name instead of a silent default.
 */

import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { MqError } from "../common/errors.ts";
import { configObjectSchema, configSchema, type MqConfig } from "./config-schema.ts";

export interface ConfigSources {
  file?: string;
  env?: Record<string, string | undefined>;
  flags?: Record<string, unknown>;
}

const schemaKeys = Object.keys(configObjectSchema.shape) as (keyof MqConfig)[];

/** Keys whose schema takes a number (probed once: a string is refused as "expected number"). */
const numericKeys = new Set<string>(
  schemaKeys.filter((key) => {
    const issue = configObjectSchema.shape[key].safeParse("x").error?.issues[0];
    return issue?.code === "invalid_type" && issue.expected === "number";
  }),
);

function envName(key: string): string {
  return "MQ_" + key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

function coerce(key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (key === "role") return value.split(",").map((role) => role.trim()).filter((role) => role.length > 0);
  if (numericKeys.has(key) && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return value;
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new MqError("INVALID_CONFIG", { key: `file "${path}"`, reason: `cannot be read: ${(error as Error).message}` });
  }
  let parsed: unknown;
  try {
    const extension = extname(path).toLowerCase();
    parsed = extension === ".toml" ? Bun.TOML.parse(text) : extension === ".json" ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (error) {
    throw new MqError("INVALID_CONFIG", { key: `file "${path}"`, reason: `is not valid: ${(error as Error).message}` });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new MqError("INVALID_CONFIG", { key: `file "${path}"`, reason: "must hold a map of settings" });
  }
  return parsed as Record<string, unknown>;
}

export function loadConfig(sources: ConfigSources): MqConfig {
  const merged: Record<string, unknown> = {};
  if (sources.file !== undefined) Object.assign(merged, readConfigFile(sources.file));
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith("MQ_") || value === undefined || name === "MQ_LOG_LEVEL_OVERRIDE") continue;
    const key = schemaKeys.find((candidate) => envName(candidate) === name);
    if (key !== undefined) merged[key] = value;
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) if (value !== undefined) merged[key] = value;
  for (const key of Object.keys(merged)) merged[key] = coerce(key, merged[key]);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".") || "(root)";
    const reason = issue.code === "unrecognized_keys" ? "is not a known setting" : issue.message;
    throw new MqError("INVALID_CONFIG", { key: `"${key}"`, reason });
  }
  return result.data;
}
