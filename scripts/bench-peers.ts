/**
 * mq beside its peers (`npm run bench:peers`): NATS JetStream (Debian's `nats-server -js`, file
 * store, its Go client) and Redis Streams (Debian's `redis-server`, `appendfsync always`) run the
 * same workloads as `dist/mq` on loopback, one server at a time, each sharing the machine's cores
 * with its own client. Ratios from one run are what count; absolute figures differ by machine.
 *
 * Workloads (mq side: `mq bench`; peer side: scripts/bench-peers-client.go):
 *   produce 128 B / 1 KiB   mq single send() calls, 1,000 in flight; NATS PublishAsync, 4,096 pending
 *   produce sendBatch 64    mq sendBatch of 64 × 128 B, 16 batches in flight; NATS as single 128 B
 *   consume                 mq one PushConsumer over the 128 B messages; NATS pull, fetch 1,000, no ack
 *   one in flight           mq send() round trip p50; NATS synchronous Publish p50; loopback TCP
 *                           round trip between two processes (Go echo) as the floor
 *   end to end 20,000/s     p99 from send to the consumer's handler, both through push consumers
 *   sync flush 1 KiB        mq `--flush sync`, 64 producers × 16 in flight; Redis 64 connections
 *                           × 16 pipelined XADD, appendfsync always
 *
 * What is missing is installed first (Debian packages through apt-get, as root): nats-server,
 * redis-server, golang-go and golang-github-nats-io-go-nats-dev; the Go client is built offline
 * against Debian's Go source tree (GO111MODULE=off). `dist/mq` is rebuilt from the checkout first
 * (a stale binary measures old code) unless --binary names one.
 * CPU time per message (server from /proc, load generator from its rusage) is printed beside the
 * rates: other processes' load stretches wall time but hardly CPU time, so on a shared machine
 * its ratio is the steadier comparison. So are the mq broker's pauses per workload (its event-loop
 * stalls, its heap valve's forced collections, its heap: from its /metrics, before and after).
 * Every server is stopped by its PID. Flags: --quick (a tenth of the counts), --binary=PATH.
 * The last line printed is one JSON object of the figures.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { flagValue, hasFlag } from "./bench-args.ts";

const root = resolve(import.meta.dir, "..");
const scale = hasFlag("quick") ? 0.1 : 1;
const binary = resolve(flagValue("binary") ?? join(root, "dist/mq"));
const goSourceTree = "/usr/share/gocode";
const count = {
  produce: Math.round(200_000 * scale),
  produce1KiB: Math.round(100_000 * scale),
  batch: Math.round(640_000 * scale),
  latency: Math.round(20_000 * scale),
  endToEnd: Math.round(100_000 * scale),
  syncFlush: Math.round(100_000 * scale),
  roundTrip: 20_000,
};
const endToEndRatePerSecond = 20_000;
const syncProducers = 64;
const syncWindowPerProducer = 16;
const serverReadyTimeoutMs = 30_000;
const workloadTimeoutMs = 300_000;
/** USER_HZ of /proc/<pid>/stat times: 100 on every Linux this runs on. */
const clockTicksPerSecond = 100;

type Figures = Record<string, number | string>;

const work = mkdtempSync(join(tmpdir(), "mq-bench-peers-"));
try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  installMissing();
  const client = buildGoClient();
  if (flagValue("binary") === undefined) run(["npm", "run", "build"], { cwd: root });

  const roundTrip = await loopbackRoundTrip(client);
  const nats = await natsWorkloads(client);
  const redis = await redisWorkload(client);
  const mq = await mqWorkloads();
  const syncFlush = await mqSyncFlush();
  report({ roundTrip, nats, redis, mq, syncFlush });
}

// ---------------------------------------------------------------------------------------------
// Tools

