/**
 * Benchmark of message trace (issue 13 target: produce + consume with tracing on, 128 B, at
 * ≥ 90 % of the untraced rate in the same run). Not a test.
 *
 * Each round starts a broker in a child process (so the clients here do not share its event
 * loop), with a fresh data dir, and runs one workload twice over — untraced (broker
 * `traceEnabled: false`, clients `trace: false`) and traced (both on, the defaults) — in
 * alternating order over `--rounds` rounds:
 *
 *   produce `--count` messages of 128 B (`--window` sends in flight), then consume them with a
 *   PushConsumer from the first offset (concurrency 64, pulls of 64), timed from the first
 *   send to the last message handled.
 *
 * Before the rounds, one short warm-up run of each kind (a tenth of the count, not counted) gets
 * the driver's code compiled for both paths, so the first measured run is not the cold one.
 * The rate of a run is messages / (produce seconds + consume seconds); the ratio compares the
 * median traced run with the median untraced run (the median of `--rounds`, default 5, 3 with
 * `--quick`, discards rounds slowed by other work on the machine without picking each side's
 * luckiest one). A traced run also checks its trace: a sampled message's hops (publish, stored,
 * consume-before, consume-after) and the broker's written and dropped counts.
 * Each run also takes the CPU time of driver and broker per message, and the driver's part (a steadier figure than the
 * rate on a busy machine). Prints each run, each round's ratio, the medians and their ratio
 * against the target; the last line is one JSON object. `--quick` runs a fifth of the count.
 */

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasFlag, intFlag } from "./bench-args.ts";
import { startBenchBroker } from "./bench-broker.ts";

const bodyBytes = 128;
const topic = "bench-trace";
const targetRatio = 0.9;

if (process.argv[2] === "serve") await serve(process.argv[3] === "traced");
else await drive();

/**
 * The broker: prints its port; each line on stdin marks the start, then the end, of the measured
 * work (its CPU time is taken between the two); on stdin's end it prints its trace counters and
 * that CPU time as one JSON line, and exits.
 */
async function serve(traced: boolean): Promise<void> {
  const { TraceWriter } = await import("../src/broker/trace-writer.ts");
  const dataDir = join(tmpdir(), `mq-bench-trace-${process.pid}`);
  const { server, store, broker } = await startBenchBroker({ dataDir, commitLogFileBytes: 256 * 1024 * 1024, config: { traceEnabled: traced } });
  console.log(server.port);
  const marks: NodeJS.CpuUsage[] = [];
  process.stdin.on("data", (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 0x0a) marks.push(process.cpuUsage());
  });
  process.stdin.on("end", () => {
    void (async () => {
      const counters = TraceWriter.of(broker.context)?.counters;
      await broker.stop(); // writes the hops still queued: the counts below are final
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      const cpuMicros = marks.length < 2 ? undefined : marks[1]!.user - marks[0]!.user + marks[1]!.system - marks[0]!.system;
      console.log(JSON.stringify({ ...counters, cpuMicros }));
      process.exit(0);
    })();
  });
}

interface Run {
  traced: boolean;
  produceSeconds: number;
  consumeSeconds: number;
  produceRate: number;
  consumeRate: number;
  rate: number;
  /** CPU time of the driver and the broker over the run's produce and consume (shutdowns, so trace flushes, included), µs per message. */
  cpuMicrosPerMessage: number;
  /** The driver's (clients') part of it, µs per message: the rest is the broker's. */
  driverCpuMicrosPerMessage: number;
  hopsWritten?: number;
  hopsDropped?: number;
  sampleHops?: string[];
}

