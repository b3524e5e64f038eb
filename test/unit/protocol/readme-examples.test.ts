/**
 * src/protocol/README.md cannot drift from the code: every hex example in it is decoded with the
 * real codec and checked against the request and response schemas, and must be exactly the
 * encoding of its definition in scripts/protocol-examples.ts; every request code has its example;
 * the error table equals the catalogue; the reserved request codes really are refused by a broker.
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { errorCatalog, errorNameForCode, type ErrorName } from "../../../src/common/errors.ts";
import { decodeOffsetMsgId, encodeOffsetMsgId } from "../../../src/common/ids.ts";
import { reservedPropertyNames } from "../../../src/common/message-properties.ts";
import { numberToIpv4 } from "../../../src/common/message-record.ts";
import { physicalOffset } from "../../../src/common/offsets.ts";
import { connect } from "../../../src/net/connection.ts";
import { decodeBatchBody } from "../../../src/protocol/batch-body.ts";
import { decodeRegisterBrokerBody } from "../../../src/protocol/broker-registration.ts";
import { encodeFrame, FrameFlag } from "../../../src/protocol/frame.ts";
import { frameHeaderBytesMax } from "../../../src/protocol/limits.ts";
import { FrameDecoder } from "../../../src/protocol/frame-decoder.ts";
import { splitRecords } from "../../../src/protocol/record-stream.ts";
import { RequestCode, type RequestCodeName } from "../../../src/protocol/request-codes.ts";
import { readResult } from "../../../src/protocol/response-body.ts";
import { validateRequest } from "../../../src/protocol/schemas.ts";
import { allExamples, exampleMsgId, exampleOffsetMsgId, type FrameExample, frameExamples, reservedRequestCodes } from "../../../scripts/protocol-examples.ts";
import { parseHexBlock, protocolReadmePath, readmeExamples, renderErrorTable, renderReadme } from "../../../scripts/protocol-readme.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { connectRawPeer } from "../../helpers/raw-peer.ts";
import { waitUntil } from "../../helpers/wait-for.ts";


const readme = readFileSync(protocolReadmePath, "utf8");
const shown = readmeExamples(readme);

function decodeOne(bytes: Uint8Array) {
  const decoder = new FrameDecoder();
  decoder.push(bytes);
  const step = decoder.next();
  if (step.status !== "frame") throw new Error(`expected a frame, got ${step.status}`);
  expect(decoder.bufferedBytes).toBe(0);
  return step.frame;
}

function checkBody(example: FrameExample, frame: ReturnType<typeof decodeOne>): void {
  switch (example.body) {
    case "none":
      expect(frame.body.length).toBe(0);
      return;
    case "raw":
      expect(frame.body.length).toBeGreaterThan(0);
      return;
    case "batch": {
      const entries = decodeBatchBody(frame.body, frame.header.messageCount as number);
      expect(entries.every((entry) => typeof (entry.header as { msgId?: unknown }).msgId === "string")).toBe(true);
      return;
    }
    case "records": {
      const [message, ...rest] = splitRecords(frame.body);
      expect(rest).toEqual([]);
      expect(new TextDecoder().decode(message!.body)).toBe("hello");
      expect([message!.topic, message!.tags, message!.keys, message!.msgId]).toEqual(["Orders", "created", ["order-1"], exampleMsgId]);
      // The offsetMsgId a client derives from the record is the one SEND_MESSAGE answered.
      expect(encodeOffsetMsgId({ host: numberToIpv4(message!.storeHost.ip), port: message!.storeHost.port, physicalOffset: message!.physicalOffset })).toBe(exampleOffsetMsgId);
      return;
    }
    case "register-broker":
      expect(decodeRegisterBrokerBody(frame.body).length).toBeGreaterThan(0);
      return;
    case "result":
      expect(frame.header.resultInBody).toBe(true);
      return;
  }
}

describe("src/protocol/README.md", () => {
  test("shows every example exactly once, and nothing else", () => {
    expect([...shown.keys()].sort()).toEqual(allExamples.map((example) => example.name).sort());
  });

  test("has a request example for every request code but the reserved ones, and a response for every answered one", () => {
    const names = new Set(frameExamples.map((example) => example.name));
    for (const code of Object.keys(RequestCode) as RequestCodeName[]) {
      if (reservedRequestCodes.includes(code)) continue;
      expect(names.has(`${code} request`)).toBe(true);
      const oneway = code === "NOTIFY_CONSUMER_IDS_CHANGED" || code === "RESET_CONSUMER_CLIENT_OFFSET";
      expect(names.has(`${code} response`)).toBe(!oneway);
    }
  });

  for (const example of allExamples) {
    test(`example "${example.name}" is the real encoding and decodes into valid fields`, () => {
      const bytes = parseHexBlock(shown.get(example.name) ?? "");
      expect(bytes).toEqual(encodeFrame(example.frame));
      const frame = decodeOne(bytes);
      if ((frame.flags & FrameFlag.response) === 0) {
        expect(frame.code).toBe(RequestCode[example.request]);
        const validation = validateRequest(frame.code, frame.header);
        expect(validation.ok ? undefined : validation.error.message).toBeUndefined();
      } else if (frame.code === 0) {
        const parsed = example.resultSchema!.safeParse(readResult(frame));
        expect(parsed.success ? undefined : parsed.error.message).toBeUndefined();
      } else {
        expect(errorNameForCode(frame.code)).toBe(frame.header.errorName as ErrorName);
        expect(typeof frame.header.remark).toBe("string");
      }
      checkBody(example, frame);
    });
  }

  test("is what scripts/protocol-readme.ts writes: examples, reserved names and the error table up to date", () => {
    const state = renderReadme(readme) === readme ? "up to date" : "out of date: run bun scripts/protocol-readme.ts";
    expect(`src/protocol/README.md is ${state}`).toBe("src/protocol/README.md is up to date");
  });

  test("lists every error of the catalogue with its code, HTTP status and message (else run bun scripts/protocol-readme.ts)", () => {
    const table = renderErrorTable();
    for (const [name, spec] of Object.entries(errorCatalog)) expect(table).toContain(`| ${spec.code} | \`${name}\` | ${spec.http} | ${spec.message} |`);
    expect(table.split("\n").length).toBe(2 + Object.keys(errorCatalog).length);
    const shownTable = /<!-- error-codes -->\n([\s\S]*?)\n<!-- \/error-codes -->/.exec(readme)?.[1] ?? "";
    expect(shownTable.split("\n")).toEqual(table.split("\n"));
  });

  test("the id examples of §5 read as the README says", () => {
    const section = (title: string) => readme.slice(readme.indexOf(title), readme.indexOf("\n### ", readme.indexOf(title) + 1));
    expect(section("### 5.1 msgId")).toContain(`\`${exampleMsgId}\`: 10.0.0.5, pid 0x1234, instance 0x9ABCDEF0`);
    const offsetIds = section("### 5.2 offsetMsgId");
    expect(offsetIds).toContain(`\`${exampleOffsetMsgId}\`: 10.0.0.1, port 10911, physical offset 4096`);
    expect(decodeOffsetMsgId(exampleOffsetMsgId)).toEqual({ host: "10.0.0.1", port: 10911, physicalOffset: physicalOffset(4096) });
    const ipv6Id = /`([0-9A-F]{56})`: 2001:db8::7, port 10911,\s+physical\s+offset 4096/.exec(offsetIds)?.[1];
    expect(ipv6Id).toBeDefined();
    expect(decodeOffsetMsgId(ipv6Id!)).toEqual({ host: "2001:db8::7", port: 10911, physicalOffset: physicalOffset(4096) });
    expect(encodeOffsetMsgId({ host: "2001:db8::7", port: 10911, physicalOffset: physicalOffset(4096) })).toBe(ipv6Id!);
  });

  test("lists exactly the reserved property names of src/common", () => {
    const listed = /<!-- reserved-properties -->\n([\s\S]*?)\n<!-- \/reserved-properties -->/.exec(readme)?.[1] ?? "";
    expect([...listed.matchAll(/`([^`]+)`/g)].map((match) => match[1])).toEqual([...reservedPropertyNames]);
  });

  test("names each request in its own section when it points to one, as \"NAME (6.N)\"", () => {
    const headings = [...readme.matchAll(/^### (6\.\d+) (.*)$/gm)].map((match) => [match[1]!, match[2]!] as const);
    const inProse = [...readme.matchAll(/\b([A-Z][A-Z_]{3,}) \((6\.\d+)\)/g)].map((match) => [match[1]!, match[2]!] as const);
    const inTable = [...readme.matchAll(/^\| \d+ \| ([A-Z_]+) \| (?!reserved)[^|]* \| (6\.\d+) \|$/gm)].map((match) => [match[1]!, match[2]!] as const);
    expect(inProse.length).toBeGreaterThanOrEqual(2);
    expect(inTable.length).toBeGreaterThan(20);
    for (const [name, section] of [...inProse, ...inTable]) expect(`${name} (${section})`).toBe(`${name} (${headings.find(([, title]) => title.includes(name))?.[0]})`);
    const registerExample = /### 7\.3 REGISTER_BROKER body[\s\S]*?The example is in (6\.\d+)\./.exec(readme)?.[1];
    expect(headings.find(([number]) => number === registerExample)?.[1]).toStartWith("REGISTER_BROKER");
  });

  test("the main README refuses exactly the reserved property names of src/common", () => {
    const mainReadme = readFileSync(join(dirname(protocolReadmePath), "../../README.md"), "utf8");
    const listed = /the property names the broker itself uses \(([^)]*)\)/.exec(mainReadme)?.[1] ?? "";
    expect([...listed.matchAll(/`([^`]+)`/g)].map((match) => match[1])).toEqual([...reservedPropertyNames]);
  });

  test("says the truth about the reserved request codes: a broker answers UNKNOWN_REQUEST_CODE", async () => {
    const broker = await startTestBroker();
    const connection = await connect({ host: "127.0.0.1", port: broker.port });
    try {
      for (const name of reservedRequestCodes.filter((code) => code !== "CHECK_TRANSACTION_STATE")) {
        const error = await connection.request({ code: RequestCode[name], fields: {} }).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        expect(error).toMatchObject({ errorName: "UNKNOWN_REQUEST_CODE" });
      }
    } finally {
      connection.close();
    }
  });

  test("says the truth about a header over 64 KiB: MALFORMED_FRAME (1001) at opaque 0, and the connection stays open", async () => {
    const broker = await startTestBroker();
    const peer = await connectRawPeer(broker.port);
    try {
      const headerLength = frameHeaderBytesMax + 1;
      const frame = new Uint8Array(8 + headerLength);
      const view = new DataView(frame.buffer);
      view.setUint32(0, 4 + headerLength);
      view.setUint32(4, headerLength);
      peer.socket.write(frame);
      peer.socket.write(encodeFrame({ code: RequestCode.GET_MAX_OFFSET, opaque: 7, fields: { topic: "Orders", queueId: 0 } }));
      await waitUntil("both answers", () => peer.frames().length === 2);
      const [tooLarge, next] = peer.frames();
      expect([tooLarge!.code, tooLarge!.opaque, tooLarge!.header.errorName]).toEqual([1001, 0, "MALFORMED_FRAME"]);
      expect(tooLarge!.header.remark).toBe(`Cannot decode frame: header is ${headerLength} bytes, limit is ${frameHeaderBytesMax}`);
      expect([next!.opaque, next!.code === 0 || next!.code === 2001]).toEqual([7, true]);
      expect(peer.closed).toBe(false);
    } finally {
      peer.socket.destroy();
    }
  });
});
