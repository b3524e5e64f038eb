/**
 * Writes the generated parts of src/protocol/README.md: each example frame as annotated hex
 * (the block after its `<!-- example: NAME -->` marker) and the error-code table (between
 * `<!-- error-codes -->` and `<!-- /error-codes -->`), from protocol-examples.ts and the
 * catalogue. Everything else in the README is prose, written by hand.
 *
 *   bun scripts/protocol-readme.ts          rewrite the README in place
 *   bun scripts/protocol-readme.ts --check  exit 1 if the README is not what it would write
 *
 * Hex lines: bytes as two lower-case hex digits separated by one space, at most 16 a line; two or
 * more spaces then start the comment. test/unit/protocol/readme-examples.test.ts reads them back.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Packr, Unpackr } from "msgpackr";
import { errorCatalog, type ErrorName } from "../src/common/errors.ts";
import { reservedPropertyNames } from "../src/common/message-properties.ts";
import { getUint64, numberToIpv4 } from "../src/common/message-record.ts";
import { compactFieldOrders } from "../src/protocol/compact-header.ts";
import { encodeFrame } from "../src/protocol/frame.ts";
import { allExamples, type FrameExample } from "./protocol-examples.ts";

export const protocolReadmePath = resolve(import.meta.dir, "../src/protocol/README.md");

interface Row {
  readonly bytes: Uint8Array;
  readonly comment: string;
}

const bytesPerLine = 16;
const commentColumn = bytesPerLine * 3 + 1;
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const textDecoder = new TextDecoder();

const hex = (bytes: Uint8Array): string => [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");

function renderRows(rows: readonly Row[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    for (let start = 0; start < row.bytes.length || start === 0; start += bytesPerLine) {
      const text = hex(row.bytes.subarray(start, start + bytesPerLine));
      lines.push(start === 0 && row.comment !== "" ? `${text.padEnd(commentColumn)}${row.comment}` : text);
      if (row.bytes.length === 0) break;
    }
  }
  return lines.join("\n");
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 72 ? `${text.slice(0, 69)}...` : text;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** A msgpack map, one row per entry, nested maps and arrays entry by entry (indented). */
function mapRows(packed: Uint8Array, label = ""): Row[] {
  const rows = valueRows(new Uint8Array(0), "", label, unpackr.unpack(packed));
  if (!equalBytes(concat(rows.map((row) => row.bytes)), packed)) throw new Error("A msgpack map does not split into its entries: cannot annotate it");
  return rows;
}

/** A header: a map entry by entry, or a compact array element by element, each named by its position. */
function headerRows(packed: Uint8Array): Row[] {
  const header = unpackr.unpack(packed) as unknown;
  if (!Array.isArray(header)) return mapRows(packed);
  const response = ((header[2] as number) & 1) !== 0;
  const order = compactFieldOrders[(response ? header[3] : header[0]) as number]!;
  const names = ["code", "opaque", "flags", ...(response ? ["request code"] : []), ...(response ? order.response : order.request)];
  const items = header.flatMap((item, index) => valueRows(new Uint8Array(0), "  ", `[${index}] ${names[index]}: `, item));
  const prefix = packed.subarray(0, packed.length - items.reduce((sum, row) => sum + row.bytes.length, 0));
  const rows = [{ bytes: prefix, comment: `${prefix[0] === 0xdc ? "array16" : "fixarray"}, ${header.length} elements` }, ...items];
  if (!equalBytes(concat(rows.map((row) => row.bytes)), packed)) throw new Error("A compact header does not split into its elements: cannot annotate it");
  return rows;
}

/**
 * Rows of one value: a scalar is one row (after `keyBytes`); a non-empty map or array is a row
 * with its own prefix, then its entries one level deeper. The prefix is what packing the whole
 * value adds to its entries packed alone (msgpack containers are a header then their items).
 */
