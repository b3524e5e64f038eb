/**
 * Route failover benchmark (`npm run bench:failover`): a producer keeps sending while one of two
 * brokers is SIGKILLed; how long until its throughput is back to ≥ 50 % of the rate before the
 * kill (target ≤ 3 s, issue 4), how many sends fail in the application, and how long until the
 * dead broker leaves the topic route of each NameServer.
 *
 * Cluster, all separate processes on 127.0.0.1, by default of the compiled `dist/mq` (built with
 * scripts/build.ts when missing; --source runs `bun src/cli/main.ts` instead):
 *   2 × `mq start --role namesrv`, 2 × `mq start --role broker,http --namesrv "ns1;ns2"`,
 *   with the short cluster timings of test/helpers/cluster.ts: heartbeat 500 ms, NameServer scan
 *   250 ms, broker expiry 3 s (--expiry-ms), 64 MiB CommitLog files, async flush.
 * Load: topic BenchFailover with 8 queues on each broker (created through the NameServers), one
 * SDK Producer in this process in NameServer mode (default options: send timeout 3 s, 2 retries,
 * latency fault tolerance on, route refresh 30 s), --window sends in flight (default 256), 128 B
 * bodies of fixed bytes. A send that fails reaches the application after the SDK's retries: it is
 * counted by error name and the sender goes on after 1 ms.
 *
 * Timeline: warm-up (--warmup-ms, 3 s, not measured), steady phase (--steady-ms, 10 s: its mean
 * rate is the pre-kill rate), SIGKILL of broker-a exactly at a sample boundary, then --after-ms
 * (12 s) more. Throughput is printed every 250 ms with the share each broker took (decoded from
 * the offsetMsgId's store port). Recovery is reported two ways, from the kill:
 *   recovery_ms            end of the first 250 ms sample at ≥ 50 % of the pre-kill rate after
 *                          the first sample below it (0 when no sample dipped);
 *   recovery_sustained_ms  end of the last sample below 50 %, i.e. from then on every sample held.
 * The first 10 s are also counted in 50 ms buckets (recovery_fine_ms: end of the first bucket at
 * ≥ 50 %, 0 when the first already is — the initial outage), with the longest
 * gap between two acknowledged sends: the stall the application sees.
 * Route: each NameServer is asked for the topic route every 50 ms after the kill until broker-a
 * is gone from it (expected near the expiry + one scan).
 *
 * --freeze sends SIGSTOP instead of SIGKILL: the broker's sockets stay open and silent, as with
 * a dead host or a network partition, so the client learns of it only from timeouts (SIGKILL on
 * the same host closes every connection at once and the SDK retries on the other broker).
 *
 * Flags: --window=N, --warmup-ms=N, --steady-ms=N, --after-ms=N, --expiry-ms=N, --source,
 * --binary=PATH, --freeze. The last line printed is one JSON object of the figures.
 */

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Admin, Producer, isMqError } from "../src/client/index.ts";
import { flagValue, intFlag } from "./bench-args.ts";

const root = resolve(import.meta.dir, "..");
const targets = { recoveryMs: 3_000, recoveryShare: 0.5 } as const;
const sampleMs = 250;
const routePollMs = 50;
const fineMs = 50;
const fineWindowMs = 10_000;
const topic = "BenchFailover";
const queuesPerBroker = 8;
const bodyBytes = 128;

const argv = process.argv.slice(2);



const settings = {
  window: intFlag("window", 256),
  warmupMs: intFlag("warmup-ms", 3_000),
  steadyMs: intFlag("steady-ms", 10_000),
  afterMs: intFlag("after-ms", 12_000),
  expiryMs: intFlag("expiry-ms", 3_000),
  heartbeatMs: 500,
  scanMs: 250,
  source: argv.includes("--source"),
  /** SIGSTOP instead of SIGKILL: a hung host or a partition, where no RST closes the connections. */
  freeze: argv.includes("--freeze"),
  binary: resolve(flagValue("binary") ?? join(root, "dist/mq")),
};

// ---------------------------------------------------------------------------------------------
// Processes

function log(line: string): void {
  console.log(line);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

interface MqProcess {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly child: ReturnType<typeof Bun.spawn<"ignore", "ignore", "pipe">>;
  stderr(): string;
}

const processes: MqProcess[] = [];
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined));

function command(): string[] {
  return settings.source ? [process.execPath, join(root, "src/cli/main.ts")] : [settings.binary];
}