function installMissing(): void {
  const needed: string[] = [];
  if (Bun.which("nats-server") === null) needed.push("nats-server");
  if (Bun.which("redis-server") === null) needed.push("redis-server");
  if (Bun.which("go") === null) needed.push("golang-go");
  if (!existsSync(join(goSourceTree, "src/github.com/nats-io/nats.go"))) needed.push("golang-github-nats-io-go-nats-dev");
  if (needed.length === 0) return;
  console.error(`bench:peers: installing ${needed.join(", ")} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run(["apt-get", "update"], { env });
  run(["apt-get", "install", "-y", "--no-install-recommends", ...needed], { env });
}

function buildGoClient(): string {
  const output = join(work, "bench-peers-client");
  run(["go", "build", "-o", output, join(root, "scripts/bench-peers-client.go")], {
    env: { ...process.env, GO111MODULE: "off", GOPATH: goSourceTree, GOFLAGS: "", GOCACHE: join(work, "go-cache"), GOPROXY: "off" },
  });
  return output;
}

function run(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): void {
  const child = Bun.spawnSync(argv, { cwd: options.cwd, env: options.env, stdout: "inherit", stderr: "inherit" });
  if (child.exitCode !== 0) throw new Error(`${argv.join(" ")} exited with ${child.exitCode}`);
}

/** CPU time (user + system) a process has used so far, in µs, from /proc (Linux). */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond;
}

/**
 * Runs a load generator to completion; its last stdout line is its JSON figures. With `server`
 * and `messages`, the CPU time the server and the load generator spent per message is added
 * (`server_cpu_us`, `client_cpu_us`): on a shared machine that is steadier than a rate, since
 * other processes' load stretches wall time, not CPU time.
 */
async function measure(label: string, argv: string[], cost?: { server: Started; messages: number }): Promise<Figures> {
  console.error(`bench:peers: ${label}`);
  const serverStartUs = cost === undefined ? 0 : processCpuUs(cost.server.child.pid);
  const serverStart = cost?.server.metricsPort === undefined ? undefined : await scrape(cost.server.metricsPort);
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), workloadTimeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const lines = stdout.trim().split("\n");
  if (exitCode !== 0) throw new Error(`${label}: ${argv.join(" ")} exited with ${exitCode}\n${stdout}${stderr}`);
  const figures = JSON.parse(lines[lines.length - 1]!) as Figures;
  if (cost === undefined) return figures;
  if (cost.server.metricsPort !== undefined) Object.assign(figures, brokerPauses(serverStart!, await scrape(cost.server.metricsPort)));
  const usage = child.resourceUsage();
  const clientUs = usage === undefined ? Number.NaN : Number(usage.cpuTime.user + usage.cpuTime.system);
  figures.server_cpu_us = Number(((processCpuUs(cost.server.child.pid) - serverStartUs) / cost.messages).toFixed(2));
  figures.client_cpu_us = Number((clientUs / cost.messages).toFixed(2));
  return figures;
}

/** The broker's own figures from its /metrics (Prometheus text): unlabelled samples by name. */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(mq_[a-z_]+) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/**
 * The broker's pauses during one workload: its event-loop stalls of 10 ms or more (GC pauses show
 * up there), the collections its heap valve forced, and its JS heap at the end.
 */
function brokerPauses(before: Map<string, number>, after: Map<string, number>): Figures {
  const grown = (name: string) => (after.get(name) ?? Number.NaN) - (before.get(name) ?? Number.NaN);
  return {
    broker_loop_stalls: grown("mq_event_loop_stalls_total"),
    broker_loop_stalled_ms: Math.round(grown("mq_event_loop_stalled_seconds_total") * 1000),
    broker_loop_stall_max_ms: Math.round((after.get("mq_event_loop_stall_max_seconds") ?? Number.NaN) * 1000),
    broker_forced_gcs: grown("mq_heap_forced_collections_total"),
    broker_forced_gc_ms: Math.round(grown("mq_heap_forced_collection_seconds_total") * 1000),
    broker_heap_used_mib: Number(((after.get("mq_heap_used_bytes") ?? Number.NaN) / 2 ** 20).toFixed(1)),
  };
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Started {
  child: ReturnType<typeof Bun.spawn>;
  port: number;
  stderr: () => string;
  /** The HTTP port serving /metrics (mq only). */
  metricsPort?: number;
}

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Spawns a server and waits until `ready` finds its port (from its output or by connecting). */
async function startServer(name: string, argv: string[], ready: (output: string) => Promise<number | undefined>, env?: Record<string, string>): Promise<Started> {
  const child = Bun.spawn(argv, { cwd: work, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const startMs = performance.now();
  for (;;) {
    const port = await ready(output);
    if (port !== undefined) return { child, port, stderr: () => output };
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    if (performance.now() - startMs > serverReadyTimeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not start within ${serverReadyTimeoutMs} ms:\n${output}`);
    }
    await Bun.sleep(20);
  }
}

