/** Where a CLI client command connects: --namesrv / MQ_NAMESRV select NameServer routing, else one broker. */

import { afterEach, describe, expect, test } from "bun:test";
import { formatAge } from "../../../src/cli/cluster-command.ts";
import { clientTarget } from "../../../src/cli/options.ts";
import { MqError } from "../../../src/common/errors.ts";

const saved = { MQ_NAMESRV: process.env.MQ_NAMESRV, MQ_BROKER: process.env.MQ_BROKER };

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("CLI: client target", () => {
  test("defaults to the local broker when neither flag nor environment names a target", () => {
    delete process.env.MQ_NAMESRV;
    delete process.env.MQ_BROKER;
    expect(clientTarget({})).toEqual({ broker: "127.0.0.1:10911" });
  });

  test("--namesrv selects NameServer routing, with one or several addresses", () => {
    expect(clientTarget({ namesrv: ["10.0.0.1:9876;10.0.0.2:9876"] })).toEqual({ namesrv: "10.0.0.1:9876;10.0.0.2:9876" });
  });

  test("MQ_NAMESRV selects NameServer routing unless --broker is given", () => {
    process.env.MQ_NAMESRV = "10.0.0.1:9876";
    expect(clientTarget({})).toEqual({ namesrv: "10.0.0.1:9876" });
    expect(clientTarget({ broker: ["10.0.0.5:10911"] })).toEqual({ broker: "10.0.0.5:10911" });
  });

  test("takes an IPv6 broker or NameServer in brackets, as mq start prints it", () => {
    expect(clientTarget({ broker: ["[::1]:10911"] })).toEqual({ broker: "[::1]:10911" });
    expect(clientTarget({ namesrv: ["[::1]:9876;[fd00::2]:9876"] })).toEqual({ namesrv: "[::1]:9876;[fd00::2]:9876" });
    expect(() => clientTarget({ broker: ["::1:10911"] })).toThrow('field "--broker" expects host:port, got "::1:10911"');
    expect(() => clientTarget({ broker: ["bad host:1"] })).toThrow(MqError);
  });

  test("rejects both flags at once and malformed NameServer lists", () => {
    expect(() => clientTarget({ namesrv: ["a:1"], broker: ["b:2"] })).toThrow(MqError);
    expect(() => clientTarget({ namesrv: ["nohostport"] })).toThrow('field "--namesrv" expects host:port[;host:port], got "nohostport"');
  });
});

describe("CLI: cluster list", () => {
  test("formats heartbeat ages for a table column", () => {
    expect([formatAge(850), formatAge(12_340), formatAge(245_000)]).toEqual(["850 ms", "12.3 s", "4 m 05 s"]);
  });
});