function valueRows(keyBytes: Uint8Array, indent: string, label: string, value: unknown): Row[] {
  const isMap = typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0;
  const isArray = Array.isArray(value) && value.length > 0;
  if (!isMap && !isArray) return [{ bytes: concat([keyBytes, packr.pack(value).slice()]), comment: `${indent}${label}${show(value)}` }];
  const deeper = `${indent}  `;
  const children: Row[] = isArray
    ? (value as unknown[]).flatMap((item, index) => valueRows(new Uint8Array(0), deeper, `[${index}] `, item))
    : Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => valueRows(packr.pack(key).slice(), deeper, `${JSON.stringify(key)}: `, item));
  const packed = packr.pack(value).slice();
  const prefix = packed.subarray(0, packed.length - children.reduce((sum, row) => sum + row.bytes.length, 0));
  const count = isArray ? `array of ${(value as unknown[]).length}` : `${containerKind(prefix[0]!)}, ${plural(Object.keys(value as object).length, "entry", "entries")}`;
  return [{ bytes: concat([keyBytes, prefix]), comment: `${indent}${label}${count}` }, ...children];
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function containerKind(firstByte: number): string {
  if (firstByte === 0xde) return "map16";
  if (firstByte === 0xdf) return "map32";
  return "fixmap";
}

function bodyRows(example: FrameExample, body: Uint8Array): Row[] {
  switch (example.body) {
    case "none":
      return [];
    case "raw":
      return [{ bytes: body, comment: `body, ${body.length} bytes: ${JSON.stringify(textDecoder.decode(body))}` }];
    case "batch":
      return batchRows(body);
    case "records":
      return recordRows(body);
    case "register-broker":
    case "result":
      return mapRows(body, "body, ");
  }
}

function batchRows(body: Uint8Array): Row[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const rows: Row[] = [];
  for (let position = 0, index = 0; position < body.length; index++) {
    const entryLength = view.getUint32(position);
    const headerLength = view.getUint32(position + 4);
    const headerEnd = position + 8 + headerLength;
    const end = position + 4 + entryLength;
    rows.push({ bytes: body.subarray(position, position + 4), comment: `entry ${index}: entry length ${entryLength}` });
    rows.push({ bytes: body.subarray(position + 4, position + 8), comment: `entry ${index}: header length ${headerLength}` });
    rows.push(...mapRows(body.subarray(position + 8, headerEnd), `entry ${index} header, `));
    rows.push({ bytes: body.subarray(headerEnd, end), comment: `entry ${index}: message body ${JSON.stringify(textDecoder.decode(body.subarray(headerEnd, end)))}` });
    position = end;
  }
  return rows;
}

/** A stored record, field by field (layout: src/common/message-record.ts). */
export function recordRows(record: Uint8Array): Row[] {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const rows: Row[] = [];
  let at = 0;
  const field = (size: number, comment: (value: Uint8Array) => string) => {
    const value = record.subarray(at, at + size);
    rows.push({ bytes: value, comment: comment(value) });
    at += size;
  };
  const u32At = (offset: number) => view.getUint32(offset);
  field(4, () => `record crc32 0x${u32At(0).toString(16).padStart(8, "0")} (of every byte after this field)`);
  field(4, () => `totalSize ${u32At(4)}`);
  field(4, () => `magic "MQ1R"`);
  field(4, () => `queueId ${u32At(12)}`);
  field(4, () => `flag ${u32At(16)}`);
  field(8, () => `queueOffset ${getUint64(view, 20)}`);
  field(8, () => `physicalOffset ${getUint64(view, 28)}`);
  field(4, () => `sysFlag ${u32At(36)}`);
  field(8, () => `bornTimestamp ${getUint64(view, 40)} ms`);
  field(4, () => `bornHost ip ${numberToIpv4(u32At(48))}`);
  field(4, () => `bornHost port ${u32At(52)}`);
  field(8, () => `storeTimestamp ${getUint64(view, 56)} ms`);
  field(4, () => `storeHost ip ${numberToIpv4(u32At(64))}`);
  field(4, () => `storeHost port ${u32At(68)}`);
  field(4, () => `reconsumeTimes ${u32At(72)}`);
  field(8, () => `preparedTransactionOffset ${getUint64(view, 76)}`);
  const bodyLength = u32At(84);
  field(4, () => `bodyLength ${bodyLength}`);
  field(bodyLength, (value) => `body ${JSON.stringify(textDecoder.decode(value))}`);
  const topicLength = record[at]!;
  field(1, () => `topicLength ${topicLength}`);
  field(topicLength, (value) => `topic ${JSON.stringify(textDecoder.decode(value))}`);
  const propertiesLength = view.getUint16(at);
  field(2, () => `propertiesLength ${propertiesLength}`);
  field(propertiesLength, (value) => `properties ${JSON.stringify(textDecoder.decode(value))}`);
  return rows;
}

