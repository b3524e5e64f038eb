/**
 * Start-up benchmark (`npm run bench:startup`): how fast the compiled `dist/mq start` (role all:
 * NameServer + broker + HTTP in one process) answers `GET /ready` with 200 on an empty data dir,
 * and how much resident memory it holds once idle. Targets (issue 4): ready ≤ 100 ms, idle
 * RSS ≤ 80 MiB.
 *
 * Each of --runs runs (default 10): a fresh temporary data dir, ports free right now for
 * --port, --namesrv-port and --http-port (--ha-port 0, --listen 127.0.0.1). Measured:
 *   ready_ms   spawn() to the first `/ready` answering 200, polled every 2 ms (the poll's own
 *              cost, a refused connect, is ~0.1 ms, so the figure is at most ~2 ms late);
 *   inner_ms   the process's own "mq ready in N ms" (startServer: store open, NameServer, broker,
 *              HTTP), so ready_ms - inner_ms is executable load + runtime boot + module
 *              evaluation + config;
 *   rss        VmRSS (with RssAnon / RssFile) from /proc/<pid>/status 3 s after ready (idle) and
 *              10 s after ready;
 *   stop       SIGTERM to exit, which must be code 0.
 * Where idle RSS goes is broken down from /proc/<pid>/smaps of the last run: the executable's
 * own pages (file-backed: the 100+ MiB binary is mapped and the parts touched at start are
 * resident), CommitLog pages (file-backed: the store warms a window of the first file ahead of
 * the writer), other store files, and anonymous memory (JS heap, allocator arenas, thread stacks).
 *
 * Also timed: `mq --version` from spawn to exit (exec, runtime boot and evaluation of every
 * module the CLI imports, no server), which splits the time before startServer.
 *
 * Baselines, same method in the same run: a minimal program compiled with the same flags
 * (`bun build --compile --minify --bytecode`) that only serves `/ready` with Bun.serve — the
 * floor any Bun executable pays — and the same with 2 idle Workers (the store runs a flush and
 * an allocator thread; each Worker is a JS VM of its own). And, unless --no-heap, a heap probe: the same server started
 * in a `bun` child from source, reporting `bun:jsc` heapStats and process.memoryUsage() after
 * 3 s idle (the JS heap share of the anonymous memory).
 *
 * Flags: --runs=N (default 10), --binary=PATH (default dist/mq, built with scripts/build.ts
 * when missing), --late-ms=N (second RSS sample, default 10000), --no-baseline, --no-heap.
 * The last line printed is one JSON object of the figures.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { flagValue, intFlag } from "./bench-args.ts";

const root = resolve(import.meta.dir, "..");
const KiB = 1024;
const targets = { readyMs: 100, idleRssMiB: 80 } as const;
const pollIntervalMs = 2;
const readyTimeoutMs = 20_000;
const idleMs = 3_000;

const argv = process.argv.slice(2);



const settings = {
  runs: intFlag("runs", 10),
  lateMs: intFlag("late-ms", 10_000),
  binary: resolve(flagValue("binary") ?? join(root, "dist/mq")),
  baseline: !argv.includes("--no-baseline"),
  heap: !argv.includes("--no-heap"),
};

// ---------------------------------------------------------------------------------------------
// Helpers

function log(line: string): void {
  console.log(line);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function mib(kib: number): number {
  return round(kib / KiB, 1);
}

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/** min / p50 / max of a list (p50 = the lower middle). */
function spread(values: readonly number[]): { min: number; p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? 0, p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

function verdict(ok: boolean): string {
  return ok ? "MET" : "MISSED";
}

interface MemoryStatus {
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
  shmemKiB: number;
  threads: number;
}

function memoryStatus(pid: number): MemoryStatus {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? Number.NaN);
  return { rssKiB: field("VmRSS"), anonKiB: field("RssAnon"), fileKiB: field("RssFile"), shmemKiB: field("RssShmem"), threads: field("Threads") };
}

interface MappingGroup {
  rssKiB: number;
  anonKiB: number;
  privateDirtyKiB: number;
  mappings: number;
}

