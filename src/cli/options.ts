/**
 * Parsing helpers shared by the commands. cac coerces `0042` to 42 and loses digits past 2^53,
 * so every option is declared as a string and converted here with a clear error naming it.
 */

import { MqError } from "../common/errors.ts";
import { splitHostPort } from "../common/ip-address.ts";

export const defaultBrokerAddress = "127.0.0.1:10911";

/** The last value of an option given as a string array (cac `type: [String]`). */
export function lastString(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length === 0 ? undefined : String(value[value.length - 1]);
  if (value === undefined || value === null || value === true || value === false) return undefined;
  return String(value);
}

export function allStrings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function integerOption(name: string, value: unknown, bounds: { min: number; max: number; fallback: number }): number {
  const text = lastString(value);
  if (text === undefined) return bounds.fallback;
  if (!/^\d+$/.test(text)) throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be a whole number, got "${text}"` });
  const parsed = Number(text);
  if (!Number.isSafeInteger(parsed) || parsed < bounds.min || parsed > bounds.max) {
    throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be between ${bounds.min} and ${bounds.max}, got ${text}` });
  }
  return parsed;
}

export function choiceOption<T extends string>(name: string, value: unknown, choices: readonly T[], fallback: T): T {
  const text = lastString(value);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be one of ${choices.join(", ")}, got "${text}"` });
  }
  return text as T;
}

/** `--prop k=v` (repeatable) into a map. */
export function propertiesOption(value: unknown): Record<string, string> | undefined {
  const pairs = allStrings(value);
  if (pairs.length === 0) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of pairs) {
    const split = pair.indexOf("=");
    if (split <= 0) throw new MqError("INVALID_FIELD", { field: "--prop", reason: `expects name=value, got "${pair}"` });
    properties[pair.slice(0, split)] = pair.slice(split + 1);
  }
  return properties;
}

/** `--keys a,b` or repeated `--keys a --keys b`. */
export function keysOption(value: unknown): string[] | undefined {
  const keys = allStrings(value).flatMap((entry) => entry.split(",")).map((key) => key.trim()).filter((key) => key.length > 0);
  return keys.length === 0 ? undefined : keys;
}

/** Where a client command connects: NameServers (cluster mode) or one broker. */
export type ClientTarget = { readonly namesrv: string; readonly broker?: undefined } | { readonly broker: string; readonly namesrv?: undefined };

/**
 * `--namesrv host:port[;host:port]` (or env MQ_NAMESRV) selects NameServer routing; otherwise
 * `--broker` / MQ_BROKER / 127.0.0.1:10911. A flag beats any environment variable, so
 * `--broker` on the command line wins over an MQ_NAMESRV in the environment.
 */
export function clientTarget(options: Record<string, unknown>): ClientTarget {
  const namesrvFlag = lastString(options.namesrv);
  const brokerFlag = lastString(options.broker);
  if (namesrvFlag !== undefined && brokerFlag !== undefined) {
    throw new MqError("BAD_REQUEST", { reason: `give --namesrv or --broker, not both (got --namesrv ${namesrvFlag} and --broker ${brokerFlag})` });
  }
  const namesrv = namesrvFlag ?? (brokerFlag === undefined ? nonEmpty(process.env.MQ_NAMESRV) : undefined);
  if (namesrv !== undefined) {
    for (const address of namesrv.split(/[;,]/).map((entry) => entry.trim()).filter((entry) => entry.length > 0)) {
      if (!isHostPort(address)) throw new MqError("INVALID_FIELD", { field: "--namesrv", reason: `expects host:port[;host:port], got "${namesrv}"` });
    }
    return { namesrv };
  }
  return { broker: brokerOption(options) };
}

/** A broker address `host:port`: `--broker`, else MQ_BROKER, else the local default. */
export function brokerOption(options: Record<string, unknown>): string {
  const address = lastString(options.broker) ?? process.env.MQ_BROKER ?? defaultBrokerAddress;
  if (!isHostPort(address)) throw new MqError("INVALID_FIELD", { field: "--broker", reason: `expects host:port, got "${address}"` });
  return address;
}

/** `host:port`, or `[v6]:port` as mq start prints an IPv6 listen address. */
function isHostPort(address: string): boolean {
  const split = splitHostPort(address);
  return split !== undefined && !/[\s;,]/.test(split.host);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

const durationUnitsMs: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--delay 90s`: a whole number with a unit ms, s, m, h or d (a bare number is ms), in ms. */
export function durationOption(name: string, value: unknown): number | undefined {
  const text = lastString(value);
  if (text === undefined) return undefined;
  const match = /^(\d{1,15})(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be a duration like 1500ms, 90s, 2m, 1h or 1d, got "${text}"` });
  return Number(match[1]) * durationUnitsMs[match[2] ?? "ms"]!;
}

/** `--deliver-at 2026-12-24T18:00Z`: an ISO date-time or ms since the epoch, in ms. */
export function instantOption(name: string, value: unknown): number | undefined {
  const text = lastString(value);
  if (text === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be an ISO date-time (2026-12-24T18:00Z) or ms since the epoch, got "${text}"` });
  return ms;
}
