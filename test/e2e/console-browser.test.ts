/**
 * The web console in a real browser against a live `mq start` (the compiled dist/mq): every page
 * opens and shows the cluster's state; creating a topic, sending and finding a message by key,
 * the live tail, an offset reset and a DLQ redrive are done through the pages and checked by
 * what they show. No page logs a console error and no request leaves 127.0.0.1. The README's
 * screenshots are taken here (test/e2e/console-screenshots, with MQ_UPDATE_SCREENSHOTS=1).
 *
 * Without a usable Chromium the tests are skipped, printing why.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PushConsumer } from "../../src/client/push-consumer.ts";
import { mqVersion } from "../../src/version.ts";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { type Browser, findChromium, launchBrowser } from "./browser.ts";
import { buildBinaryCopy, buildTimeoutMs, MqProcesses, type RunningMq, startMq, stopMq, writeConfig } from "./helpers.ts";

const chromium = findChromium();
if ("reason" in chromium) console.log(`console browser tests skipped: ${chromium.reason}`);
/**
 * The README's screenshots are these tests' own; they are written into the repository only when
 * asked (MQ_UPDATE_SCREENSHOTS=1), so an ordinary run leaves the work tree clean.
 */
const screenshots = process.env.MQ_UPDATE_SCREENSHOTS === "1" ? join(import.meta.dir, "console-screenshots") : makeTempDir("mq-console-screenshots-");
const uiTimeoutMs = 15_000;