function spawnMq(name: string, port: number, args: readonly string[]): MqProcess {
  const child = Bun.spawn([...command(), "start", ...args], { cwd: root, env: cleanEnv, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text = (text + decoder.decode(chunk, { stream: true })).slice(-65_536);
  })();
  const started: MqProcess = { name, port, address: `127.0.0.1:${port}`, child, stderr: () => text };
  processes.push(started);
  return started;
}

function alive(started: MqProcess): boolean {
  return started.child.exitCode === null && started.child.signalCode === null;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, owner?: MqProcess): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (owner !== undefined && !alive(owner)) throw new Error(`${owner.name} (pid ${owner.child.pid}) exited with ${owner.child.exitCode ?? owner.child.signalCode} while waiting for ${what}:\n${owner.stderr()}`);
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${owner === undefined ? "" : `:\n${owner.stderr()}`}`);
    await Bun.sleep(20);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.end();
          resolvePromise(true);
        },
        data() {},
        connectError() {
          resolvePromise(false);
        },
      },
    }).catch(() => resolvePromise(false));
  });
}

/** Stops every process still running: SIGTERM (exit code checked) or, with `kill`, SIGKILL. */
async function stopAll(kill: boolean): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    processes.map(async (started) => {
      if (alive(started)) {
        try {
          process.kill(started.child.pid, kill ? "SIGKILL" : "SIGTERM");
          if (!kill) process.kill(started.child.pid, "SIGCONT"); // a --freeze victim must run to see the SIGTERM
        } catch {
          // Gone between the check and the signal.
        }
        const timer = setTimeout(() => alive(started) && process.kill(started.child.pid, "SIGKILL"), 10_000);
        const code = await started.child.exited;
        clearTimeout(timer);
        if (!kill && code !== 0) problems.push(`${started.name} (pid ${started.child.pid}) exited with ${code ?? started.child.signalCode} after SIGTERM`);
      }
    }),
  );
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Sample {
  atMs: number; // end of the sample, from the kill (negative before it)
  rate: number;
  byPort: Map<number, number>;
  errors: number;
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { bench: "failover", loadavg_1m_at_start: round(loadavg()[0]!, 2) };
  if (!settings.source && !existsSync(settings.binary)) {
    if (flagValue("binary") !== undefined) throw new Error(`--binary ${settings.binary} does not exist`);
    log(`dist/mq is missing: building it (scripts/build.ts)`);
    const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], { cwd: root, stdout: "inherit", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error(`scripts/build.ts exited with ${build.exitCode}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "mq-bench-failover-"));
  const configFile = join(dir, "mq.yaml");
  writeFileSync(
    configFile,
    Object.entries({
      logLevel: "info",
      commitLogFileBytes: 64 * 1024 * 1024,
      brokerHeartbeatIntervalMs: settings.heartbeatMs,
      namesrvScanIntervalMs: settings.scanMs,
      brokerExpiryMs: settings.expiryMs,
    }).map(([key, value]) => `${key}: ${JSON.stringify(value)}\n`).join(""),
  );
  const runner = settings.source ? `bun src/cli/main.ts (${Bun.version})` : `${settings.binary}`;
  log(`failover: 2 NameServers + 2 brokers as processes of ${runner}; heartbeat ${settings.heartbeatMs} ms, scan ${settings.scanMs} ms, expiry ${settings.expiryMs} ms; load average ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  Object.assign(results, { fault: settings.freeze ? "SIGSTOP" : "SIGKILL", runner: settings.source ? "bun src/cli/main.ts" : "dist/mq", window: settings.window, size: bodyBytes, expiry_ms: settings.expiryMs, heartbeat_ms: settings.heartbeatMs, scan_ms: settings.scanMs });

  let producer: Producer | undefined;
  const admins: Admin[] = [];
  try {
    const namesrvs = [1, 2].map((index) => {
      const port = freePort();
      return spawnMq(`namesrv-${index}`, port, ["--role", "namesrv", "--port", String(port), "--listen", "127.0.0.1", "--config", configFile]);
    });
    const namesrvList = namesrvs.map((started) => started.address).join(";");
    for (const started of namesrvs) await waitFor(`${started.name} to listen`, () => canConnect(started.port), 20_000, started);
    const brokers = ["a", "b"].map((letter) => {
      const port = freePort();
      const httpPort = freePort();
      const broker = spawnMq(`broker-${letter}`, port, [
        "--role", "broker,http",
        "--namesrv", namesrvList,
        "--broker-name", `broker-${letter}`,
        "--port", String(port),
        "--http-port", String(httpPort),
        "--ha-port", "0",
        "--listen", "127.0.0.1",
        "--data", join(dir, `broker-${letter}`),
        "--config", configFile,
      ]);
      return { ...broker, httpPort };
    });
    for (const broker of brokers) {
      await waitFor(`${broker.name} /ready`, async () => (await fetch(`http://127.0.0.1:${broker.httpPort}/ready`)).status === 200, 20_000, broker);
    }
    log(`processes: ${processes.map((started) => `${started.name} pid ${started.child.pid} on ${started.address}`).join(", ")}`);

    for (const started of namesrvs) admins.push(new Admin({ namesrv: started.address }));
    await admins[0]!.createTopic(topic, { queues: queuesPerBroker });
    for (const [index, admin] of admins.entries()) {
      await waitFor(`the route of ${topic} on both brokers at namesrv-${index + 1}`, async () => (await admin.getTopicRoute(topic)).queueDatas.length === 2, 10_000);
    }
    log(`topic ${topic}: ${queuesPerBroker} queues on each of broker-a and broker-b, routed by both NameServers`);

    producer = new Producer({ namesrv: namesrvList, maxInFlight: settings.window });
    await producer.start();
    const body = new Uint8Array(bodyBytes).fill(0x61);

    // Counters read by the sampler.
    let sent = 0;
    let errors = 0;
    const errorsByName = new Map<string, number>();
    const firstErrors: string[] = [];
    let byPort = new Map<number, number>();
    let running = true;
    // Fine view of the first seconds after the kill: acks per 50 ms bucket, and the longest gap
    // between two acks (the stall the application sees).
    const fineBuckets = new Float64Array(Math.ceil(fineWindowMs / fineMs));
    let killedAtMs = Number.NaN;
    let lastAckMs = Number.NaN;
    let longestGapMs = 0;

    const sender = async (): Promise<void> => {
      while (running) {
        try {
          const result = await producer!.send({ topic, body });
          sent += 1;
          if (!Number.isNaN(killedAtMs)) {
            const nowMs = performance.now();
            const bucket = Math.floor((nowMs - killedAtMs) / fineMs);
            if (bucket < fineBuckets.length) {
              fineBuckets[bucket]! += 1;
              longestGapMs = Math.max(longestGapMs, nowMs - (Number.isNaN(lastAckMs) || lastAckMs < killedAtMs ? killedAtMs : lastAckMs));
              lastAckMs = nowMs;
            }
          }
          const port = Number.parseInt(result.offsetMsgId.slice(8, 16), 16);
          byPort.set(port, (byPort.get(port) ?? 0) + 1);
        } catch (error) {
          errors += 1;
          const name = isMqError(error) ? error.errorName : (error as Error).name;
          errorsByName.set(name, (errorsByName.get(name) ?? 0) + 1);
          if (firstErrors.length < 3) firstErrors.push((error as Error).message);
          await Bun.sleep(1);
        }
      }
    };
    const senders = Array.from({ length: settings.window }, sender);

    // Sampler: one tick every 250 ms; the kill happens on a tick, so samples after it start at the kill.
    const samples: Sample[] = [];
    const victim = brokers[0]!;
    let killAtMs = Number.NaN;
    const startMs = performance.now();
    const steadyStartMs = startMs + settings.warmupMs;
    const killDueMs = steadyStartMs + settings.steadyMs;
    const endMs = killDueMs + settings.afterMs;
    let lastTickMs = startMs;
    let lastSent = 0;
    let lastErrors = 0;
    let tick = 0;
    const routeDrops: Promise<number>[] = [];
    log(`\nproducer: window ${settings.window}, ${bodyBytes} B bodies; warm-up ${settings.warmupMs / 1000} s, steady ${settings.steadyMs / 1000} s, ${settings.freeze ? "SIGSTOP" : "SIGKILL"} broker-a, then ${settings.afterMs / 1000} s`);
    while (true) {
      tick += 1;
      const dueMs = startMs + tick * sampleMs;
      await Bun.sleep(Math.max(0, dueMs - performance.now()));
      const nowMs = performance.now();
      const intervalMs = nowMs - lastTickMs;
      const rate = ((sent - lastSent) * 1000) / intervalMs;
      const split = byPort;
      byPort = new Map();
      const sampleErrors = errors - lastErrors;
      lastSent = sent;
      lastErrors = errors;
      lastTickMs = nowMs;
      const relativeMs = Number.isNaN(killAtMs) ? nowMs - killDueMs : nowMs - killAtMs;
      const phase = nowMs <= steadyStartMs + 1 ? "warm-up" : Number.isNaN(killAtMs) ? "steady" : "after kill";
      if (phase !== "warm-up") samples.push({ atMs: relativeMs, rate, byPort: split, errors: sampleErrors });
      const shares = brokers.map((broker) => `${broker.name} ${formatCount(((split.get(broker.port) ?? 0) * 1000) / intervalMs)}`).join(", ");
      log(`  t ${(relativeMs / 1000).toFixed(2).padStart(6)} s  ${formatCount(rate).padStart(7)} msgs/s  (${shares})  errors ${sampleErrors}  [${phase}]`);
      if (Number.isNaN(killAtMs) && nowMs >= killDueMs - 1) {
        process.kill(victim.child.pid, settings.freeze ? "SIGSTOP" : "SIGKILL");
        killAtMs = performance.now();
        killedAtMs = killAtMs;
        log(`  --- ${settings.freeze ? "SIGSTOP" : "SIGKILL"} broker-a (pid ${victim.child.pid}) ---`);
        for (const [index, admin] of admins.entries()) {
          routeDrops.push(
            (async () => {
              for (;;) {
                const route = await admin.getTopicRoute(topic).catch(() => undefined);
                if (route !== undefined && !route.brokerDatas.some((brokerData) => brokerData.brokerName === victim.name)) return performance.now() - killAtMs;
                if (performance.now() - killAtMs > settings.expiryMs * 4 + 10_000) return Number.NaN;
                await Bun.sleep(routePollMs);
              }
            })().then((ms) => {
              log(`  --- broker-a left the route of namesrv-${index + 1} after ${Number.isNaN(ms) ? "never" : `${ms.toFixed(0)} ms`} ---`);
              return ms;
            }),
          );
        }
      }
      if (nowMs >= endMs) break;
    }
    running = false;
    await Promise.all(senders);
    if (settings.freeze) process.kill(victim.child.pid, "SIGKILL");
    // A stall still open at the end of the fine window counts up to it.
    longestGapMs = Math.max(longestGapMs, killedAtMs + fineWindowMs - (Number.isNaN(lastAckMs) ? killedAtMs : lastAckMs));
    const routeDropMs = await Promise.all(routeDrops);

    // Figures.
    const steady = samples.filter((sample) => sample.atMs <= 0);
    const after = samples.filter((sample) => sample.atMs > 0);
    const preRate = steady.reduce((total, sample) => total + sample.rate, 0) / Math.max(1, steady.length);
    const threshold = preRate * targets.recoveryShare;
    const firstDip = after.findIndex((sample) => sample.rate < threshold);
    let recoveryMs = 0;
    if (firstDip >= 0) {
      const back = after.slice(firstDip).find((sample) => sample.rate >= threshold);
      recoveryMs = back === undefined ? Number.NaN : back.atMs;
    }
    const lastBelow = [...after].reverse().find((sample) => sample.rate < threshold);
    const sustainedMs = lastBelow === undefined ? 0 : after.indexOf(lastBelow) === after.length - 1 ? Number.NaN : after[after.indexOf(lastBelow) + 1]!.atMs;
    const minAfter = after.reduce((low, sample) => Math.min(low, sample.rate), Number.POSITIVE_INFINITY);
    const firstSecond = after.filter((sample) => sample.atMs <= 1000 + 1);
    const firstSecondRate = firstSecond.reduce((total, sample) => total + sample.rate, 0) / Math.max(1, firstSecond.length);
    const tail = after.filter((sample) => sample.atMs > settings.afterMs / 2);
    const tailRate = tail.reduce((total, sample) => total + sample.rate, 0) / Math.max(1, tail.length);
    const errorsAfterKill = after.reduce((total, sample) => total + sample.errors, 0);
    const errorsSummary = [...errorsByName.entries()].map(([name, count]) => `${name} ${count}`).join(", ") || "none";
    // The initial outage at 50 ms resolution: the end of the first bucket at ≥ 50 % (0 when the
    // first one already is). Later single buckets below it are noise at ~3,000 msgs a bucket.
    const fineRates = [...fineBuckets].map((count) => (count * 1000) / fineMs);
    const fineBack = fineRates.findIndex((rate) => rate >= threshold);
    const fineRecoveryMs = fineBack < 0 ? Number.NaN : fineBack === 0 ? 0 : (fineBack + 1) * fineMs;
    const met = !Number.isNaN(recoveryMs) && recoveryMs <= targets.recoveryMs && !Number.isNaN(fineRecoveryMs) && fineRecoveryMs <= targets.recoveryMs;

    log(`\npre-kill rate (steady phase mean): ${formatCount(preRate)} msgs/s; 50 % threshold ${formatCount(threshold)} msgs/s`);
    log(`after the kill: lowest 250 ms sample ${formatCount(minAfter)} msgs/s; first second ${formatCount(firstSecondRate)} msgs/s; second half ${formatCount(tailRate)} msgs/s (${(tailRate / preRate * 100).toFixed(0)} % of before, one broker left)`);
    log(`recovery to ≥ 50 %: ${firstDip < 0 ? "no sample dipped below 50 %" : Number.isNaN(recoveryMs) ? "never" : `${recoveryMs.toFixed(0)} ms`}; sustained from ${Number.isNaN(sustainedMs) ? "never" : `${sustainedMs.toFixed(0)} ms`}; target ≤ ${targets.recoveryMs} ms: ${met ? "MET" : "MISSED"} (250 ms samples: resolution 250 ms)`);
    log(`first second after the kill, msgs/s per 50 ms: ${fineRates.slice(0, 20).map((rate) => formatCount(rate)).join(" ")}`);
    log(`  at 50 ms resolution: ${Number.isNaN(fineRecoveryMs) ? "no bucket at ≥ 50 % within ${fineWindowMs / 1000} s" : fineRecoveryMs === 0 ? "the first 50 ms after the kill already at ≥ 50 %" : `first 50 ms bucket at ≥ 50 % ends at ${fineRecoveryMs} ms`}; longest gap between two acks in the first ${fineWindowMs / 1000} s: ${longestGapMs.toFixed(1)} ms`);
    log(`send errors seen by the application: ${errors} (${errorsSummary}); ${errorsAfterKill} after the kill${firstErrors.length > 0 ? `; first: ${firstErrors.join(" | ")}` : ""}`);
    log(`broker-a left the topic route: ${routeDropMs.map((ms, index) => `namesrv-${index + 1} after ${Number.isNaN(ms) ? "never" : `${ms.toFixed(0)} ms`}`).join(", ")} (expiry ${settings.expiryMs} ms, scan ${settings.scanMs} ms)`);
    log(`messages acknowledged: ${formatCount(sent)}`);

    Object.assign(results, {
      pre_kill_msgs_s: Math.round(preRate),
      min_sample_after_kill_msgs_s: Math.round(minAfter),
      first_second_after_kill_msgs_s: Math.round(firstSecondRate),
      after_kill_msgs_s: Math.round(tailRate),
      recovery_ms: Number.isNaN(recoveryMs) ? null : Math.round(recoveryMs),
      recovery_sustained_ms: Number.isNaN(sustainedMs) ? null : Math.round(sustainedMs),
      sample_ms: sampleMs,
      recovery_fine_ms: Number.isNaN(fineRecoveryMs) ? null : fineRecoveryMs,
      fine_ms: fineMs,
      longest_ack_gap_ms: round(longestGapMs, 1),
      send_errors: errors,
      send_errors_after_kill: errorsAfterKill,
      send_errors_by_name: Object.fromEntries(errorsByName),
      route_drop_ms: routeDropMs.map((ms) => (Number.isNaN(ms) ? null : Math.round(ms))),
      acked: sent,
      target_recovery_ms: targets.recoveryMs,
      recovery_met: met,
    });
  } finally {
    await producer?.shutdown().catch(() => {});
    for (const admin of admins) await admin.close().catch(() => {});
    const problems = await stopAll(false);
    for (const problem of problems) log(`warning: ${problem}`);
    rmSync(dir, { recursive: true, force: true });
  }
  results.loadavg_1m_at_end = round(loadavg()[0]!, 2);
  console.log(JSON.stringify(results));
}

process.once("SIGINT", () => {
  void stopAll(true).then(() => process.exit(130));
});
try {
  await main();
} catch (error) {
  await stopAll(true);
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
}
