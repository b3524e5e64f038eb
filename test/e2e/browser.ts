/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package (installed by
 * `npm test` through scripts/ensure-deps.mjs when apt-get can), driven by playwright-core over
 * its executablePath — never a browser download. Each launch gets a fresh profile directory and
 * flags that keep Chromium from calling home, and every page records its console errors and any
 * request that goes anywhere but 127.0.0.1.
 */

import { existsSync } from "node:fs";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { makeTempDir } from "../helpers/temp-dir.ts";

const candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

/** The Chromium to drive, or why there is none (the browser tests are then skipped, saying so). */
export function findChromium(): { path: string } | { reason: string } {
  const path = candidates.find((candidate) => existsSync(candidate)) ?? Bun.which("chromium") ?? undefined;
  if (path === undefined) return { reason: "no Chromium found (install Debian's chromium package: apt-get install chromium)" };
  const probe = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "pipe" });
  if (probe.exitCode !== 0) return { reason: `${path} --version exited with ${probe.exitCode}: ${probe.stderr.toString().trim()}` };
  return { path };
}

export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page so far. */
  readonly errors: string[];
  /** Requests to anywhere but 127.0.0.1 (data: URLs aside). */
  readonly foreignRequests: string[];
  close(): Promise<void>;
}

export async function launchBrowser(executablePath: string): Promise<Browser> {
  const context = await chromium.launchPersistentContext(makeTempDir("mq-chromium-profile-"), { executablePath, headless: true, args: chromiumArgs, viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "data:" && url.hostname !== "127.0.0.1") foreignRequests.push(request.url());
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return { context, page, errors, foreignRequests, close: () => context.close() };
}