let processes: MqProcesses;
let mq: RunningMq;
let browser: Browser;
let base: string;

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}/api/v1${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function open(hash: string): Promise<void> {
  await browser.page.goto(`${base}/${hash}`);
}

async function shoot(name: string): Promise<void> {
  await browser.page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** Clicks the confirmation dialog's button (every change asks first). */
async function confirm(label: string): Promise<void> {
  const dialog = browser.page.getByRole("dialog");
  await dialog.getByRole("button", { name: label }).click();
  await dialog.waitFor({ state: "detached", timeout: uiTimeoutMs });
}

describe.skipIf("reason" in chromium)("web console in Chromium", () => {
  beforeAll(async () => {
    processes = new MqProcesses(buildBinaryCopy());
    const dir = makeTempDir("mq-console-e2e-");
    mq = await startMq(processes, join(dir, "data"), writeConfig(dir));
    base = `http://127.0.0.1:${mq.httpPort}`;
    browser = await launchBrowser((chromium as { path: string }).path);
    browser.page.setDefaultTimeout(uiTimeoutMs);
  }, buildTimeoutMs);

  afterAll(async () => {
    await browser?.close();
    if (mq !== undefined) await stopMq(mq);
    processes?.killAll();
    removeTempDirs();
  });

  test("Overview shows the broker, the NameServer and the live charts", async () => {
    await open("#/overview");
    const brokers = browser.page.getByRole("table", { name: "Brokers" });
    await brokers.getByRole("cell", { name: "broker-a" }).waitFor();
    await expect(brokers.getByRole("cell", { name: mq.broker })).toBeTruthy();
    expect(await brokers.getByRole("cell", { name: "master" }).count()).toBe(1);
    expect(await browser.page.locator("canvas").count()).toBeGreaterThanOrEqual(2);
    await browser.page.getByText("msgs in / s").waitFor();
  });

  test("Topics: create a topic through the form; its page shows its queues and route", async () => {
    await open("#/topics");
    const form = browser.page.getByRole("form", { name: "Create topic" });
    await form.getByRole("textbox", { name: "Topic name" }).fill("orders");
    await form.getByRole("spinbutton").fill("2");
    await form.getByRole("button", { name: "Create topic" }).click();
    await browser.page.getByRole("dialog").getByText('Create topic "orders"?').waitFor();
    await confirm("Create");
    await browser.page.getByRole("table", { name: "Topics" }).getByRole("link", { name: "orders" }).waitFor();
    expect((await api("GET", "/topics/orders")).readQueues).toBe(2);
    await api("POST", "/topics/orders/messages", [{ body: '{"id":1}', tags: "created" }, { body: '{"id":2}', tags: "paid" }]);
    await shoot("topics");

    await browser.page.getByRole("link", { name: "orders" }).click();
    await browser.page.getByRole("heading", { name: "Topic orders" }).waitFor();
    const queueRows = browser.page.getByRole("table", { name: "Queues" }).getByRole("row");
    await queueRows.nth(2).waitFor();
    expect(await queueRows.count()).toBe(3);
    await browser.page.getByRole("table", { name: "Route" }).getByRole("cell", { name: "broker-a" }).waitFor();
    await browser.page.locator('[data-stat="messages"]').getByText("2").waitFor();
  });

  test("Messages: a test message sent from the topic page is found by its key, its body shown as JSON and hex, its trace as a timeline", async () => {
    await open("#/topics/orders");
    const form = browser.page.getByRole("form", { name: "Send a test message" });
    await form.getByRole("textbox", { name: "Body" }).fill('{"order":42,"total":9.5}');
    await form.getByRole("textbox", { name: "Keys" }).fill("order-42");
    await form.getByRole("textbox", { name: "Tag" }).fill("created");
    await form.getByRole("button", { name: "Send" }).click();
    await confirm("Send");
    await browser.page.getByRole("status").getByText("Sent: msgId").waitFor();

    await open("#/messages?mode=key&topic=orders");
    await browser.page.getByRole("textbox", { name: "Key" }).fill("order-42");
    await browser.page.getByRole("button", { name: "Find" }).click();
    const rows = browser.page.getByRole("table", { name: "Messages" }).getByRole("row");
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    await rows.nth(1).click();
    const detail = browser.page.getByRole("complementary", { name: "Message" });
    expect(await detail.locator(".body-view").textContent()).toBe(JSON.stringify({ order: 42, total: 9.5 }, null, 2));
    await detail.getByRole("list", { name: "Trace" }).getByText("stored", { exact: true }).waitFor();
    await shoot("messages");
    await detail.getByRole("tab", { name: "HEX" }).click();
    expect(await detail.locator(".body-view").textContent()).toContain("7b 22 6f 72 64 65 72 22");
  });

  test("Messages: browsing a queue pages with the cursor and filters by tag", async () => {
    await open("#/messages?mode=browse&topic=orders");
    await browser.page.getByRole("combobox", { name: "Queue" }).locator("option").first().waitFor({ state: "attached" });
    let total = 0;
    for (const queue of (await api("GET", "/topics/orders")).queues) total += queue.maxOffset;
    expect(total).toBe(3);
    await browser.page.getByRole("textbox", { name: "Filter" }).fill("created");
    let found = 0;
    for (const index of [0, 1]) {
      await browser.page.getByRole("combobox", { name: "Queue" }).selectOption(String(index));
      await browser.page.getByRole("button", { name: "Load" }).click();
      await browser.page.locator("[data-page-info]").waitFor();
      const text = (await browser.page.locator("[data-page-info]").textContent()) ?? "";
      found += Number(/; (\d+) shown/.exec(text)?.[1] ?? "0");
    }
    expect(found).toBe(2); // the two "created" messages, whatever queues they went to
  });

  test("Messages: a SQL92 filter over properties picks the matching message", async () => {
    await api("POST", "/topics", { topic: "priced", queues: 1 });
    await api("POST", "/topics/priced/messages", [{ body: "cheap", properties: { region: "eu", price: "10" } }, { body: "dear", properties: { region: "eu", price: "90" } }]);
    await open("#/messages?mode=browse&topic=priced");
    await browser.page.getByRole("combobox", { name: "Queue" }).locator("option").first().waitFor({ state: "attached" });
    await browser.page.getByRole("combobox", { name: "Filter kind" }).selectOption("sql");
    await browser.page.getByRole("textbox", { name: "Filter" }).fill("region = 'eu' AND price > 30");
    await browser.page.getByRole("button", { name: "Load" }).click();
    const rows = browser.page.getByRole("table", { name: "Messages" }).getByRole("row");
    await rows.nth(1).getByRole("cell", { name: "dear" }).waitFor();
    expect(await rows.count()).toBe(2);
  });

  test("Messages: the live tail shows a message sent while it is open", async () => {
    await open("#/messages?mode=tail&topic=orders");
    await browser.page.locator('[data-tail-state="live"]').waitFor();
    await browser.page.getByText("Waiting for messages to orders").waitFor();
    await api("POST", "/topics/orders/messages", { body: "tailed while watching", keys: ["tail-1"] });
    await browser.page.getByRole("table", { name: "Messages" }).getByRole("cell", { name: "tailed while watching" }).waitFor();
  });

  test("Groups: a group's lag per queue; resetting its offsets to the first message brings its backlog back", async () => {
    const received = await api("POST", "/groups/billing/receive", { topic: "orders", max: 16, waitMs: 0 });
    await api("POST", "/groups/billing/ack", { receiptHandles: received.messages.map((message: { receiptHandle: string }) => message.receiptHandle) });
    await open("#/groups/billing");
    await browser.page.getByRole("heading", { name: "Group billing" }).waitFor();
    await browser.page.locator('[data-stat="lag"]').getByText("0", { exact: true }).waitFor();
    const form = browser.page.getByRole("form", { name: "Reset offsets" });
    await form.getByRole("combobox", { name: "Reset to" }).selectOption("first");
    await form.getByRole("button", { name: "Reset offsets" }).click();
    await confirm("Reset offsets");
    await browser.page.getByRole("status").getByText("Reset 2 queues of orders").waitFor();
    await browser.page.locator('[data-stat="lag"]').getByText("4", { exact: true }).waitFor();
    await shoot("groups");
  });

  test("Groups: a member connected over TCP shows its host, SDK version and subscriptions", async () => {
    const consumer = new PushConsumer({ broker: mq.broker, group: "shipping", trace: false });
    try {
      consumer.subscribe("orders", "paid");
      await consumer.start(() => undefined);
      await open("#/groups/shipping");
      const members = browser.page.getByRole("table", { name: "Members" });
      await members.getByRole("cell", { name: mqVersion, exact: true }).waitFor();
      await members.getByRole("cell", { name: /^127\.0\.0\.1:\d+$/ }).waitFor();
      await members.getByText("orders TAG paid").waitFor();
    } finally {
      await consumer.shutdown();
    }
  });

  test("Dead letters: an entry is listed with its error and redriven from the page, with its result", async () => {
    await api("PUT", "/groups/audit-job/config", { maxReconsumeTimes: 0 });
    await api("POST", "/topics", { topic: "invoices", queues: 1 });
    await api("POST", "/topics/invoices/messages", { body: "cannot parse me", keys: ["inv-7"] });
    const received = await api("POST", "/groups/audit-job/receive", { topic: "invoices", max: 1, waitMs: 2_000 });
    await api("POST", "/groups/audit-job/nack", { receiptHandles: [received.messages[0].receiptHandle], errorText: "invoice 7 has no total" });
    await open("#/dlq?group=audit-job");
    const table = browser.page.getByRole("table", { name: "Dead letters" });
    await table.getByRole("cell", { name: "invoice 7 has no total" }).waitFor();
    await table.getByRole("checkbox").first().check();
    await browser.page.getByRole("button", { name: "Redrive selected (1)" }).click();
    await confirm("Redrive");
    const results = browser.page.getByRole("region", { name: "Redrive results" });
    await results.getByRole("cell", { name: "resent" }).waitFor();
    expect(await results.getByText("to invoices as").count()).toBe(1);
    await shoot("dead-letters");
  });

  test("Timers: a scheduled message is counted and listed, and cancelled from the page", async () => {
    const sent = await api("POST", "/topics/orders/messages", { body: "remind me", delayMs: 3_600_000 });
    await open("#/timers");
    const table = browser.page.getByRole("table", { name: "Scheduled messages" });
    await table.getByRole("cell", { name: sent.msgId }).waitFor();
    await browser.page.locator('[data-stat="pending"]').getByText("1 pending").waitFor();
    await shoot("timers");
    await table.getByRole("button", { name: "Cancel" }).click();
    await confirm("Cancel message");
    await browser.page.getByRole("status").getByText(`${sent.msgId}: cancelled`).waitFor();
  });

  test("Transactions: a pending half message is listed and committed from the page; its message appears", async () => {
    const sent = await api("POST", "/topics/orders/messages", { body: "paid in a transaction", keys: ["tx-1"], transaction: true });
    await open("#/transactions");
    const table = browser.page.getByRole("table", { name: "Transactions" });
    await table.getByRole("cell", { name: sent.transactionId }).waitFor();
    await shoot("transactions");
    await table.getByRole("button", { name: "Commit" }).click();
    await confirm("Commit");
    await browser.page.getByRole("status").getByText(`${sent.transactionId} committed`).waitFor();
    expect((await api("GET", "/messages?topic=orders&key=tx-1")).messages.map((message: { body: string }) => message.body)).toEqual(["paid in a transaction"]);
  });

  test("Audit log lists what the console changed", async () => {
    await open("#/audit");
    const table = browser.page.getByRole("table", { name: "Audit log" });
    await table.getByRole("cell", { name: "POST /api/v1/topics", exact: true }).first().waitFor();
    expect(await table.getByRole("cell", { name: "console" }).count()).toBeGreaterThanOrEqual(5);
    await shoot("audit");
  });

  test("with consoleReadOnly the pages show no actions and the API refuses them", async () => {
    const dir = makeTempDir("mq-console-ro-");
    const readOnly = await startMq(processes, join(dir, "data"), writeConfig(dir, "commitLogFileBytes: 65536\nconsoleReadOnly: true\n"));
    try {
      const page = browser.page;
      await page.goto(`http://127.0.0.1:${readOnly.httpPort}/#/topics`);
      await page.getByText("read-only").waitFor();
      await page.getByRole("table", { name: "Topics" }).waitFor();
      expect(await page.getByRole("form", { name: "Create topic" }).count()).toBe(0);
      const refused = await fetch(`http://127.0.0.1:${readOnly.httpPort}/api/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"topic":"x"}' });
      expect(refused.status).toBe(403);
    } finally {
      // Leave the page first: its polling would otherwise log "connection refused" once the broker stops.
      await browser.page.goto("about:blank");
      await stopMq(readOnly);
    }
  });

  test("Overview after the traffic above: its charts have drawn the sends (the README's screenshot)", async () => {
    await api("POST", "/topics/orders/messages", Array.from({ length: 100 }, (_, index) => ({ body: `burst ${index}` })));
    await open("#/overview");
    await browser.page.getByRole("table", { name: "Brokers" }).getByRole("cell", { name: "broker-a" }).waitFor();
    const samples = (await api("GET", "/metrics/series")).samples as Array<{ inPerSecond: number }>;
    expect(samples.some((sample) => sample.inPerSecond > 0)).toBe(true);
    await shoot("overview");
  });

  test("no page logged a console error and no request left 127.0.0.1", () => {
    expect(browser.errors).toEqual([]);
    expect(browser.foreignRequests).toEqual([]);
  });
});
