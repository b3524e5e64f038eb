/**
 * `mq bench consume --fail-rate`: one invocation consumes the same messages without failures and
 * then with a fraction failing once (sent back and retried), and its last line is one JSON
 * object with both rates. `mq bench pipe`: plain produce, then the same messages through the Web
 * Streams pipe into TOPIC-piped, both rates and the RSS figures printed.
 */

import { describe, expect, test } from "bun:test";
import { benchCommand } from "../../../src/cli/bench-command.ts";
import { Producer } from "../../../src/client/producer.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { startTestBroker } from "../../helpers/broker.ts";

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await run(), stdout };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

describe("mq bench consume --fail-rate", () => {
  test("prints the failing run's rate beside the no-failure run's, last line one JSON object", async () => {
    const broker = await startTestBroker();
    const producer = new Producer({ broker: broker.address });
    await producer.start();
    for (let index = 0; index < 200; index++) await producer.send({ topic: "BenchFail", body: `m${index}` });
    await producer.shutdown();

    const { code, stdout } = await captureStdout(() => benchCommand.run(["consume", "--broker", broker.address, "--topic", "BenchFail", "--count", "200", "--fail-rate", "0.05", "--group", "bench", "--rounds", "2"]));
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines.filter((line) => /^round \d: no failures /.test(line))).toHaveLength(2);
    expect(lines.some((line) => line.startsWith("median of 2 rounds: "))).toBe(true);
    const figures = JSON.parse(lines.at(-1)!) as Record<string, number>;
    expect(figures.msgs).toBe(200);
    expect(figures.rounds).toBe(2);
    expect(figures.retry_drain_ms).toBeGreaterThanOrEqual(0);
    expect(figures.fail_rate).toBe(0.05);
    expect(figures.failed_once).toBeGreaterThan(0);
    expect(figures.no_failure_msgs_s).toBeGreaterThan(0);
    expect(figures.ratio).toBeGreaterThan(0);
  }, 30_000);

  test("a pass whose last first delivery fails still ends (every message failing once)", async () => {
    const broker = await startTestBroker();
    const producer = new Producer({ broker: broker.address });
    await producer.start();
    for (let index = 0; index < 20; index++) await producer.send({ topic: "BenchAllFail", body: `m${index}` });
    await producer.shutdown();
    const { code, stdout } = await captureStdout(() => benchCommand.run(["consume", "--broker", broker.address, "--topic", "BenchAllFail", "--count", "20", "--fail-rate", "1", "--group", "bench-all", "--rounds", "1"]));
    expect(code).toBe(0);
    const figures = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number>;
    expect([figures.msgs, figures.failed_once]).toEqual([20, 20]);
  }, 30_000);

  test("bench pipe: plain produce, then every message piped into TOPIC-piped; last line one JSON object", async () => {
    const broker = await startTestBroker();
    const { code, stdout } = await captureStdout(() => benchCommand.run(["pipe", "--broker", broker.address, "--topic", "BenchPipeTest", "--count", "300", "--queues", "2", "--high-water-mark", "16", "--in-flight", "8"]));
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines.some((line) => line.startsWith("pipe (readable → transform → writable): "))).toBe(true);
    const figures = JSON.parse(lines.at(-1)!) as Record<string, number>;
    expect(figures).toMatchObject({ mode: "pipe", msgs: 300, size: 128, high_water_mark: 16, in_flight: 8, rss_bound_mb: 50 });
    expect(figures.pipe_msgs_s).toBeGreaterThan(0);
    expect(figures.produce_msgs_s).toBeGreaterThan(0);
    const piped = broker.store.getMessages({ topic: "BenchPipeTest-piped", queueId: 0, offset: queueOffset(0), maxCount: 1_000 }).messages.length + broker.store.getMessages({ topic: "BenchPipeTest-piped", queueId: 1, offset: queueOffset(0), maxCount: 1_000 }).messages.length;
    expect(piped).toBe(300);
  }, 30_000);

  test("refuses a fail rate outside 0..1", async () => {
    await expect(benchCommand.run(["consume", "--fail-rate", "1.5"])).rejects.toThrow("--fail-rate");
  });
});