async function stop(server: Started): Promise<void> {
  process.kill(server.child.pid, "SIGTERM");
  const exited = await Promise.race([server.child.exited, Bun.sleep(10_000).then(() => undefined)]);
  if (exited === undefined) process.kill(server.child.pid, "SIGKILL");
  await server.child.exited;
}

// ---------------------------------------------------------------------------------------------
// Workloads

async function loopbackRoundTrip(client: string): Promise<Figures> {
  const echo = await startServer("echo", [client, "echo"], async (output) => {
    const match = /127\.0\.0\.1:(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  });
  try {
    return await measure("loopback TCP round trip", [client, "rtt", "-addr", `127.0.0.1:${echo.port}`, "-count", String(count.roundTrip)]);
  } finally {
    await stop(echo);
  }
}

async function natsWorkloads(client: string): Promise<Record<string, Figures>> {
  const port = freePort();
  const nats = await startServer("nats-server", ["nats-server", "-js", "-sd", join(work, "nats"), "-a", "127.0.0.1", "-p", String(port)], async () => ((await canConnect(port)) ? port : undefined));
  const url = `nats://127.0.0.1:${port}`;
  const go = (mode: string, ...flags: (string | number)[]) => [client, mode, "-url", url, ...flags.map(String)];
  try {
    return {
      produce128: await measure("NATS produce 128 B", go("produce", "-stream", "P128", "-size", 128, "-count", count.produce, "-window", 4096), { server: nats, messages: count.produce }),
      produce1KiB: await measure("NATS produce 1 KiB", go("produce", "-stream", "P1K", "-size", 1024, "-count", count.produce1KiB, "-window", 4096), { server: nats, messages: count.produce1KiB }),
      consume: await measure("NATS consume", go("consume", "-stream", "P128", "-count", count.produce, "-fetch", 1000), { server: nats, messages: count.produce }),
      latency: await measure("NATS one in flight", go("latency", "-stream", "LAT", "-size", 128, "-count", count.latency)),
      endToEnd: await measure("NATS end to end", go("e2e", "-stream", "E2E", "-size", 128, "-count", count.endToEnd, "-rate", endToEndRatePerSecond)),
    };
  } finally {
    await stop(nats);
  }
}

async function redisWorkload(client: string): Promise<Figures> {
  const port = freePort();
  const argv = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", work, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"];
  const redis = await startServer("redis-server", argv, async () => ((await canConnect(port)) ? port : undefined));
  try {
    const flags = ["-addr", `127.0.0.1:${port}`, "-size", "1024", "-count", String(count.syncFlush), "-producers", String(syncProducers), "-window", String(syncWindowPerProducer)];
    return await measure("Redis XADD, appendfsync always", [client, "xadd", ...flags], { server: redis, messages: count.syncFlush });
  } finally {
    await stop(redis);
  }
}