async function drive(): Promise<void> {
  const quick = hasFlag("quick");
  const count = Math.round(intFlag("count", 100_000) / (quick ? 5 : 1));
  const window = intFlag("window", 1_000);
  const rounds = intFlag("rounds", quick ? 3 : 5);
  const warmUp = Math.max(1_000, Math.round(count / 10));
  for (const traced of [false, true]) await runOnce({ traced, count: warmUp, window });
  const runs: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so machine drift within a round does not favour one side.
    const order = round % 2 === 0 ? [false, true] : [true, false];
    const pair: Run[] = [];
    for (const traced of order) {
      const run = await runOnce({ traced, count, window });
      runs.push(run);
      pair.push(run);
      const trace = traced ? `; broker's trace writer: ${run.hopsWritten} hops written, ${run.hopsDropped} dropped (a stored hop is built when a trace is asked for, not written); a message's trace: ${run.sampleHops?.join(" → ")}` : "";
      console.log(`round ${round + 1} ${traced ? "traced  " : "untraced"}: produce ${fmt(run.produceRate)} msgs/s, consume ${fmt(run.consumeRate)} msgs/s, produce + consume ${fmt(run.rate)} msgs/s, CPU ${run.cpuMicrosPerMessage.toFixed(1)} µs/msg (clients ${run.driverCpuMicrosPerMessage.toFixed(1)})${trace}`);
    }
    const [tracedRun, untracedRun] = pair[0]!.traced ? [pair[0]!, pair[1]!] : [pair[1]!, pair[0]!];
    console.log(`round ${round + 1} ratio ${((tracedRun.rate / untracedRun.rate) * 100).toFixed(1)} % (CPU per message traced / untraced ${(tracedRun.cpuMicrosPerMessage / untracedRun.cpuMicrosPerMessage).toFixed(2)})`);
  }
  const untraced = median(runs.filter((run) => !run.traced));
  const traced = median(runs.filter((run) => run.traced));
  const ratio = traced.rate / untraced.rate;
  console.log(`baseline (untraced, median of ${rounds}): ${fmt(untraced.rate)} msgs/s produce + consume (${fmt(untraced.produceRate)} produce, ${fmt(untraced.consumeRate)} consume)`);
  console.log(`traced (median of ${rounds}):            ${fmt(traced.rate)} msgs/s produce + consume (${fmt(traced.produceRate)} produce, ${fmt(traced.consumeRate)} consume)`);
  const cpuOf = (traced: boolean): number => medianOf(runs.filter((run) => run.traced === traced).map((run) => run.cpuMicrosPerMessage));
  const cpuRatio = cpuOf(true) / cpuOf(false);
  console.log(`CPU (driver + broker, median): ${cpuOf(false).toFixed(1)} µs/msg untraced, ${cpuOf(true).toFixed(1)} µs/msg traced: ×${cpuRatio.toFixed(2)}`);
  console.log(`ratio ${(ratio * 100).toFixed(1)} % — target ≥ ${targetRatio * 100} %: ${ratio >= targetRatio ? "met" : "MISSED"}`);
  console.log(
    JSON.stringify({
      bench: "trace",
      size: bodyBytes,
      count,
      window,
      rounds,
      untraced_msgs_s: Math.round(untraced.rate),
      traced_msgs_s: Math.round(traced.rate),
      untraced_produce_msgs_s: Math.round(untraced.produceRate),
      traced_produce_msgs_s: Math.round(traced.produceRate),
      untraced_consume_msgs_s: Math.round(untraced.consumeRate),
      traced_consume_msgs_s: Math.round(traced.consumeRate),
      ratio: Number(ratio.toFixed(3)),
      untraced_cpu_us_per_msg: Number(cpuOf(false).toFixed(2)),
      traced_cpu_us_per_msg: Number(cpuOf(true).toFixed(2)),
      cpu_ratio: Number(cpuRatio.toFixed(3)),
      target: targetRatio,
      met: ratio >= targetRatio,
      trace_hops_written: traced.hopsWritten,
      trace_hops_dropped: traced.hopsDropped,
    }),
  );
}

async function runOnce(settings: { traced: boolean; count: number; window: number }): Promise<Run> {
  const { Admin, Producer, PushConsumer } = await import("../src/client/index.ts");
  const child = Bun.spawn([process.execPath, import.meta.path, "serve", settings.traced ? "traced" : "untraced"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  const target = { broker: `127.0.0.1:${port}` };
  const trace = settings.traced ? {} : { trace: false as const };
  const admin = new Admin(target);
  await admin.createTopic(topic, { queues: 8 });

  const producer = new Producer({ ...target, ...trace, maxInFlight: settings.window });
  await producer.start();
  const body = new Uint8Array(bodyBytes).fill(0x61);
  let started = 0;
  let sampleMsgId = "";
  child.stdin.write("start\n");
  child.stdin.flush();
  const cpuStart = process.cpuUsage();
  const produceStart = performance.now();
  await Promise.all(
    Array.from({ length: settings.window }, async () => {
      while (started < settings.count) {
        started += 1;
        const result = await producer.send({ topic, body });
        if (sampleMsgId === "") sampleMsgId = result.msgId;
      }
    }),
  );
  const produceSeconds = (performance.now() - produceStart) / 1000;
  await producer.shutdown();

  const consumer = new PushConsumer({ ...target, ...trace, group: "bench-trace-group", consumeFromWhere: "first", concurrency: 64, pullBatchSize: 64 });
  consumer.subscribe(topic);
  let received = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const consumeStart = performance.now();
  await consumer.start(() => {
    received += 1;
    if (received === settings.count) finish();
  });
  await done;
  const consumeSeconds = (performance.now() - consumeStart) / 1000;
  await consumer.shutdown();
  const driverCpu = process.cpuUsage(cpuStart);
  child.stdin.write("end\n");
  child.stdin.flush();

  let sampleHops: string[] | undefined;
  if (settings.traced) {
    for (let attempt = 0; attempt < 100 && (sampleHops === undefined || sampleHops.length < 4); attempt++) {
      sampleHops = (await admin.trace(sampleMsgId)).map((hop) => hop.hop);
      if (sampleHops.length < 4) await Bun.sleep(20);
    }
  }
  await admin.close();
  child.stdin.end();
  const countersLine = new TextDecoder().decode((await reader.read()).value).trim().split("\n").pop() ?? "{}";
  await child.exited;
  const counters = JSON.parse(countersLine) as { written?: number; dropped?: number; cpuMicros?: number };
  const seconds = produceSeconds + consumeSeconds;
  return {
    traced: settings.traced,
    produceSeconds,
    consumeSeconds,
    produceRate: settings.count / produceSeconds,
    consumeRate: settings.count / consumeSeconds,
    rate: settings.count / seconds,
    cpuMicrosPerMessage: (driverCpu.user + driverCpu.system + (counters.cpuMicros ?? Number.NaN)) / settings.count,
    driverCpuMicrosPerMessage: (driverCpu.user + driverCpu.system) / settings.count,
    ...(settings.traced ? { hopsWritten: counters.written, hopsDropped: counters.dropped, sampleHops } : {}),
  };
}

/** The run of median rate (the upper middle of an even count). */
function median(runs: readonly Run[]): Run {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
}

function medianOf(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}