/** Sums /proc/<pid>/smaps by what each mapping is: the executable, store files, libraries, anonymous. */
function smapsBreakdown(pid: number, executable: string, dataDir: string): Map<string, MappingGroup> {
  const groups = new Map<string, MappingGroup>();
  let current: MappingGroup | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const path = header[1]!.trim();
      let name: string;
      if (path === "") name = "anonymous (JS heap, allocator arenas, thread stacks)";
      else if (path === executable || path.endsWith(" (deleted)") && path.startsWith(executable)) name = "executable (mapped binary)";
      else if (path.startsWith(dataDir)) name = `store: ${path.slice(dataDir.length + 1).replace(/\/[^/]+$/, "/*").replace(/^(consumequeue)\/.*/, "$1/*")}`;
      else if (path.startsWith("[")) name = path;
      else if (path.startsWith("/dev/") || path.startsWith("/memfd:")) name = path.replace(/\s*\(deleted\)$/, "");
      else name = `library: ${path.replace(/^.*\//, "")}`;
      current = groups.get(name);
      if (current === undefined) {
        current = { rssKiB: 0, anonKiB: 0, privateDirtyKiB: 0, mappings: 0 };
        groups.set(name, current);
      }
      current.mappings += 1;
      continue;
    }
    if (current === undefined) continue;
    const field = /^(Rss|Anonymous|Private_Dirty):\s+(\d+) kB/.exec(line);
    if (field === null) continue;
    const kib = Number(field[2]);
    if (field[1] === "Rss") current.rssKiB += kib;
    else if (field[1] === "Anonymous") current.anonKiB += kib;
    else current.privateDirtyKiB += kib;
  }
  return groups;
}

type Child = ReturnType<typeof Bun.spawn<"ignore", "ignore", "pipe">>;

function collectStderr(child: Child): () => string {
  let text = "";
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text = (text + decoder.decode(chunk, { stream: true })).slice(-65_536);
  })();
  return () => text;
}

/** Polls `/ready` every 2 ms until it answers 200; resolves with { first answer, 200 } times from `startMs`. */
async function waitReady(child: Child, httpPort: number, startMs: number, stderr: () => string): Promise<{ firstAnswerMs: number; readyMs: number; polls: number }> {
  let firstAnswerMs = Number.NaN;
  let polls = 0;
  for (;;) {
    polls += 1;
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/ready`);
      const nowMs = performance.now();
      await response.arrayBuffer();
      if (Number.isNaN(firstAnswerMs)) firstAnswerMs = nowMs - startMs;
      if (response.status === 200) return { firstAnswerMs, readyMs: nowMs - startMs, polls };
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Process ${child.pid} exited with ${child.exitCode ?? child.signalCode} before /ready answered 200:\n${stderr()}`);
    if (performance.now() - startMs > readyTimeoutMs) throw new Error(`Process ${child.pid}: /ready did not answer 200 within ${readyTimeoutMs} ms:\n${stderr()}`);
    await Bun.sleep(pollIntervalMs);
  }
}

/** SIGTERM, then the exit code and how long the exit took (SIGKILL after 10 s). */
async function stopChild(child: Child): Promise<{ code: number | null; signal: string | number | null; stopMs: number }> {
  const startMs = performance.now();
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await child.exited;
  clearTimeout(timer);
  return { code: child.exitCode, signal: child.signalCode, stopMs: performance.now() - startMs };
}

/** Sleeps until `atMs` (a performance.now() time). */
async function sleepUntil(atMs: number): Promise<void> {
  const waitMs = atMs - performance.now();
  if (waitMs > 0) await Bun.sleep(waitMs);
}

// ---------------------------------------------------------------------------------------------
// Runs

interface RunFigures {
  readyMs: number;
  firstAnswerMs: number;
  innerMs: number;
  polls: number;
  idle: MemoryStatus;
  late: MemoryStatus | undefined;
  stopMs: number;
  exitCode: number | null;
  breakdown: Map<string, MappingGroup>;
}

const cleanEnv = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("MQ_") && entry[1] !== undefined));
const running = new Set<Child>();

