/**
 * IP address literals as bytes, for the ids and records that carry a host: IPv4 (4 bytes) and
 * IPv6 (16 bytes, RFC 4291 text forms including `::` and an embedded IPv4 tail), and the
 * `host:port` spelling of each (`[v6]:port`). Host names are checked for shape only here;
 * resolving them is the caller's business (common/ knows nothing of the network).
 */

/** The 4 bytes of a dotted-quad IPv4 address, or undefined for anything else. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    const part = parts[index]!;
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    bytes[index] = Number(part);
  }
  return bytes;
}

/**
 * The 16 bytes of an IPv6 address (`::1`, `fe80::1:2`, `::ffff:10.0.0.1`, in brackets or not),
 * or undefined. A zone (`fe80::1%eth0`) is refused: it names an interface of this host only.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  let address = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!address.includes(":") || address.includes("%")) return undefined;
  const lastColon = address.lastIndexOf(":");
  if (address.slice(lastColon + 1).includes(".")) {
    const ipv4 = parseIpv4(address.slice(lastColon + 1));
    if (ipv4 === undefined) return undefined;
    address = `${address.slice(0, lastColon + 1)}${((ipv4[0]! << 8) | ipv4[1]!).toString(16)}:${((ipv4[2]! << 8) | ipv4[3]!).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return undefined;
  const groups = [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  const bytes = new Uint8Array(16);
  for (let index = 0; index < 8; index++) {
    const group = groups[index]!;
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return undefined;
    const value = Number.parseInt(group, 16);
    bytes[index * 2] = value >>> 8;
    bytes[index * 2 + 1] = value & 255;
  }
  return bytes;
}

/** RFC 5952 text of 16 address bytes: lower case, the longest run of two or more zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, index) => (bytes[index * 2]! << 8) | bytes[index * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const text = (from: number, to: number) => groups.slice(from, to).map((group) => group.toString(16)).join(":");
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

export type IpFamily = 4 | 6;

/** An address literal in its canonical text, with its family; undefined for a host name or junk. */
export function parseIpAddress(text: string): { family: IpFamily; address: string; bytes: Uint8Array } | undefined {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) return { family: 4, address: ipv4.join("."), bytes: ipv4 };
  const ipv6 = parseIpv6(text);
  if (ipv6 !== undefined) return { family: 6, address: formatIpv6(ipv6), bytes: ipv6 };
  return undefined;
}

/** Whether `text` is shaped like a DNS host name (RFC 1123 labels): worth asking a resolver about. */
export function isHostName(text: string): boolean {
  return text.length <= 253 && text.split(".").every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host:port` or `[v6]:port`; undefined when it is neither. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}
