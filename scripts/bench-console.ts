/**
 * Web console benchmark (`npm run bench:console`), against the compiled `dist/mq start` (built
 * with scripts/build.ts when missing) on free loopback ports, driven in Debian's headless
 * Chromium through playwright-core. Targets (issue 14):
 *
 *   first_page_ms      navigation to `/#/overview` until the brokers table shows the broker
 *                      (scripts run, settings and cluster fetched, rendered) — a fresh browser
 *                      profile each run, so nothing is cached: ≤ 1,000 ms
 *   assets_gzip_bytes  the page and every script and style it loads, each gzipped (level 9) as
 *                      a server would send it: ≤ 250 KB
 *   render_1000_ms     the message browser showing a page of 1,000 messages: from the answer's
 *                      arrival (performance mark "messages-received") to the rows committed to
 *                      the page ("messages-rendered"), then the next animation frame and a task
 *                      after it (style, layout and paint done); also reported: from the request
 *                      ("messages-requested"), fetch included: ≤ 300 ms
 *   idle_cpu_percent   `mq start` with the overview open in a tab (it polls the cluster every
 *                      5 s and the series every 2 s): the process's CPU time (utime + stime
 *                      from /proc/<pid>/stat) over --idle-s seconds, as a percent of one core:
 *                      ≤ 2 %
 *
 * Baseline in the same run: the same process's CPU over the same time with no tab open.
 * Flags: --runs=N (default 5), --idle-s=N (default 30), --binary=PATH. The last line printed is
 * one JSON object of the figures.
 */

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeTempDir, removeTempDirs } from "../test/helpers/temp-dir.ts";
import { findChromium, launchBrowser } from "../test/e2e/browser.ts";
import { flagValue, intFlag } from "./bench-args.ts";

const root = resolve(import.meta.dir, "..");
const targets = { firstPageMs: 1_000, assetsGzipBytes: 250 * 1024, render1000Ms: 300, idleCpuPercent: 2 } as const;
const settings = { runs: intFlag("runs", 5), idleSeconds: intFlag("idle-s", 30), binary: resolve(flagValue("binary") ?? join(root, "dist/mq")) };
const readyTimeoutMs = 20_000;
const clockTicksPerSecond = 100;

function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

async function startMq(): Promise<{ process: Bun.Subprocess; base: string }> {
  const dir = makeTempDir("mq-bench-console-");
  const httpPort = freePort();
  const child = Bun.spawn([settings.binary, "start", "--data", join(dir, "data"), "--http-port", String(httpPort), "--port", String(freePort()), "--namesrv-port", String(freePort()), "--listen", "127.0.0.1"], { stdout: "ignore", stderr: "ignore" });
  const base = `http://127.0.0.1:${httpPort}`;
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    const ready = await fetch(`${base}/ready`).then((response) => response.status === 200, () => false);
    if (ready) return { process: child, base };
    if (performance.now() > deadline || child.exitCode !== null) throw new Error(`mq did not become ready at ${base}`);
    await Bun.sleep(20);
  }
}

async function assetsGzipBytes(base: string): Promise<{ total: number; files: Record<string, number> }> {
  const page = await (await fetch(`${base}/`)).text();
  const files: Record<string, number> = { "/": Bun.gzipSync(Buffer.from(page), { level: 9 }).length };
  for (const match of page.matchAll(/(?:src|href)="(\/[^"]+)"/g)) {
    const bytes = new Uint8Array(await (await fetch(base + match[1]!)).arrayBuffer());
    files[match[1]!] = Bun.gzipSync(bytes, { level: 9 }).length;
  }
  return { total: Object.values(files).reduce((sum, bytes) => sum + bytes, 0), files };
}

async function firstPageMs(base: string, chromium: string): Promise<number> {
  const browser = await launchBrowser(chromium);
  try {
    const startMs = performance.now();
    await browser.page.goto(`${base}/#/overview`);
    await browser.page.getByRole("table", { name: "Brokers" }).getByRole("cell", { name: "broker-a" }).waitFor({ timeout: 10_000 });
    return performance.now() - startMs;
  } finally {
    await browser.close();
  }
}

