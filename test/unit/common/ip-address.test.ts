/** IP address literals: what an advertised address may be, and how ids and records spell it. */

import { describe, expect, test } from "bun:test";
import { formatHostPort, formatIpv6, isHostName, parseIpAddress, parseIpv4, parseIpv6, splitHostPort } from "../../../src/common/ip-address.ts";

describe("IP addresses", () => {
  test("IPv4: dotted quads only", () => {
    expect(parseIpv4("10.0.0.255")).toEqual(Uint8Array.from([10, 0, 0, 255]));
    for (const bad of ["1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.-1", "a.b.c.d", "", "1..2.3"]) expect({ bad, parsed: parseIpv4(bad) }).toEqual({ bad, parsed: undefined });
  });

  test("IPv6: every text form to 16 bytes and back to RFC 5952 text", () => {
    const cases: [string, string][] = [
      ["::1", "::1"],
      ["::", "::"],
      ["[::1]", "::1"],
      ["2001:DB8:0:0:0:0:0:7", "2001:db8::7"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["fe80::1:2", "fe80::1:2"],
      ["::ffff:10.0.0.1", "::ffff:a00:1"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
    ];
    for (const [text, canonical] of cases) {
      const bytes = parseIpv6(text);
      expect({ text, canonical: bytes === undefined ? undefined : formatIpv6(bytes) }).toEqual({ text, canonical });
    }
    for (const bad of ["1::2::3", ":1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::1", "fe80::1%eth0", "::1.2.3", "g::1", "10.0.0.1"]) {
      expect({ bad, parsed: parseIpv6(bad) }).toEqual({ bad, parsed: undefined });
    }
  });

  test("parseIpAddress names the family; host names and junk are not addresses", () => {
    expect(parseIpAddress("127.0.0.1")?.family).toBe(4);
    expect(parseIpAddress("::1")?.family).toBe(6);
    expect(parseIpAddress("localhost")).toBeUndefined();
    expect([isHostName("localhost"), isHostName("mq-1.example.com"), isHostName("bad host"), isHostName("-x"), isHostName("a_b"), isHostName("")]).toEqual([true, true, false, false, false, false]);
  });

  test("host:port with an IPv6 host in brackets, both ways", () => {
    expect(formatHostPort("::1", 10911)).toBe("[::1]:10911");
    expect(formatHostPort("10.0.0.1", 10911)).toBe("10.0.0.1:10911");
    expect(splitHostPort("[::1]:10911")).toEqual({ host: "::1", port: 10911 });
    expect(splitHostPort("10.0.0.1:10911")).toEqual({ host: "10.0.0.1", port: 10911 });
    expect(splitHostPort("::1:10911")).toBeUndefined();
  });
});
