/** The error catalogue: unique codes, valid HTTP statuses, one message style, and MqError's behaviour. */

import { describe, expect, test } from "bun:test";
import { errorCatalog, errorNameForCode, formatErrorMessage, isMqError, MqError, type ErrorName } from "../../../src/common/errors.ts";

const names = Object.keys(errorCatalog) as ErrorName[];

describe("errors: catalogue", () => {
  test("has no duplicate numeric codes", () => {
    const namesByCode = new Map<number, ErrorName[]>();
    for (const name of names) {
      const code = errorCatalog[name].code;
      namesByCode.set(code, [...(namesByCode.get(code) ?? []), name]);
    }
    const duplicates = [...namesByCode.entries()].filter(([, holders]) => holders.length > 1);
    expect(duplicates).toEqual([]);
  });

  test("gives every error an integer code", () => {
    const bad = names.filter((name) => !Number.isInteger(errorCatalog[name].code) || errorCatalog[name].code <= 0);
    expect(bad).toEqual([]);
  });

  test("gives every error an HTTP status in 400..599", () => {
    const bad = names
      .map((name) => ({ name, http: errorCatalog[name].http }))
      .filter(({ http }) => !Number.isInteger(http) || http < 400 || http > 599);
    expect(bad).toEqual([]);
  });

  test("writes every message in sentence case without a final period", () => {
    const bad = names
      .map((name) => ({ name, message: errorCatalog[name].message }))
      .filter(({ message }) => !/^[A-Z]/.test(message) || message.endsWith(".") || message.trim() !== message);
    expect(bad).toEqual([]);
  });

  test("names errors in upper snake case", () => {
    expect(names.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
  });
});

describe("errors: MqError", () => {
  test("fills {placeholders} from params", () => {
    const error = new MqError("MESSAGE_TOO_LARGE", { bytes: 4194305, limit: 4194304 });
    expect(error.message).toBe("Cannot append message: body is 4194305 bytes, limit is 4194304");
    expect(error.errorName).toBe("MESSAGE_TOO_LARGE");
    expect(error.code).toBe(3001);
    expect(error.http).toBe(413);
    expect(error.params).toEqual({ bytes: 4194305, limit: 4194304 });
    expect(error.name).toBe("MqError");
    expect(error).toBeInstanceOf(Error);
  });

  test("keeps placeholders it has no param for", () => {
    expect(new MqError("TOPIC_NOT_FOUND").message).toBe('Cannot find topic "{topic}"');
    expect(new MqError("MESSAGE_TOO_LARGE", { bytes: 5 }).message).toBe("Cannot append message: body is 5 bytes, limit is {limit}");
    expect(formatErrorMessage("TOPIC_NOT_FOUND", { other: "x" })).toBe('Cannot find topic "{topic}"');
  });

  test("formats falsy params (0, false, empty string) rather than leaving the placeholder", () => {
    expect(formatErrorMessage("MESSAGE_TOO_LARGE", { bytes: 0, limit: "" })).toBe("Cannot append message: body is 0 bytes, limit is ");
    expect(formatErrorMessage("TOPIC_NOT_FOUND", { topic: false })).toBe('Cannot find topic "false"');
  });

  test("uses an explicit message and keeps the cause when given", () => {
    const cause = new Error("disk on fire");
    const error = new MqError("STORE_IO", { operation: "write" }, { message: "custom text", cause });
    expect(error.message).toBe("custom text");
    expect(error.cause).toBe(cause);
  });

  test("fromCode maps a code back to its name and keeps the text", () => {
    for (const name of names) {
      const error = MqError.fromCode(errorCatalog[name].code, "peer text", { a: 1 });
      expect({ name, errorName: error.errorName, code: error.code, message: error.message }).toEqual({
        name,
        errorName: name,
        code: errorCatalog[name].code,
        message: "peer text",
      });
    }
  });

  test("fromCode maps an unknown code to INTERNAL", () => {
    const error = MqError.fromCode(123456, "something odd");
    expect(error.errorName).toBe("INTERNAL");
    expect(error.code).toBe(errorCatalog.INTERNAL.code);
    expect(error.http).toBe(500);
    expect(error.message).toBe("something odd");
    expect(errorNameForCode(123456)).toBeUndefined();
  });

  test("isMqError recognises MqError, optionally of one name", () => {
    const error = new MqError("TOPIC_NOT_FOUND", { topic: "t" });
    expect(isMqError(error)).toBe(true);
    expect(isMqError(error, "TOPIC_NOT_FOUND")).toBe(true);
    expect(isMqError(error, "TOPIC_EXISTS")).toBe(false);
    expect(isMqError(new Error("plain"))).toBe(false);
    expect(isMqError({ errorName: "TOPIC_NOT_FOUND", code: 2001 })).toBe(false);
    expect(isMqError(undefined)).toBe(false);
    expect(isMqError("TOPIC_NOT_FOUND")).toBe(false);
  });
});