async function render1000(base: string, chromium: string): Promise<{ renderMs: number; clickToRowsMs: number }> {
  const browser = await launchBrowser(chromium);
  try {
    const page = browser.page;
    await page.goto(`${base}/#/messages?mode=browse&topic=bench1000`);
    await page.getByRole("combobox", { name: "Page size" }).selectOption("1000");
    await page.getByRole("combobox", { name: "Queue" }).locator("option").first().waitFor({ state: "attached" });
    const load = page.getByRole("button", { name: "Load" });
    await load.waitFor();
    // In the page (strings: this file is type-checked without the DOM's types): once the rows
    // are committed, wait for the next frame and a task after it, so layout and paint are in.
    await page.evaluate(`window.benchRendered = new Promise((done) => {
      new PerformanceObserver((list, observer) => {
        if (!list.getEntries().some((entry) => entry.name === "messages-rendered")) return;
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => {
          const received = performance.getEntriesByName("messages-received").at(-1).startTime;
          const requested = performance.getEntriesByName("messages-requested").at(-1).startTime;
          done({ renderMs: performance.now() - received, clickToRowsMs: performance.now() - requested, rows: document.querySelectorAll(".message-table [data-index]").length });
        }));
      }).observe({ type: "mark" });
    }); undefined`);
    await load.click();
    const result = (await page.evaluate("window.benchRendered")) as { renderMs: number; clickToRowsMs: number; rows: number };
    if (result.rows !== 1_000) throw new Error(`expected 1,000 rows, the page shows ${result.rows}`);
    return { renderMs: result.renderMs, clickToRowsMs: result.clickToRowsMs };
  } finally {
    await browser.close();
  }
}

async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid);
  const startMs = performance.now();
  await Bun.sleep(seconds * 1000);
  return ((cpuSeconds(pid) - before) / ((performance.now() - startMs) / 1000)) * 100;
}

async function main(): Promise<void> {
  const chromium = findChromium();
  if ("reason" in chromium) throw new Error(`bench:console needs Chromium: ${chromium.reason}`);
  if (!existsSync(settings.binary)) {
    console.log(`building ${settings.binary}`);
    const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], { stdout: "inherit", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error("scripts/build.ts failed");
  }
  const mq = await startMq();
  try {
    const assets = await assetsGzipBytes(mq.base);
    console.log(`assets, gzip: ${(assets.total / 1024).toFixed(1)} KiB (${Object.entries(assets.files).map(([path, bytes]) => `${path} ${(bytes / 1024).toFixed(1)} KiB`).join(", ")}); target ≤ ${targets.assetsGzipBytes / 1024} KiB`);

    const firstPages: number[] = [];
    for (let run = 0; run < settings.runs; run++) firstPages.push(await firstPageMs(mq.base, chromium.path));
    console.log(`first page interactive: median ${median(firstPages).toFixed(0)} ms, max ${Math.max(...firstPages).toFixed(0)} ms over ${settings.runs} fresh profiles; target ≤ ${targets.firstPageMs} ms`);

    await fetch(`${mq.base}/api/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ topic: "bench1000", queues: 1 }) });
    const batch = Array.from({ length: 1_000 }, (_, index) => ({ body: JSON.stringify({ id: index, customer: `customer-${index % 97}`, total: index * 1.5 }), tags: index % 2 === 0 ? "even" : "odd", keys: [`order-${index}`] }));
    await fetch(`${mq.base}/api/v1/topics/bench1000/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) });
    const renders: Array<{ renderMs: number; clickToRowsMs: number }> = [];
    for (let run = 0; run < settings.runs; run++) renders.push(await render1000(mq.base, chromium.path));
    const renderMs = median(renders.map((each) => each.renderMs));
    const clickToRowsMs = median(renders.map((each) => each.clickToRowsMs));
    console.log(`1,000 messages rendered: median ${renderMs.toFixed(0)} ms from the answer to painted rows (${clickToRowsMs.toFixed(0)} ms from the request, fetch included); target ≤ ${targets.render1000Ms} ms`);

    const baselineCpu = await cpuPercent(mq.process.pid, settings.idleSeconds);
    const tab = await launchBrowser(chromium.path);
    let idleCpu: number;
    try {
      await tab.page.goto(`${mq.base}/#/overview`);
      await tab.page.getByRole("table", { name: "Brokers" }).getByRole("cell", { name: "broker-a" }).waitFor();
      idleCpu = await cpuPercent(mq.process.pid, settings.idleSeconds);
    } finally {
      await tab.close();
    }
    console.log(`idle mq start, overview open: ${idleCpu.toFixed(2)} % of a core over ${settings.idleSeconds} s (no tab: ${baselineCpu.toFixed(2)} %); target ≤ ${targets.idleCpuPercent} %`);

    console.log(
      JSON.stringify({
        bench: "console",
        assets_gzip_bytes: assets.total,
        first_page_ms_median: Math.round(median(firstPages)),
        first_page_ms_max: Math.round(Math.max(...firstPages)),
        render_1000_ms_median: Math.round(renderMs),
        render_1000_click_to_rows_ms_median: Math.round(clickToRowsMs),
        idle_cpu_percent: Number(idleCpu.toFixed(2)),
        idle_cpu_percent_no_tab: Number(baselineCpu.toFixed(2)),
        runs: settings.runs,
        targets: { first_page_ms: targets.firstPageMs, assets_gzip_bytes: targets.assetsGzipBytes, render_1000_ms: targets.render1000Ms, idle_cpu_percent: targets.idleCpuPercent },
      }),
    );
  } finally {
    mq.process.kill("SIGTERM");
    await mq.process.exited;
    removeTempDirs();
  }
}

await main();
