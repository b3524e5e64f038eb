/**
 * Message trace over REST and the CLI (issue 13): a message sent and consumed over HTTP (the
 * broker records popped and acked, and builds stored from the message's record: REST clients get
 * traces without an SDK), its timeline
 * from `GET /api/v1/messages/{id}/trace` and from `mq message trace`, the OpenAPI entry, and
 * the trace metrics.
 */

import { describe, expect, test } from "bun:test";
import { messageCommand } from "../../../src/cli/message-command.ts";
import { waitUntil } from "../../helpers/wait-for.ts";
import { type HttpBroker, startHttpBroker } from "./helpers.ts";

async function traceOver(h: HttpBroker, id: string, wanted: readonly string[]): Promise<{ hop: string; [field: string]: unknown }[]> {
  let hops: { hop: string }[] = [];
  await waitUntil(`the trace of ${id}`, async () => {
    const { status, json } = await h.call("GET", `/api/v1/messages/${encodeURIComponent(id)}/trace`);
    expect(status).toBe(200);
    hops = json.hops;
    return wanted.every((name) => hops.some((hop) => hop.hop === name));
  }, 10_000, 20);
  return hops;
}

/** Runs `mq message ...`; the exit code and what it printed. */
async function mqMessage(...argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await messageCommand.run(argv), stdout };
  } finally {
    process.stdout.write = write;
  }
}

describe("message trace: REST and CLI", () => {
  test("a message sent and consumed over REST has stored, popped and acked hops, by msgId, offsetMsgId and key", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "RestTraced", queues: 1 });
    const sent = await h.call("POST", "/api/v1/topics/RestTraced/messages", { body: "over http", keys: ["invoice-7"], properties: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    expect(sent.status).toBe(200);
    const { msgId, offsetMsgId } = sent.json as { msgId: string; offsetMsgId: string };
    const received = await h.call("POST", "/api/v1/groups/RestGroup/receive", { topic: "RestTraced", max: 1 });
    const handle = (received.json.messages as { receiptHandle: string }[])[0]!.receiptHandle;
    expect((await h.call("POST", "/api/v1/groups/RestGroup/ack", { receiptHandles: [handle] })).json).toEqual({ acked: 1, failed: [] });

    const hops = await traceOver(h, msgId, ["stored", "popped", "acked"]);
    expect(hops.map((hop) => hop.hop)).toEqual(["stored", "popped", "acked"]);
    expect(hops[0]).toMatchObject({ msgId, topic: "RestTraced", queueId: 0, queueOffset: 0, offsetMsgId, status: "ok", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    expect(hops[1]).toMatchObject({ group: "RestGroup", topic: "RestTraced" });
    expect(hops[2]).toMatchObject({ group: "RestGroup", topic: "RestTraced" });
    expect((await traceOver(h, offsetMsgId, ["stored"])).map((hop) => hop.hop)).toEqual(["stored", "popped", "acked"]);
    expect((await traceOver(h, "invoice-7", ["acked"])).map((hop) => hop.hop)).toEqual(["stored", "popped", "acked"]);
    expect((await h.call("GET", "/api/v1/messages/nothing-here/trace")).json).toEqual({ id: "nothing-here", hops: [] });
    expect((await h.call("GET", "/api/v1/messages/x/trace?topic=bad%20topic")).status).toBe(400);

    const cli = await mqMessage("trace", msgId, "--broker", h.broker.address);
    expect(cli.code).toBe(0);
    const lines = cli.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^HOP\s+HOST\s+TIME\s+COST\s+STATUS\s+MSGID\s+ABOUT/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(["stored", "popped", "acked"]);
    expect(lines[2]).toContain("group RestGroup");
    const json = await mqMessage("trace", "invoice-7", "--broker", h.broker.address, "--json");
    expect((JSON.parse(json.stdout) as { hops: { hop: string }[] }).hops.map((hop) => hop.hop)).toEqual(["stored", "popped", "acked"]);
    expect((await mqMessage("trace", "nothing-here", "--broker", h.broker.address)).stdout.trim()).toBe('No trace found for "nothing-here"');

    const metrics = await h.text("/metrics");
    // popped and acked: the stored hop is not written, a trace query builds it from the message's record.
    expect(metrics.text).toMatch(/^mq_trace_hops_written_total 2$/m);
    expect(metrics.text).toMatch(/^mq_trace_hops_dropped_total 0$/m);
  });

  test("the OpenAPI document describes the trace endpoint and its hop shape", async () => {
    const h = await startHttpBroker();
    const { json } = await h.call("GET", "/api/v1/openapi.json");
    const operation = json.paths["/api/v1/messages/{id}/trace"].get;
    expect(operation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(["id", "topic"]);
    expect(Object.keys(json.components.schemas.TraceHop.properties)).toEqual(expect.arrayContaining(["hop", "msgId", "host", "timeMs", "costMs", "status"]));
  });
});