async function runMq(run: number): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), "mq-bench-startup-"));
  const dataDir = join(dir, "data");
  const httpPort = freePort();
  const args = [
    settings.binary, "start",
    "--data", dataDir,
    "--port", String(freePort()),
    "--namesrv-port", String(freePort()),
    "--http-port", String(httpPort),
    "--ha-port", "0",
    "--listen", "127.0.0.1",
  ];
  try {
    const startMs = performance.now();
    const child = Bun.spawn(args, { cwd: dir, env: cleanEnv, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    running.add(child);
    const stderr = collectStderr(child);
    try {
      const ready = await waitReady(child, httpPort, startMs, stderr);
      const readyAtMs = startMs + ready.readyMs;
      await sleepUntil(readyAtMs + idleMs);
      const idle = memoryStatus(child.pid);
      const breakdown = smapsBreakdown(child.pid, settings.binary, dataDir);
      let late: MemoryStatus | undefined;
      if (settings.lateMs > idleMs) {
        await sleepUntil(readyAtMs + settings.lateMs);
        late = memoryStatus(child.pid);
      }
      const stopped = await stopChild(child);
      const inner = /mq ready in (\d+(?:\.\d+)?) ms/.exec(stderr());
      const figures: RunFigures = {
        readyMs: ready.readyMs,
        firstAnswerMs: ready.firstAnswerMs,
        innerMs: inner === null ? Number.NaN : Number(inner[1]),
        polls: ready.polls,
        idle,
        late,
        stopMs: stopped.stopMs,
        exitCode: stopped.code,
        breakdown,
      };
      log(
        `run ${String(run).padStart(2)}: ready ${figures.readyMs.toFixed(1)} ms (in-process start ${figures.innerMs} ms, ${figures.polls} polls); ` +
          `RSS +3 s ${mib(idle.rssKiB)} MiB (anon ${mib(idle.anonKiB)}, file ${mib(idle.fileKiB)}, ${idle.threads} threads)` +
          (late === undefined ? "" : `; +${settings.lateMs / 1000} s ${mib(late.rssKiB)} MiB (anon ${mib(late.anonKiB)}, file ${mib(late.fileKiB)})`) +
          `; SIGTERM → exit ${stopped.code ?? stopped.signal} in ${stopped.stopMs.toFixed(0)} ms`,
      );
      if (stopped.code !== 0) throw new Error(`Run ${run}: mq exited with ${stopped.code ?? stopped.signal} after SIGTERM, expected 0:\n${stderr()}`);
      return figures;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await child.exited;
      running.delete(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Compiles a baseline: a program that serves /ready with Bun.serve and exits 0 on SIGTERM; with
 * `workers`, it also starts that many idle Workers first, as the store starts its flush and
 * allocator threads (the workers are extra entry points, as in scripts/build.ts).
 */
function buildBaseline(dir: string, workers: number): string {
  const source = join(dir, `baseline-${workers}.ts`);
  writeFileSync(join(dir, "idle-worker.ts"), `self.onmessage = () => {};\n`);
  writeFileSync(
    source,
    [
      `const started: Worker[] = [];`,
      `for (let index = 0; index < ${workers}; index++) started.push(new Worker(new URL("./idle-worker.ts", import.meta.url).href));`,
      `const port = Number(process.argv[2]);`,
      `const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response("ready") });`,
      `process.once("SIGTERM", () => { server.stop(true); for (const worker of started) worker.terminate(); process.exit(0); });`,
    ].join("\n"),
  );
  const outfile = join(dir, `baseline-${workers}`);
  const entries = workers > 0 ? [source, join(dir, "idle-worker.ts")] : [source];
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", "--bytecode", ...entries, "--outfile", outfile], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`Cannot compile the baseline: bun build exited with ${build.exitCode}: ${build.stderr.toString()}`);
  return outfile;
}

async function runBaseline(binary: string): Promise<{ readyMs: number; idle: MemoryStatus }> {
  const httpPort = freePort();
  const startMs = performance.now();
  const child = Bun.spawn([binary, String(httpPort)], { env: cleanEnv, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  running.add(child);
  const stderr = collectStderr(child);
  try {
    const ready = await waitReady(child, httpPort, startMs, stderr);
    await sleepUntil(startMs + ready.readyMs + idleMs);
    const idle = memoryStatus(child.pid);
    const stopped = await stopChild(child);
    if (stopped.code !== 0) throw new Error(`Baseline exited with ${stopped.code ?? stopped.signal} after SIGTERM:\n${stderr()}`);
    return { readyMs: ready.readyMs, idle };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await child.exited;
    running.delete(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Heap probe: the same server in a `bun` child from source, reporting its own heap after 3 s idle.

interface HeapReport {
  heapSizeMiB: number;
  heapCapacityMiB: number;
  extraMemoryMiB: number;
  objectCount: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  topTypes: [string, number][];
}

async function heapProbeChild(): Promise<void> {
  const dir = argv[argv.indexOf("--heap-probe") + 1]!;
  const { loadConfig } = await import("../src/config/load-config.ts");
  const { createLogger } = await import("../src/common/logger.ts");
  const { startServer } = await import("../src/server.ts");
  const { heapStats } = await import("bun:jsc");
  const config = loadConfig({
    env: {},
    flags: { dataDir: join(dir, "data"), port: "0", namesrvPort: "0", httpPort: String(freePort()), haPort: "0", listen: "127.0.0.1" },
  });
  const server = await startServer(config, createLogger({ level: "warn" }));
  await Bun.sleep(idleMs);
  Bun.gc(true);
  const stats = heapStats();
  const usage = process.memoryUsage();
  const toMiB = (bytes: number) => round(bytes / (1024 * 1024), 1);
  const report: HeapReport = {
    heapSizeMiB: toMiB(stats.heapSize),
    heapCapacityMiB: toMiB(stats.heapCapacity),
    extraMemoryMiB: toMiB(stats.extraMemorySize),
    objectCount: stats.objectCount,
    rssMiB: toMiB(usage.rss),
    heapUsedMiB: toMiB(usage.heapUsed),
    heapTotalMiB: toMiB(usage.heapTotal),
    externalMiB: toMiB(usage.external),
    arrayBuffersMiB: toMiB(usage.arrayBuffers),
    topTypes: Object.entries(stats.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 6),
  };
  await server.stop();
  console.log(JSON.stringify(report));
  process.exit(0);
}

async function runHeapProbe(): Promise<HeapReport | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "mq-bench-heap-"));
  try {
    const child = Bun.spawn([process.execPath, import.meta.path, "--heap-probe", dir], { cwd: root, env: cleanEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) {
      log(`heap probe failed (exit ${code}): ${err.trim().split("\n").slice(-3).join(" | ")}`);
      return undefined;
    }
    return JSON.parse(out.trim().split("\n").pop()!) as HeapReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const results: Record<string, unknown> = { bench: "startup", runs: settings.runs, loadavg_1m_at_start: round(loadavg()[0]!, 2) };
  if (!existsSync(settings.binary)) {
    if (flagValue("binary") !== undefined) throw new Error(`--binary ${settings.binary} does not exist`);
    log(`dist/mq is missing: building it (scripts/build.ts)`);
    const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], { cwd: root, stdout: "inherit", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error(`scripts/build.ts exited with ${build.exitCode}`);
  }
  const binarySize = Bun.file(settings.binary).size;
  log(`mq start (role all) on an empty data dir: ${settings.binary} (${mib(binarySize / KiB)} MiB), ${settings.runs} runs, /ready polled every ${pollIntervalMs} ms; load average ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
  results.binary_mib = mib(binarySize / KiB);

  const versionMs: number[] = [];
  for (let run = 0; run < settings.runs; run++) {
    const startMs = performance.now();
    const child = Bun.spawn([settings.binary, "--version"], { env: cleanEnv, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const code = await child.exited;
    if (code !== 0) throw new Error(`${settings.binary} --version exited with ${code}`);
    versionMs.push(performance.now() - startMs);
  }
  const version = spread(versionMs);
  log(`mq --version, spawn to exit (exec + runtime boot + module evaluation): min ${version.min.toFixed(1)} ms, p50 ${version.p50.toFixed(1)} ms, max ${version.max.toFixed(1)} ms`);
  results.version_exit_ms_p50 = round(version.p50, 1);

  const runs: RunFigures[] = [];
  for (let run = 1; run <= settings.runs; run++) runs.push(await runMq(run));

  const ready = spread(runs.map((run) => run.readyMs));
  const inner = spread(runs.map((run) => run.innerMs));
  const boot = spread(runs.map((run) => run.readyMs - run.innerMs));
  const idleRss = spread(runs.map((run) => run.idle.rssKiB));
  const idleAnon = spread(runs.map((run) => run.idle.anonKiB));
  const idleFile = spread(runs.map((run) => run.idle.fileKiB));
  const late = runs.every((run) => run.late !== undefined) ? spread(runs.map((run) => run.late!.rssKiB)) : undefined;
  const lateAnon = runs.every((run) => run.late !== undefined) ? spread(runs.map((run) => run.late!.anonKiB)) : undefined;
  const stop = spread(runs.map((run) => run.stopMs));

  log(`\nready (spawn → /ready 200): min ${ready.min.toFixed(1)} ms, p50 ${ready.p50.toFixed(1)} ms, max ${ready.max.toFixed(1)} ms; target ≤ ${targets.readyMs} ms: ${verdict(ready.p50 <= targets.readyMs)} (p50)${ready.max > targets.readyMs && ready.p50 <= targets.readyMs ? `, max over by ${(ready.max - targets.readyMs).toFixed(1)} ms` : ""}${ready.p50 > targets.readyMs ? `, over by ${(ready.p50 - targets.readyMs).toFixed(1)} ms` : ""}`);
  log(`  of which in-process start (startServer: store, NameServer, broker, HTTP): min ${inner.min} ms, p50 ${inner.p50} ms, max ${inner.max} ms`);
  log(`  and before it (exec, runtime boot, module evaluation, config, log line to /ready answer): min ${boot.min.toFixed(1)} ms, p50 ${boot.p50.toFixed(1)} ms, max ${boot.max.toFixed(1)} ms`);
  log(`idle RSS 3 s after ready: min ${mib(idleRss.min)} MiB, p50 ${mib(idleRss.p50)} MiB, max ${mib(idleRss.max)} MiB (p50 anon ${mib(idleAnon.p50)}, file-backed ${mib(idleFile.p50)}); target ≤ ${targets.idleRssMiB} MiB: ${verdict(idleRss.p50 / KiB <= targets.idleRssMiB)}${idleRss.p50 / KiB > targets.idleRssMiB ? `, over by ${mib(idleRss.p50 - targets.idleRssMiB * KiB)} MiB` : ""}`);
  if (late !== undefined) log(`RSS ${settings.lateMs / 1000} s after ready: min ${mib(late.min)} MiB, p50 ${mib(late.p50)} MiB, max ${mib(late.max)} MiB (p50 anon ${mib(lateAnon!.p50)})`);
  log(`SIGTERM → exit 0: p50 ${stop.p50.toFixed(0)} ms, max ${stop.max.toFixed(0)} ms`);

  const last = runs[runs.length - 1]!;
  log(`\nidle RSS of run ${runs.length} by mapping (/proc/<pid>/smaps, 3 s after ready; MiB):`);
  const groups = [...last.breakdown.entries()].filter(([, group]) => group.rssKiB > 0).sort((a, b) => b[1].rssKiB - a[1].rssKiB);
  for (const [name, group] of groups.slice(0, 12)) {
    log(`  ${mib(group.rssKiB).toFixed(1).padStart(6)}  ${name} (${group.mappings} mappings; anonymous ${mib(group.anonKiB)}, private dirty ${mib(group.privateDirtyKiB)})`);
  }
  const sumWhere = (test: (name: string) => boolean) => groups.filter(([name]) => test(name)).reduce((total, [, group]) => total + group.rssKiB, 0);
  const breakdown = {
    executable_mib: mib(sumWhere((name) => name.startsWith("executable"))),
    commitlog_mib: mib(sumWhere((name) => name.startsWith("store: commitlog"))),
    other_store_mib: mib(sumWhere((name) => name.startsWith("store:") && !name.startsWith("store: commitlog"))),
    anonymous_mib: mib(sumWhere((name) => name.startsWith("anonymous") || name === "[heap]" || name.startsWith("[anon"))),
    libraries_mib: mib(sumWhere((name) => name.startsWith("library:"))),
    stacks_mib: mib(sumWhere((name) => name.startsWith("[stack"))),
  };
  log(`  = executable ${breakdown.executable_mib}, CommitLog ${breakdown.commitlog_mib}, other store files ${breakdown.other_store_mib}, anonymous + [heap] ${breakdown.anonymous_mib}, libraries ${breakdown.libraries_mib}, main stack ${breakdown.stacks_mib}`);

  Object.assign(results, {
    ready_ms_min: round(ready.min, 1),
    ready_ms_p50: round(ready.p50, 1),
    ready_ms_max: round(ready.max, 1),
    inner_start_ms_p50: inner.p50,
    boot_ms_p50: round(boot.p50, 1),
    idle_rss_mib_min: mib(idleRss.min),
    idle_rss_mib_p50: mib(idleRss.p50),
    idle_rss_mib_max: mib(idleRss.max),
    idle_anon_mib_p50: mib(idleAnon.p50),
    idle_file_mib_p50: mib(idleFile.p50),
    ...(late === undefined ? {} : { late_rss_mib_p50: mib(late.p50), late_rss_mib_max: mib(late.max), late_anon_mib_p50: mib(lateAnon!.p50), late_after_s: settings.lateMs / 1000 }),
    threads: last.idle.threads,
    stop_ms_p50: round(stop.p50, 0),
    idle_breakdown: breakdown,
    target_ready_ms: targets.readyMs,
    target_idle_rss_mib: targets.idleRssMiB,
    ready_met: ready.p50 <= targets.readyMs,
    idle_rss_met: idleRss.p50 / KiB <= targets.idleRssMiB,
  });

  if (settings.baseline) {
    const dir = mkdtempSync(join(tmpdir(), "mq-bench-baseline-"));
    try {
      const baselineRuns = Math.min(5, settings.runs);
      log(`\nbaselines, compiled with the same flags, ${baselineRuns} runs each:`);
      for (const workers of [0, 2]) {
        const binary = buildBaseline(dir, workers);
        const baseline: { readyMs: number; idle: MemoryStatus }[] = [];
        for (let run = 0; run < baselineRuns; run++) baseline.push(await runBaseline(binary));
        const baseReady = spread(baseline.map((run) => run.readyMs));
        const baseRss = spread(baseline.map((run) => run.idle.rssKiB));
        const baseAnon = spread(baseline.map((run) => run.idle.anonKiB));
        const baseFile = spread(baseline.map((run) => run.idle.fileKiB));
        log(`  Bun.serve answering /ready${workers > 0 ? ` + ${workers} idle Workers` : ""}: ready p50 ${baseReady.p50.toFixed(1)} ms (min ${baseReady.min.toFixed(1)}, max ${baseReady.max.toFixed(1)}); idle RSS p50 ${mib(baseRss.p50)} MiB (anon ${mib(baseAnon.p50)}, file ${mib(baseFile.p50)}, ${baseline[0]!.idle.threads} threads); binary ${mib(Bun.file(binary).size / KiB)} MiB`);
        log(`    mq over it: ready +${(ready.p50 - baseReady.p50).toFixed(1)} ms, RSS +${mib(idleRss.p50 - baseRss.p50)} MiB (anon +${mib(idleAnon.p50 - baseAnon.p50)}, file +${mib(idleFile.p50 - baseFile.p50)})`);
        const key = workers === 0 ? "baseline" : `baseline_${workers}_workers`;
        Object.assign(results, {
          [`${key}_ready_ms_p50`]: round(baseReady.p50, 1),
          [`${key}_idle_rss_mib_p50`]: mib(baseRss.p50),
          [`${key}_idle_anon_mib_p50`]: mib(baseAnon.p50),
          [`${key}_idle_file_mib_p50`]: mib(baseFile.p50),
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (settings.heap) {
    log(`\nheap probe: the same server from source in a bun child, after ${idleMs / 1000} s idle and a full GC`);
    const heap = await runHeapProbe();
    if (heap !== undefined) {
      // heapSize counts "extra" memory owned outside the GC heap; here that is mostly the ArrayBuffer
      // views over mmapped CommitLog/store files, address space rather than resident memory.
      log(`  JSC heap ${heap.heapSizeMiB} MiB of which ${heap.extraMemoryMiB} MiB "extra" (outside the GC heap: ${heap.arrayBuffersMiB} MiB are ArrayBuffers, i.e. the views over mmapped store files, not resident) → JS objects ≈ ${round(heap.heapSizeMiB - heap.extraMemoryMiB, 1)} MiB in ${heap.objectCount.toLocaleString("en-US")} objects; heapTotal ${heap.heapTotalMiB} MiB; RSS of this child ${heap.rssMiB} MiB (bun from source: includes the transpiler)`);
      log(`  most common objects: ${heap.topTypes.map(([type, count]) => `${type} ${count.toLocaleString("en-US")}`).join(", ")}`);
      Object.assign(results, { heap_objects_mib: round(heap.heapSizeMiB - heap.extraMemoryMiB, 1), heap_total_mib: heap.heapTotalMiB, heap_objects: heap.objectCount, heap_array_buffers_mib: heap.arrayBuffersMiB });
    }
  }

  results.loadavg_1m_at_end = round(loadavg()[0]!, 2);
  log(`\nSummary (target): ready p50 ${round(ready.p50, 1)} ms (≤ ${targets.readyMs}) ${verdict(ready.p50 <= targets.readyMs)}; idle RSS p50 ${mib(idleRss.p50)} MiB (≤ ${targets.idleRssMiB}) ${verdict(idleRss.p50 / KiB <= targets.idleRssMiB)}`);
  console.log(JSON.stringify(results));
}

if (argv.includes("--heap-probe")) {
  await heapProbeChild();
} else {
  const killAll = () => {
    for (const child of running) child.kill("SIGKILL");
  };
  process.once("SIGINT", () => {
    killAll();
    process.exit(130);
  });
  try {
    await main();
  } catch (error) {
    killAll();
    console.error((error as Error).message);
    process.exit(1);
  }
}