async function startMq(flush: "async" | "sync"): Promise<Started> {
  const argv = [binary, "start", "--listen", "127.0.0.1", "--port", "0", "--namesrv-port", "0", "--http-port", "0", "--ha-port", "0", "--flush", flush, "--data", join(work, `mq-${flush}`)];
  // A shared machine's disk may be past the 75 % at which retention deletes the oldest files,
  // which would take the messages the consume workload reads: the benchmark's broker waits longer.
  const env = { MQ_DISK_MAX_USED_SPACE_RATIO: "0.98", MQ_DISK_FULL_RATIO: "0.99" };
  const mq = await startServer(`mq (${flush} flush)`, argv, async (output) => {
    const match = /mq ready in .* at 127\.0\.0\.1:(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  }, env);
  const http = /HTTP on 127\.0\.0\.1:(\d+)/.exec(mq.stderr());
  return { ...mq, ...(http ? { metricsPort: Number(http[1]) } : {}) };
}

async function mqWorkloads(): Promise<Record<string, Figures>> {
  const mq = await startMq("async");
  const bench = (mode: string, ...flags: (string | number)[]) => [binary, "bench", mode, "--broker", `127.0.0.1:${mq.port}`, ...flags.map(String)];
  try {
    return {
      produce128: await measure("mq produce 128 B", bench("produce", "--topic", "P128", "--size", 128, "--count", count.produce, "--window", 1000), { server: mq, messages: count.produce }),
      produce1KiB: await measure("mq produce 1 KiB", bench("produce", "--topic", "P1K", "--size", 1024, "--count", count.produce1KiB, "--window", 1000), { server: mq, messages: count.produce1KiB }),
      batch64: await measure("mq sendBatch 64", bench("produce", "--topic", "PB64", "--size", 128, "--count", count.batch, "--batch", 64, "--window", 16), { server: mq, messages: count.batch }),
      consume: await measure("mq consume", bench("consume", "--topic", "P128", "--group", "peers", "--count", count.produce), { server: mq, messages: count.produce }),
      latency: await measure("mq one in flight", bench("latency", "--topic", "LAT", "--size", 128, "--count", count.latency)),
      endToEnd: await measure("mq end to end", bench("latency", "--topic", "E2E", "--size", 128, "--count", count.endToEnd, "--rate", endToEndRatePerSecond)),
    };
  } finally {
    await stop(mq);
  }
}

async function mqSyncFlush(): Promise<Figures> {
  const mq = await startMq("sync");
  try {
    const flags = ["--topic", "SYNC", "--size", "1024", "--count", String(count.syncFlush), "--producers", String(syncProducers), "--window", String(syncProducers * syncWindowPerProducer)];
    return await measure("mq sync flush 1 KiB", [binary, "bench", "produce", "--broker", `127.0.0.1:${mq.port}`, ...flags], { server: mq, messages: count.syncFlush });
  } finally {
    await stop(mq);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Row {
  workload: string;
  peer: string;
  peerValue: number;
  mqValue: number;
  unit: "msgs/s" | "µs";
  /** mq / peer for rates, peer / mq for latencies: above 1 means mq is ahead. */
  target: string;
  met: boolean;
  ratio: number;
}

function throughputRow(workload: string, peer: string, peerValue: number, mqValue: number, targetRatio: number): Row {
  const ratio = mqValue / peerValue;
  return { workload, peer, peerValue, mqValue, unit: "msgs/s", ratio, target: `≥ ${targetRatio} ×`, met: ratio >= targetRatio };
}

function report(figures: { roundTrip: Figures; nats: Record<string, Figures>; redis: Figures; mq: Record<string, Figures>; syncFlush: Figures }): void {
  const { roundTrip, nats, redis, mq, syncFlush } = figures;
  const num = (value: number | string | undefined) => Number(value ?? Number.NaN);
  const mqLatencyP50 = num(mq.latency!.send_p50_us);
  const natsLatencyP50 = num(nats.latency!.p50_us);
  const loopbackP50 = num(roundTrip.p50_us);
  const syncRedisRatio = num(syncFlush.msgs_s) / num(redis.msgs_s);
  const rows: Row[] = [
    throughputRow("produce 128 B (mq window 1,000; NATS 4,096)", "NATS", num(nats.produce128!.msgs_s), num(mq.produce128!.msgs_s), 2),
    throughputRow("produce 1 KiB", "NATS", num(nats.produce1KiB!.msgs_s), num(mq.produce1KiB!.msgs_s), 2),
    throughputRow("produce 128 B, sendBatch 64 (NATS single)", "NATS", num(nats.produce128!.msgs_s), num(mq.batch64!.msgs_s), 5),
    throughputRow("consume 128 B (NATS pull, fetch 1,000)", "NATS", num(nats.consume!.msgs_s), num(mq.consume!.msgs_s), 2),
    { workload: "one in flight, p50 (NATS sync publish)", peer: "NATS", peerValue: natsLatencyP50, mqValue: mqLatencyP50, unit: "µs", ratio: natsLatencyP50 / mqLatencyP50, target: "≥ 2 × (p50 ≤ 0.5 × NATS)", met: mqLatencyP50 <= 0.5 * natsLatencyP50 },
    { workload: "one in flight, p50 vs loopback round trip", peer: "loopback", peerValue: loopbackP50, mqValue: mqLatencyP50, unit: "µs", ratio: loopbackP50 / mqLatencyP50, target: "≥ 0.33 × (p50 ≤ 3 × loopback)", met: mqLatencyP50 <= 3 * loopbackP50 },
    { workload: "end to end at 20,000 msgs/s, p99", peer: "NATS", peerValue: num(nats.endToEnd!.p99_us), mqValue: num(mq.endToEnd!.p99_us), unit: "µs", ratio: num(nats.endToEnd!.p99_us) / num(mq.endToEnd!.p99_us), target: "mq p99 ≤ 5,000 µs", met: num(mq.endToEnd!.p99_us) <= 5_000 },
    { workload: "sync flush 1 KiB, 64 producers (Redis XADD, fsync always)", peer: "Redis", peerValue: num(redis.msgs_s), mqValue: num(syncFlush.msgs_s), unit: "msgs/s", ratio: syncRedisRatio, target: "≥ 3 × or ≥ 50,000 msgs/s", met: syncRedisRatio >= 3 || num(syncFlush.msgs_s) >= 50_000 },
  ];
  const format = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a");
  console.log(`\nmq vs peers on ${new Date().toISOString().slice(0, 10)} (ratio: above 1 means mq is ahead)`);
  console.log("| workload | peer | peer | mq | ratio | target | met |");
  console.log("| --- | --- | ---: | ---: | ---: | --- | --- |");
  for (const row of rows) {
    console.log(`| ${row.workload} | ${row.peer} | ${format(row.peerValue)} ${row.unit} | ${format(row.mqValue)} ${row.unit} | ${row.ratio.toFixed(2)} | ${row.target} | ${row.met ? "yes" : "no"} |`);
  }
  console.log(`loopback TCP round trip p50 ${loopbackP50} µs, p99 ${roundTrip.p99_us} µs; mq one in flight p99 ${mq.latency!.send_p99_us} µs, NATS ${nats.latency!.p99_us} µs; end to end p50 mq ${mq.endToEnd!.p50_us} µs, NATS ${nats.endToEnd!.p50_us} µs`);
  const cpu = (figures: Figures | undefined) => Number(figures?.server_cpu_us ?? Number.NaN) + Number(figures?.client_cpu_us ?? Number.NaN);
  const cpuRows: Array<[string, Figures, Figures]> = [
    ["produce 128 B", nats.produce128!, mq.produce128!],
    ["produce 1 KiB", nats.produce1KiB!, mq.produce1KiB!],
    ["produce 128 B, mq sendBatch 64", nats.produce128!, mq.batch64!],
    ["consume 128 B", nats.consume!, mq.consume!],
    ["sync flush 1 KiB (peer: Redis)", redis, syncFlush],
  ];
  console.log("\nCPU per message, server + load generator (steadier than rates on a shared machine; ratio above 1 means mq spends less)");
  console.log("| workload | peer server + client µs | mq server + client µs | peer / mq |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, peer, ours] of cpuRows) {
    console.log(`| ${name} | ${peer.server_cpu_us} + ${peer.client_cpu_us} | ${ours.server_cpu_us} + ${ours.client_cpu_us} | ${(cpu(peer) / cpu(ours)).toFixed(2)} |`);
  }
  const stalls = Object.entries({ ...mq, syncFlush }).map(([name, run]) => `${name} ${run.loop_stalls ?? "?"} (longest ${run.loop_stall_max_ms ?? "?"} ms)`);
  console.log(`mq load generators' event-loop stalls ≥ 10 ms (GC pauses show up here): ${stalls.join(", ")}`);
  const brokerRuns = Object.entries({ ...mq, syncFlush }).filter(([, run]) => run.broker_loop_stalls !== undefined);
  const broker = brokerRuns.map(([name, run]) => `${name} ${run.broker_loop_stalls} (${run.broker_loop_stalled_ms} ms in all), forced GCs ${run.broker_forced_gcs} (${run.broker_forced_gc_ms} ms), heap ${run.broker_heap_used_mib} MiB`);
  console.log(`mq broker's event-loop stalls ≥ 10 ms per workload (GC pauses show up here), the heap valve's forced collections and its JS heap after: ${broker.length > 0 ? broker.join("; ") : "not reported (no /metrics)"}`);
  const json: Record<string, unknown> = { loopback_rtt_p50_us: loopbackP50, nats, redis, mq: { ...mq, syncFlush } };
  for (const row of rows) json[row.workload] = { peer: row.peerValue, mq: row.mqValue, ratio: Number(row.ratio.toFixed(3)), met: row.met };
  console.log(JSON.stringify(json));
}