/** The annotated hex of one example frame. */
export function renderExample(example: FrameExample): string {
  const frame = encodeFrame(example.frame);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const totalLength = view.getUint32(0);
  const headerLength = view.getUint32(4);
  const rows: Row[] = [
    { bytes: u32(totalLength), comment: `total length ${totalLength}` },
    { bytes: u32(headerLength), comment: `header length ${headerLength}` },
    ...headerRows(frame.subarray(8, 8 + headerLength)),
    ...bodyRows(example, frame.subarray(8 + headerLength)),
  ];
  const rendered = renderRows(rows);
  if (!equalBytes(parseHexBlock(rendered), frame)) throw new Error(`Example "${example.name}": the annotated hex does not add up to the frame`);
  return rendered;
}

/** The bytes of a hex block as the README writes them (the comments dropped). */
export function parseHexBlock(block: string): Uint8Array {
  const values: number[] = [];
  for (const line of block.split("\n")) {
    const match = /^((?:[0-9a-f]{2} )*[0-9a-f]{2})(?: {2,}|$)/.exec(line);
    if (match === null) {
      if (line.trim() !== "") throw new Error(`Not a hex line: ${JSON.stringify(line)}`);
      continue;
    }
    for (const pair of match[1]!.split(" ")) values.push(Number.parseInt(pair, 16));
  }
  return Uint8Array.from(values);
}

/** A marker and the fenced block after it; the block's lines (possibly none) never start with a fence. */
const exampleBlockPattern = /<!-- example: ([^>]+?) -->\n```text\n((?:(?!```).*\n)*)```/g;

/** Every `<!-- example: NAME -->` and the hex block after it. */
export function readmeExamples(readme: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of readme.matchAll(exampleBlockPattern)) {
    if (found.has(match[1]!)) throw new Error(`Example "${match[1]}" appears twice`);
    found.set(match[1]!, match[2]!);
  }
  return found;
}

export function renderErrorTable(): string {
  const rows = (Object.keys(errorCatalog) as ErrorName[]).map((name) => {
    const spec = errorCatalog[name];
    return `| ${spec.code} | \`${name}\` | ${spec.http} | ${spec.message.replaceAll("|", "\\|")} |`;
  });
  return ["| code | name | HTTP | message (`{...}` filled from the error's details) |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The reserved property names (message-properties.ts), as the README lists them. */
export function renderReservedProperties(): string {
  const names = [...reservedPropertyNames].map((name) => `\`${name}\``);
  const lines: string[] = [];
  let line = "";
  for (const name of names) {
    const next = line === "" ? name : `${line}, ${name}`;
    if (next.length > 96 && line !== "") {
      lines.push(`${line},`);
      line = name;
    } else {
      line = next;
    }
  }
  lines.push(line);
  return lines.join("\n");
}

/** The README with every generated part rewritten. Throws on a marker naming no example. */
export function renderReadme(readme: string): string {
  const byName = new Map(allExamples.map((example) => [example.name, example]));
  let out = readme.replace(exampleBlockPattern, (_whole, name: string) => {
    const example = byName.get(name);
    if (example === undefined) throw new Error(`The README shows example "${name}", which protocol-examples.ts does not define`);
    return `<!-- example: ${name} -->\n\`\`\`text\n${renderExample(example)}\n\`\`\``;
  });
  out = out.replace(/<!-- reserved-properties -->\n(?:[\s\S]*?\n)?<!-- \/reserved-properties -->/, `<!-- reserved-properties -->\n${renderReservedProperties()}\n<!-- /reserved-properties -->`);
  out = out.replace(/<!-- error-codes -->\n(?:[\s\S]*?\n)?<!-- \/error-codes -->/, `<!-- error-codes -->\n${renderErrorTable()}\n<!-- /error-codes -->`);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

if (import.meta.main) {
  const readme = readFileSync(protocolReadmePath, "utf8");
  const rendered = renderReadme(readme);
  if (process.argv.includes("--check")) {
    if (rendered !== readme) {
      console.error("src/protocol/README.md is out of date: run bun scripts/protocol-readme.ts");
      process.exit(1);
    }
    console.log("src/protocol/README.md is up to date");
  } else {
    writeFileSync(protocolReadmePath, rendered);
    console.log(`Wrote ${readmeExamples(rendered).size} examples and the error table into src/protocol/README.md`);
  }
}
