/**
 * SQL92 filter benchmark (`npm run bench:filter`), against the targets of issue 13:
 *
 *   1. evaluations/s of `a IS NOT NULL AND a > 100 AND region IN ('eu','us')`, one core: over
 *      stored properties bytes (what the broker's scan does) and over decoded property maps (the
 *      client's re-check); baseline: decoding each properties region to a map first (a broker
 *      that built strings per message), in the same run
 *   2. the broker's scan of 1,000,000 stored messages that a SQL92 filter does not match: a
 *      broker in a child process, one queue; a consumer pulls from offset 0 over TCP until the
 *      answer is "no new message"; time from the first pull to that empty answer, the pulls it
 *      took and the slowest one; baseline: the same backlog scanned with a tag filter (consume
 *      queue hashes only, no CommitLog read) in the same run
 *   3. bytes moved by a 1 %-selective SQL92 subscription over 100,000 messages of 1 KiB, as a
 *      share of the topic's bytes
 *
 * Fixed seed and sizes; the last line is one JSON object. Flags: --quick (a tenth of every
 * count; the targets are then only indicative).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readyLine, seededRandom, startBenchBroker } from "./bench-broker.ts";

const quick = process.argv.includes("--quick");
const scale = quick ? 0.1 : 1;
const seed = 20261207;
const expression = "a IS NOT NULL AND a > 100 AND region IN ('eu','us')";
const evaluateMs = 2_000;
const scanCount = Math.round(1_000_000 * scale);
const selectiveCount = Math.round(100_000 * scale);
const batchSize = 1_000;

const targets = { evaluationsPerSecond: 1_000_000, scanEmptyAnswerMs: 2_000, selectiveBytesShare: 0.02 } as const;

if (process.argv[2] === "serve") await serve(process.argv[3]!);
else await drive();

// --- The broker (child process) ----------------------------------------------------------------

async function serve(dataDir: string): Promise<void> {
  const { server } = await startBenchBroker({ dataDir, commitLogFileBytes: 1024 * 1024 * 1024 });
  console.log(JSON.stringify({ port: server.port }));
  process.stdin.on("data", () => {});
}

// --- The driver ----------------------------------------------------------------------------------

interface EvaluationFigures {
  bytesPerSecond: number;
  mapPerSecond: number;
  decodeThenMapPerSecond: number;
  matchedShare: number;
}

async function evaluations(): Promise<EvaluationFigures> {
  const { SqlExpression } = await import("../src/protocol/filter/sql-expression.ts");
  const { decodePropertiesText, encodePropertiesText } = await import("../src/common/message-properties.ts");
  const random = seededRandom(seed);
  const regions = ["eu", "us", "ap", "sa"];
  // Messages as producers send them: system properties (msgId, tags, keys) beside the user's.
  const propertySets = Array.from({ length: 1_024 }, (_, index) => {
    const properties: Record<string, string> = { UNIQ_KEY: `7F0000010001${index.toString(16).padStart(20, "0")}`, TAGS: "order", KEYS: `order-${index}` };
    if (random() < 0.9) properties.a = String(Math.floor(random() * 200));
    properties.region = regions[Math.floor(random() * regions.length)]!;
    return properties;
  });
  const encoder = new TextEncoder();
  const regionsBytes = propertySets.map((properties) => encoder.encode(encodePropertiesText(properties)));
  const sql = new SqlExpression(expression);
  let matched = 0;
  for (const properties of propertySets) if (sql.matchesProperties(properties)) matched += 1;
  for (const bytes of regionsBytes) if (sql.matchesPropertiesBytes(bytes, 0, bytes.length) !== sql.matchesProperties(decodePropertiesText(new TextDecoder().decode(bytes)))) throw new Error("bytes and map evaluation disagree");
  const decoder = new TextDecoder();
  const rate = (run: (index: number) => boolean): number => {
    let count = 0;
    let sink = 0;
    const startedMs = performance.now();
    while (performance.now() - startedMs < evaluateMs) {
      for (let index = 0; index < 1_024; index++) if (run(index)) sink += 1;
      count += 1_024;
    }
    if (sink < 0) console.log(sink);
    return count / ((performance.now() - startedMs) / 1000);
  };
  rate((index) => sql.matchesPropertiesBytes(regionsBytes[index]!, 0, regionsBytes[index]!.length)); // warm-up
  const bytesPerSecond = rate((index) => sql.matchesPropertiesBytes(regionsBytes[index]!, 0, regionsBytes[index]!.length));
  const mapPerSecond = rate((index) => sql.matchesProperties(propertySets[index]!));
  const decodeThenMapPerSecond = rate((index) => sql.matchesProperties(decodePropertiesText(decoder.decode(regionsBytes[index]!))));
  return { bytesPerSecond, mapPerSecond, decodeThenMapPerSecond, matchedShare: matched / propertySets.length };
}

type Child = ReturnType<typeof Bun.spawn<"pipe", "pipe", "inherit">>;

async function startBroker(dataDir: string): Promise<{ child: Child; port: number }> {
  const child = Bun.spawn([process.execPath, import.meta.path, "serve", dataDir], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  return { child, port: (await readyLine<{ port: number }>(child.stdout)).port };
}

interface ScanFigures {
  emptyAnswerMs: number;
  pulls: number;
  slowestPullMs: number;
}

async function drive(): Promise<void> {
  const { connect } = await import("../src/net/connection.ts");
  const { RequestCode } = await import("../src/protocol/request-codes.ts");
  const { encodeBatchBody } = await import("../src/protocol/batch-body.ts");
  const { MsgIdGenerator } = await import("../src/common/ids.ts");
  const { Admin } = await import("../src/client/index.ts");

  console.log(`SQL92 filter benchmark${quick ? " (quick: a tenth of every count)" : ""}: seed ${seed}`);
  const evaluated = await evaluations();
  console.log(`1. evaluate "${expression}" (${(evaluated.matchedShare * 100).toFixed(0)} % match):`);
  console.log(`   over stored properties bytes ${Math.round(evaluated.bytesPerSecond).toLocaleString("en")}/s (target ≥ ${targets.evaluationsPerSecond.toLocaleString("en")}/s)`);
  console.log(`   over decoded maps            ${Math.round(evaluated.mapPerSecond).toLocaleString("en")}/s`);
  console.log(`   baseline, decode then map    ${Math.round(evaluated.decodeThenMapPerSecond).toLocaleString("en")}/s (bytes path ${(evaluated.bytesPerSecond / evaluated.decodeThenMapPerSecond).toFixed(1)}× it)`);

  const dataDir = mkdtempSync(join(tmpdir(), "mq-bench-filter-"));
  const broker = await startBroker(dataDir);
  const address = `127.0.0.1:${broker.port}`;
  const connection = await connect({ host: "127.0.0.1", port: broker.port, requestTimeoutMs: 60_000 });
  const ids = new MsgIdGenerator({ ip: "127.0.0.1", pid: process.pid, instanceHash: 0x5151 });
  try {
    const admin = new Admin({ broker: address });
    await admin.createTopic("Scan", { queues: 1 });
    await admin.createTopic("Selective", { queues: 1 });
    await admin.close();

    const fill = async (topic: string, count: number, body: Uint8Array, properties: (index: number) => Record<string, string>, tags?: string) => {
      for (let start = 0; start < count; start += batchSize) {
        const entries = Array.from({ length: Math.min(batchSize, count - start) }, (_, index) => ({ msgId: ids.next(), body, properties: properties(start + index), ...(tags === undefined ? {} : { tags }) }));
        await connection.request({ code: RequestCode.SEND_BATCH, fields: { producerGroup: "bench", topic, queueId: 0, messageCount: entries.length, bornTimestampMs: Date.now() }, body: encodeBatchBody(entries) });
      }
    };
    const fillStartedMs = performance.now();
    await fill("Scan", scanCount, new Uint8Array(128).fill(120), (index) => ({ region: "us", a: String(index % 100) }), "order");
    console.log(`2. stored ${scanCount.toLocaleString("en")} non-matching messages of 128 B in ${((performance.now() - fillStartedMs) / 1000).toFixed(1)} s`);

    const scan = async (filter: { expressionType: "TAG" | "SQL92"; expression: string }): Promise<ScanFigures> => {
      let offset = 0;
      let pulls = 0;
      let slowestPullMs = 0;
      const startedMs = performance.now();
      for (;;) {
        const pullStartedMs = performance.now();
        const frame = await connection.request({ code: RequestCode.PULL_MESSAGE, fields: { consumerGroup: "bench", topic: "Scan", queueId: 0, queueOffset: offset, maxMessages: 32, filter, suspendTimeoutMs: 0 } });
        slowestPullMs = Math.max(slowestPullMs, performance.now() - pullStartedMs);
        pulls += 1;
        const header = frame.header as { status: string; nextOffset: number };
        if (header.status === "found") throw new Error(`the filter matched at offset ${offset}`);
        offset = header.nextOffset;
        if (header.status === "no_new_message") break;
      }
      return { emptyAnswerMs: performance.now() - startedMs, pulls, slowestPullMs };
    };
    const sqlScan = await scan({ expressionType: "SQL92", expression: "region = 'eu' AND a > 100" });
    const tagScan = await scan({ expressionType: "TAG", expression: "invoice" });
    console.log(`   SQL92 scan to the empty answer ${Math.round(sqlScan.emptyAnswerMs)} ms in ${sqlScan.pulls} pulls, slowest pull ${sqlScan.slowestPullMs.toFixed(1)} ms (target ≤ ${targets.scanEmptyAnswerMs} ms)`);
    console.log(`   baseline, tag-hash scan        ${Math.round(tagScan.emptyAnswerMs)} ms in ${tagScan.pulls} pulls, slowest pull ${tagScan.slowestPullMs.toFixed(1)} ms`);

    await fill("Selective", selectiveCount, new Uint8Array(1024).fill(121), (index) => ({ region: index % 100 === 0 ? "eu" : "us" }));
    const bytesOf = async (filter: { expressionType: "SQL92"; expression: string } | undefined): Promise<{ bytes: number; messages: number }> => {
      let offset = 0;
      let bytes = 0;
      let messages = 0;
      for (;;) {
        const frame = await connection.request({ code: RequestCode.PULL_MESSAGE, fields: { consumerGroup: "bench", topic: "Selective", queueId: 0, queueOffset: offset, maxMessages: 1024, filter, suspendTimeoutMs: 0 } });
        const header = frame.header as { status: string; nextOffset: number };
        bytes += frame.body.length;
        if (header.status === "found") messages += 1;
        offset = header.nextOffset;
        if (header.status === "no_new_message") return { bytes, messages };
      }
    };
    const all = await bytesOf(undefined);
    const selective = await bytesOf({ expressionType: "SQL92", expression: "region = 'eu'" });
    const share = selective.bytes / all.bytes;
    console.log(`3. 1 %-selective subscription over ${selectiveCount.toLocaleString("en")} messages of 1 KiB: ${selective.bytes.toLocaleString("en")} of ${all.bytes.toLocaleString("en")} bytes = ${(share * 100).toFixed(2)} % (target ≤ ${targets.selectiveBytesShare * 100} %)`);

    console.log(
      JSON.stringify({
        bench: "filter",
        quick,
        seed,
        evaluationsPerSecond: Math.round(evaluated.bytesPerSecond),
        evaluationsPerSecondMap: Math.round(evaluated.mapPerSecond),
        evaluationsPerSecondDecodeBaseline: Math.round(evaluated.decodeThenMapPerSecond),
        scanMessages: scanCount,
        scanEmptyAnswerMs: Math.round(sqlScan.emptyAnswerMs),
        scanPulls: sqlScan.pulls,
        scanSlowestPullMs: Math.round(sqlScan.slowestPullMs * 10) / 10,
        tagScanEmptyAnswerMs: Math.round(tagScan.emptyAnswerMs),
        selectiveBytesShare: Math.round(share * 10_000) / 10_000,
        targets,
        met: {
          evaluations: evaluated.bytesPerSecond >= targets.evaluationsPerSecond,
          scan: sqlScan.emptyAnswerMs <= targets.scanEmptyAnswerMs,
          selectiveBytes: share <= targets.selectiveBytesShare,
        },
      }),
    );
  } finally {
    connection.destroy();
    broker.child.kill();
    await broker.child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}
