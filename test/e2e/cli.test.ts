/**
 * The `mq` command line as a user drives it (issue 3, item 5): one compiled `dist/mq start` runs
 * for the whole file on free loopback ports, and every noun — topic, send, consume, message,
 * group, bench — is run as its own process against it with `--broker 127.0.0.1:<port>`, checking
 * exit codes, tables, `--json` output, errors on stderr with nothing on stdout, and that ids, keys
 * and offsets typed as text reach the broker exactly as typed.
 *
 * Each test makes its own topics and groups, so a failure does not cascade into the next test.
 */

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Admin } from "../../src/client/index.ts";
import { makeTempDir, removeTempDirs } from "../helpers/temp-dir.ts";
import { buildBinaryCopy, buildTimeoutMs, MqProcesses, type RunResult, type RunningMq, startMq, startTimeoutMs, stopMq, writeConfig } from "./helpers.ts";

/** Each test runs a handful of short commands; this bounds a hung one without relying on bunfig. */
const testTimeoutMs = 45_000;

let server: MqProcesses;
let cli: MqProcesses;
let running: RunningMq;

beforeAll(async () => {
  const binary = buildBinaryCopy("mq-e2e-cli-");
  server = new MqProcesses(binary);
  cli = new MqProcesses(binary);
  const dir = makeTempDir("mq-e2e-cli-data-");
  // 16 MiB CommitLog files: the default would allocate 1 GiB on the test machine. The broker and
  // its HTTP probes only: the CLI here talks to the broker (--broker), and role all would also
  // bind a NameServer on its fixed default port, which another process may hold.
  running = await startMq(server, join(dir, "data"), writeConfig(dir, "commitLogFileBytes: 16777216\ndiskMaxUsedSpaceRatio: 0.98\ndiskFullRatio: 0.99\n"), ["--role", "broker,http"]);
}, buildTimeoutMs + startTimeoutMs);

afterEach(() => cli.killAll());

afterAll(async () => {
  cli.killAll();
  try {
    if (running !== undefined) {
      const exitCode = await stopMq(running);
      const stderr = await running.entry.stderr;
      if (exitCode !== 0) throw new Error(`mq start exited with ${exitCode} after SIGTERM:\n${stderr}`);
      if (/\bERROR\b/.test(stderr)) throw new Error(`mq start logged an error:\n${stderr}`);
    }
  } finally {
    server.killAll();
    removeTempDirs();
  }
});

/** Runs `mq ARGS --broker 127.0.0.1:<port>`. */
function mq(...args: string[]): Promise<RunResult> {
  return cli.run([...args, "--broker", running.broker]);
}

function mqWithStdin(stdin: string | Uint8Array, ...args: string[]): Promise<RunResult> {
  return cli.run([...args, "--broker", running.broker], { stdin });
}

/** Fails with the command's stderr in view unless it exited 0. */
function expectOk(result: RunResult, what: string): RunResult {
  expect({ what, exitCode: result.exitCode, stderr: result.exitCode === 0 ? "" : result.stderr }).toEqual({ what, exitCode: 0, stderr: "" });
  return result;
}

async function mqJson<T>(...args: string[]): Promise<T> {
  const result = expectOk(await mq(...args, "--json"), args.join(" "));
  return JSON.parse(result.stdout) as T;
}

/** A failed command: non-zero exit, the message on stderr, nothing on stdout. */
function expectFailure(result: RunResult, what: string, message: string): void {
  expect({ what, failed: result.exitCode !== 0, stdout: result.stdout, mentions: result.stderr.includes(message) ? message : result.stderr }).toEqual({
    what,
    failed: true,
    stdout: "",
    mentions: message,
  });
}

/** The rows of a table printed by the CLI, as arrays of whitespace-separated words (header excluded). */
function tableRows(stdout: string, header: string): string[][] {
  const lines = stdout.trimEnd().split("\n");
  const headerIndex = lines.findIndex((line) => line.startsWith(header));
  expect({ headerFound: headerIndex >= 0, stdout }).toEqual({ headerFound: true, stdout });
  return lines.slice(headerIndex + 1).map((line) => line.trim().split(/\s+/));
}

interface SendResult {
  msgId: string;
  offsetMsgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
}

interface ConsumedLine {
  topic: string;
  queueId: number;
  queueOffset: number;
  msgId: string;
  offsetMsgId: string;
  tags?: string;
  keys: string[];
  properties: Record<string, string>;
  body: string;
}

interface MessageView extends ConsumedLine {
  bornTimestampMs: number;
  storeTimestampMs: number;
}

interface TopicDetail {
  topic: string;
  readQueues: number;
  writeQueues: number;
  perm: number;
  order: boolean;
  queues: { queueId: number; minOffset: number; maxOffset: number }[];
}

interface GroupDetail {
  group: string;
  totalLag: number;
  queues: { topic: string; queueId: number; brokerOffset: number; consumerOffset: number; lag: number }[];
}

async function createTopic(topic: string, queues = 4): Promise<void> {
  expectOk(await mq("topic", "create", topic, "--queues", String(queues)), `topic create ${topic}`);
}

async function send(topic: string, body: string, ...options: string[]): Promise<SendResult> {
  return mqJson<SendResult>("send", topic, body, ...options);
}

/** `mq consume --json --count N`: exactly N lines, each one JSON message. */
async function consume(topic: string, group: string, count: number, ...options: string[]): Promise<ConsumedLine[]> {
  const args = ["consume", topic, "--group", group, "--count", String(count), "--json", ...options];
  const result = expectOk(await mq(...args), args.join(" "));
  const lines = result.stdout.split("\n").filter((line) => line.length > 0);
  expect({ args, lines: lines.length }).toEqual({ args, lines: count });
  expect(result.stdout.endsWith("\n")).toBe(true);
  return lines.map((line) => JSON.parse(line) as ConsumedLine);
}

const bodiesOf = (messages: readonly { body: string }[]) => messages.map((message) => message.body).sort();

describe("mq topic", () => {
  test("create --queues 4, then list shows it in the table and as JSON with 4 read and write queues", async () => {
    const created = expectOk(await mq("topic", "create", "CliOrders", "--queues", "4"), "topic create");
    expect(created.stdout).toBe('Created topic "CliOrders" with 4 queues (RW-)\n');

    const table = expectOk(await mq("topic", "list"), "topic list");
    expect(tableRows(table.stdout, "TOPIC").find((row) => row[0] === "CliOrders")).toEqual(["CliOrders", "4", "4", "RW-", "false"]);

    const listed = await mqJson<{ topic: string; readQueues: number; writeQueues: number; perm: number; order: boolean }[]>("topic", "list");
    expect(listed.find((topic) => topic.topic === "CliOrders")).toEqual({ topic: "CliOrders", readQueues: 4, writeQueues: 4, perm: 6, order: false });
  }, testTimeoutMs);

  test("describe shows each queue's min and max offset, as a table and as JSON", async () => {
    await createTopic("CliDescribe", 4);
    const sent = [await send("CliDescribe", "d1"), await send("CliDescribe", "d2"), await send("CliDescribe", "d3")];

    const detail = await mqJson<TopicDetail>("topic", "describe", "CliDescribe");
    expect({ ...detail, queues: detail.queues.map((queue) => queue.queueId) }).toEqual({ topic: "CliDescribe", readQueues: 4, writeQueues: 4, perm: 6, order: false, queues: [0, 1, 2, 3] });
    for (const queue of detail.queues) {
      const expectedMax = sent.filter((result) => result.queueId === queue.queueId).length;
      expect(queue).toEqual({ queueId: queue.queueId, minOffset: 0, maxOffset: expectedMax });
    }

    const table = expectOk(await mq("topic", "describe", "CliDescribe"), "topic describe");
    expect(table.stdout.split("\n")[0]).toBe('Topic "CliDescribe": 4 read / 4 write queues, perm RW-');
    const rows = tableRows(table.stdout, "QUEUE  MIN  MAX  MESSAGES");
    expect(rows).toEqual(detail.queues.map((queue) => [String(queue.queueId), "0", String(queue.maxOffset), String(queue.maxOffset)]));
  }, testTimeoutMs);

  test("delete removes a topic: it leaves the list and describe no longer finds it", async () => {
    await createTopic("CliDoomed", 2);
    expect((await mqJson<{ topic: string }[]>("topic", "list")).map((topic) => topic.topic)).toContain("CliDoomed");

    const deleted = expectOk(await mq("topic", "delete", "CliDoomed"), "topic delete");
    expect(deleted.stdout).toBe('Deleted topic "CliDoomed"\n');
    expect((await mqJson<{ topic: string }[]>("topic", "list")).map((topic) => topic.topic)).not.toContain("CliDoomed");
    expectFailure(await mq("topic", "describe", "CliDoomed"), "describe a deleted topic", 'TOPIC_NOT_FOUND: Cannot find topic "CliDoomed"');
    expectFailure(await mq("topic", "delete", "CliDoomed"), "delete it again", 'TOPIC_NOT_FOUND: Cannot find topic "CliDoomed"');
  }, testTimeoutMs);
});

describe("mq send", () => {
  test("--json prints msgId, offsetMsgId (this broker's address and a CommitLog offset), queueId and queueOffset", async () => {
    await createTopic("CliSend", 4);
    const result = await send("CliSend", "hello", "--tag", "a", "--keys", "k1,k2", "--prop", "color=blue");
    expect(Object.keys(result).sort()).toEqual(["msgId", "offsetMsgId", "queueId", "queueOffset", "topic"]);
    expect(result.msgId).toMatch(/^[0-9A-F]{32}$/);
    const brokerPrefix = `7F000001${running.port.toString(16).toUpperCase().padStart(8, "0")}`;
    expect(result.offsetMsgId.slice(0, 16)).toBe(brokerPrefix);
    expect(result.offsetMsgId).toMatch(/^[0-9A-F]{32}$/);
    expect(result.topic).toBe("CliSend");
    expect([0, 1, 2, 3]).toContain(result.queueId);
    expect(result.queueOffset).toBe(0);

    const table = expectOk(await mq("send", "CliSend", "second"), "send (table)");
    const [row] = tableRows(table.stdout, "MSGID  ");
    expect(table.stdout.split("\n")[0]!.split(/\s+/)).toEqual(["MSGID", "OFFSETMSGID", "TOPIC", "QUEUEID", "QUEUEOFFSET"]);
    expect(row!.length).toBe(5);
    expect(row![0]).toMatch(/^[0-9A-F]{32}$/);
    expect(row![2]).toBe("CliSend");
  }, testTimeoutMs);

  test('"-" as the body reads it from stdin, byte for byte', async () => {
    await createTopic("CliStdin", 2);
    const body = "line one\nline two — ünïcode\n";
    const result = expectOk(await mqWithStdin(body, "send", "CliStdin", "-", "--tag", "piped", "--json"), "send -");
    const sent = JSON.parse(result.stdout) as SendResult;
    const stored = await mqJson<MessageView>("message", "get", sent.msgId);
    expect({ body: stored.body, tags: stored.tags }).toEqual({ body, tags: "piped" });
  }, testTimeoutMs);

  test('"-" takes stdin as bytes: all 256 byte values are stored exactly', async () => {
    await createTopic("CliStdinBinary", 1);
    const body = Uint8Array.from({ length: 256 }, (_, index) => index);
    const result = expectOk(await mqWithStdin(body, "send", "CliStdinBinary", "-", "--json"), "send - (binary)");
    const sent = JSON.parse(result.stdout) as SendResult;
    const admin = new Admin({ broker: running.broker });
    try {
      const stored = await admin.viewMessage(sent.msgId);
      expect({ bytes: stored.body.byteLength, hex: Buffer.from(stored.body).toString("hex") }).toEqual({ bytes: 256, hex: Buffer.from(body).toString("hex") });
    } finally {
      await admin.close();
    }
  }, testTimeoutMs);

  test("a send to a topic that does not exist creates it, as autoCreateTopics (on by default) says", async () => {
    const sent = await send("CliBornOnSend", "first");
    expect(sent.topic).toBe("CliBornOnSend");
    const detail = await mqJson<TopicDetail>("topic", "describe", "CliBornOnSend");
    expect({ readQueues: detail.readQueues, writeQueues: detail.writeQueues }).toEqual({ readQueues: 4, writeQueues: 4 });
  }, testTimeoutMs);

  test("a reserved property name or a key holding a space is PROPERTY_INVALID, and nothing is stored", async () => {
    await createTopic("CliReserved", 1);
    expectFailure(await mq("send", "CliReserved", "x", "--prop", "DELAY=3"), "send --prop DELAY=3", 'PROPERTY_INVALID: Cannot use property "DELAY": the name is reserved for the broker');
    expectFailure(await mq("send", "CliReserved", "x", "--prop", "UNIQ_KEY=0"), "send --prop UNIQ_KEY=0", 'PROPERTY_INVALID: Cannot use property "UNIQ_KEY"');
    expectFailure(await mq("send", "CliReserved", "x", "--keys", "two words"), "send --keys 'two words'", 'PROPERTY_INVALID: Cannot use property "KEYS"');
    const detail = await mqJson<TopicDetail>("topic", "describe", "CliReserved");
    expect(detail.queues[0]!.maxOffset).toBe(0);
    expectOk(await mq("send", "CliReserved", "x", "--prop", "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), "send --prop traceparent=...");
  }, testTimeoutMs);

  test("--delay 90s and --deliver-at schedule a message (its delivery time in the answer); past the limit is TIMER_DELAY_OUT_OF_RANGE", async () => {
    await createTopic("CliDelayed", 1);
    const before = Date.now();
    const delayed = (await send("CliDelayed", "later", "--delay", "90s")) as SendResult & { deliverAtMs: number; scheduled: boolean };
    expect(delayed.scheduled).toBe(true);
    expect(delayed.deliverAtMs).toBeGreaterThanOrEqual(before + 90_000);
    const atText = new Date(Math.ceil((Date.now() + 86_400_000) / 60_000) * 60_000).toISOString().replace(":00.000Z", "Z");
    const at = (await send("CliDelayed", "at", "--deliver-at", atText)) as SendResult & { deliverAtMs: number; scheduled: boolean };
    expect(at.deliverAtMs).toBe(Date.parse(atText));
    expectFailure(await mq("send", "CliDelayed", "x", "--deliver-at", "2099-12-24T18:00Z"), "send --deliver-at far", "TIMER_DELAY_OUT_OF_RANGE: Cannot schedule message");
    expectFailure(await mq("send", "CliDelayed", "x", "--delay", "41d"), "send --delay 41d", `TIMER_DELAY_OUT_OF_RANGE: Cannot schedule message: delay is ${41 * 86_400_000} ms, it must be 1..${40 * 86_400_000} ms`);
    expectFailure(await mq("send", "CliDelayed", "x", "--delay", "soon"), "send --delay soon", 'Cannot accept request: field "--delay" must be a duration');
    const past = (await send("CliDelayed", "past", "--deliver-at", "2020-01-01T00:00Z")) as SendResult & { scheduled: boolean };
    expect(past.scheduled).toBe(false);
    const detail = await mqJson<TopicDetail>("topic", "describe", "CliDelayed");
    expect(detail.queues[0]!.maxOffset).toBe(1);
    // Leave nothing pending for the listing tests below.
    for (const id of [delayed.msgId, at.msgId]) expect(expectOk(await mq("message", "cancel", id), `message cancel ${id}`).stdout.trim()).toBe("cancelled");
  }, testTimeoutMs);
});

describe("mq consume", () => {
  test("--from first --count N prints exactly N JSON lines; the group's next run gets only newer messages", async () => {
    await createTopic("CliConsume", 4);
    const first = ["c1", "c2", "c3", "c4", "c5"];
    const sent = new Map<string, SendResult>();
    for (const body of first) sent.set(body, await send("CliConsume", body, "--tag", "t", "--keys", `key-${body}`));

    const consumed = await consume("CliConsume", "CliGroupA", 5, "--from", "first");
    expect(bodiesOf(consumed)).toEqual(first);
    for (const message of consumed) {
      const expected = sent.get(message.body)!;
      const { topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, body } = message;
      expect({ topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, body }).toEqual({
        topic: "CliConsume",
        queueId: expected.queueId,
        queueOffset: expected.queueOffset,
        msgId: expected.msgId,
        offsetMsgId: expected.offsetMsgId,
        tags: "t",
        keys: [`key-${body}`],
        body,
      });
    }

    // Offsets were committed: a second run (even with --from first) starts after them, and a run
    // that stops early leaves the rest for the next one — nothing twice, nothing lost.
    const later = ["c6", "c7", "c8"];
    for (const body of later) await send("CliConsume", body);
    const one = await consume("CliConsume", "CliGroupA", 1, "--from", "first");
    const two = await consume("CliConsume", "CliGroupA", 2, "--from", "first");
    expect(bodiesOf([...one, ...two])).toEqual(later);

    const group = await mqJson<GroupDetail>("group", "describe", "CliGroupA");
    expect(group.totalLag).toBe(0);
  }, testTimeoutMs);

  test("--tag b delivers only messages tagged b", async () => {
    await createTopic("CliTags", 4);
    for (const [body, tag] of [["a1", "a"], ["b1", "b"], ["a2", "a"], ["b2", "b"], ["none", undefined], ["b3", "b"]] as const) {
      await send("CliTags", body, ...(tag === undefined ? [] : ["--tag", tag]));
    }
    const consumed = await consume("CliTags", "CliTagGroup", 3, "--from", "first", "--tag", "b");
    expect(bodiesOf(consumed)).toEqual(["b1", "b2", "b3"]);
    expect(consumed.map((message) => message.tags)).toEqual(["b", "b", "b"]);

    const either = await consume("CliTags", "CliTagGroupAB", 5, "--from", "first", "--tag", "a || b");
    expect(bodiesOf(either)).toEqual(["a1", "a2", "b1", "b2", "b3"]);
  }, testTimeoutMs);

  test("--sql delivers only messages whose properties match; a bad expression fails with its position", async () => {
    await createTopic("CliSql", 4);
    for (const [body, region, price] of [["eu-cheap", "eu", "5"], ["us", "us", "50"], ["eu-1", "eu", "30.5"], ["none", undefined, undefined], ["eu-2", "eu", "99"]] as const) {
      await send("CliSql", body, ...(region === undefined ? [] : ["--prop", `region=${region}`, "--prop", `price=${price}`]));
    }
    const consumed = await consume("CliSql", "CliSqlGroup", 2, "--from", "first", "--sql", "region = 'eu' AND price > 30");
    expect(bodiesOf(consumed)).toEqual(["eu-1", "eu-2"]);
    expectFailure(await mq("consume", "CliSql", "--group", "G", "--sql", "region = "), "consume --sql (bad)", "FILTER_EXPRESSION_INVALID: Cannot compile SQL92 filter \"region = \": expected a string, number, TRUE or FALSE after \"=\" at line 1, column 10, found the end of the expression");
  }, testTimeoutMs);

  test("without --json prints one line per message and the count on stderr", async () => {
    await createTopic("CliConsumeText", 1);
    const sent = await send("CliConsumeText", "plain text", "--tag", "x", "--keys", "k9");
    const result = expectOk(await mq("consume", "CliConsumeText", "--group", "CliTextGroup", "--from", "first", "--count", "1"), "consume (text)");
    expect(result.stdout).toBe(`[CliConsumeText:0@0] ${sent.msgId} tags=x keys=k9 plain text\n`);
    expect(result.stderr).toBe("Consumed 1 message(s)\n");
  }, testTimeoutMs);
});

describe("mq message", () => {
  test("get finds a message by msgId and by offsetMsgId, with body, tags, keys and properties", async () => {
    await createTopic("CliLookup", 4);
    const sent = await send("CliLookup", "hello", "--tag", "a", "--keys", "k1,k2", "--prop", "color=blue");

    for (const id of [sent.msgId, sent.offsetMsgId, sent.msgId.toLowerCase()]) {
      const found = await mqJson<MessageView>("message", "get", id);
      expect({ id, topic: found.topic, msgId: found.msgId, offsetMsgId: found.offsetMsgId, queueId: found.queueId, queueOffset: found.queueOffset, body: found.body, tags: found.tags, keys: found.keys, color: found.properties.color }).toEqual({
        id,
        topic: "CliLookup",
        msgId: sent.msgId,
        offsetMsgId: sent.offsetMsgId,
        queueId: sent.queueId,
        queueOffset: sent.queueOffset,
        body: "hello",
        tags: "a",
        keys: ["k1", "k2"],
        color: "blue",
      });
    }

    const table = expectOk(await mq("message", "get", sent.offsetMsgId), "message get (table)");
    const fields = Object.fromEntries(table.stdout.trimEnd().split("\n").map((line) => [line.slice(0, 16).trim(), line.slice(17)]));
    expect({ msgId: fields.msgId, tags: fields.tags, keys: fields.keys, body: fields.body }).toEqual({ msgId: sent.msgId, tags: "a", keys: '["k1","k2"]', body: "hello" });
  }, testTimeoutMs);

  test("query --topic --key finds the messages carrying that key", async () => {
    await createTopic("CliQuery", 4);
    const sent = await send("CliQuery", "keyed", "--keys", "k1,k2");
    await send("CliQuery", "other", "--keys", "k3");

    for (const key of ["k1", "k2"]) {
      const found = await mqJson<MessageView[]>("message", "query", "--topic", "CliQuery", "--key", key);
      expect({ key, found: found.map((message) => [message.msgId, message.body]) }).toEqual({ key, found: [[sent.msgId, "keyed"]] });
    }
    expect(await mqJson<MessageView[]>("message", "query", "--topic", "CliQuery", "--key", "absent")).toEqual([]);

    const table = expectOk(await mq("message", "query", "--topic", "CliQuery", "--key", "k1"), "message query (table)");
    const rows = tableRows(table.stdout, "MSGID");
    expect(rows.map((row) => [row[0], row[1], row.at(-1)])).toEqual([[sent.msgId, "CliQuery", "keyed"]]);
  }, testTimeoutMs);

  test("an unknown or malformed id exits non-zero with the catalogue message", async () => {
    await createTopic("CliLookupMiss", 1);
    const sent = await send("CliLookupMiss", "x");
    const unknownMsgId = "0123456789ABCDEF0123456789ABCDEF";
    // This broker's address with an offset past everything written.
    const pastTheLog = `${sent.offsetMsgId.slice(0, 16)}00000000FFFFFF00`;
    const cases: [string, string][] = [
      [unknownMsgId, `Error 3003 MESSAGE_NOT_FOUND: Cannot find message "${unknownMsgId}"`],
      [pastTheLog, `Error 3003 MESSAGE_NOT_FOUND: Cannot find message "${pastTheLog}"`],
      ["nothex", 'Error 3004 MESSAGE_ID_INVALID: Cannot parse message id "nothex": expected 32 hex characters'],
    ];
    for (const [id, message] of cases) expectFailure(await mq("message", "get", id), `message get ${id}`, message);
  }, testTimeoutMs);

  test("scheduled lists what waits (nothing here) and cancel says already-delivered, unknown, or why an id is refused", async () => {
    await createTopic("CliScheduled", 1);
    const sent = await send("CliScheduled", "now");
    const listing = await mqJson<{ total: number; buckets: unknown[]; messages: unknown[] }>("message", "scheduled", "--topic", "CliScheduled");
    expect({ total: listing.total, buckets: listing.buckets, messages: listing.messages }).toEqual({ total: 0, buckets: [], messages: [] });
    expect(expectOk(await mq("message", "scheduled"), "message scheduled (text)").stdout.trim()).toBe("0 pending");
    expect(expectOk(await mq("message", "cancel", sent.msgId), "message cancel (delivered)").stdout.trim()).toBe("already-delivered");
    expect(await mqJson<{ msgId: string; outcome: string }>("message", "cancel", "0123456789ABCDEF0123456789ABCDEF")).toEqual({ msgId: "0123456789ABCDEF0123456789ABCDEF", outcome: "unknown" });
    expectFailure(await mq("message", "cancel", "nothex"), "message cancel nothex", 'Error 3004 MESSAGE_ID_INVALID: Cannot parse message id "nothex"');
    expectFailure(await mq("message", "scheduled", "--limit", "0"), "message scheduled --limit 0", "--limit");
  }, testTimeoutMs);
});

describe("mq group", () => {
  test("list shows the group; describe shows lag per queue, 0 once everything is consumed", async () => {
    await createTopic("CliLag", 4);
    for (let index = 0; index < 6; index++) await send("CliLag", `l${index}`);
    await consume("CliLag", "CliLagGroup", 6, "--from", "first");

    const table = expectOk(await mq("group", "list"), "group list");
    const row = tableRows(table.stdout, "GROUP").find((cells) => cells[0] === "CliLagGroup");
    expect(row?.[0]).toBe("CliLagGroup");
    const listed = await mqJson<{ group: string; totalLag: number }[]>("group", "list");
    expect(listed.find((group) => group.group === "CliLagGroup")?.totalLag).toBe(0);

    const caughtUp = await mqJson<GroupDetail>("group", "describe", "CliLagGroup");
    const queues = caughtUp.queues.filter((queue) => queue.topic === "CliLag");
    expect(queues.map((queue) => queue.queueId).sort()).toEqual([0, 1, 2, 3]);
    expect(queues.map((queue) => queue.lag)).toEqual([0, 0, 0, 0]);
    expect(queues.map((queue) => queue.consumerOffset)).toEqual(queues.map((queue) => queue.brokerOffset));
    expect(queues.reduce((sum, queue) => sum + queue.brokerOffset, 0)).toBe(6);
    expect(caughtUp.totalLag).toBe(0);

    // Two more messages show up as lag on the queues they went to.
    const behind = [await send("CliLag", "late1"), await send("CliLag", "late2")];
    const lagging = await mqJson<GroupDetail>("group", "describe", "CliLagGroup");
    expect(lagging.totalLag).toBe(2);
    for (const queue of lagging.queues.filter((entry) => entry.topic === "CliLag")) {
      expect({ queueId: queue.queueId, lag: queue.lag }).toEqual({ queueId: queue.queueId, lag: behind.filter((sent) => sent.queueId === queue.queueId).length });
    }
    const text = expectOk(await mq("group", "describe", "CliLagGroup"), "group describe (table)");
    expect(text.stdout).toContain('Group "CliLagGroup": ');
    expect(text.stdout).toContain("total lag 2");
    expect(tableRows(text.stdout, "TOPIC").filter((cells) => cells[0] === "CliLag").length).toBe(4);
  }, testTimeoutMs);

  test("reset-offset --to first re-reads from the start; --to last skips everything stored", async () => {
    await createTopic("CliReset", 4);
    const bodies = ["r1", "r2", "r3", "r4", "r5"];
    for (const body of bodies) await send("CliReset", body);
    expect(bodiesOf(await consume("CliReset", "CliResetGroup", 5, "--from", "first"))).toEqual(bodies);

    const toFirst = await mqJson<{ topic: string; queueId: number; queueOffset: number }[]>("group", "reset-offset", "CliResetGroup", "--topic", "CliReset", "--to", "first");
    expect(toFirst.map((queue) => [queue.topic, queue.queueOffset])).toEqual([["CliReset", 0], ["CliReset", 0], ["CliReset", 0], ["CliReset", 0]]);
    expect(bodiesOf(await consume("CliReset", "CliResetGroup", 5))).toEqual(bodies);

    await send("CliReset", "r6");
    const table = expectOk(await mq("group", "reset-offset", "CliResetGroup", "--topic", "CliReset", "--to", "last"), "reset-offset --to last");
    const detail = await mqJson<TopicDetail>("topic", "describe", "CliReset");
    expect(tableRows(table.stdout, "TOPIC").map((cells) => cells.join(" "))).toEqual(detail.queues.map((queue) => `CliReset ${queue.queueId} ${queue.maxOffset}`));

    await send("CliReset", "after-reset");
    expect(bodiesOf(await consume("CliReset", "CliResetGroup", 1))).toEqual(["after-reset"]);
  }, testTimeoutMs);
});

describe("mq group: configuration (issue 11, item 2)", () => {
  test("create, update and config: retry max, back-off, orderly and consume-enable, stored by the broker", async () => {
    const created = await mqJson<Record<string, unknown>>("group", "create", "CliRetry", "--max-reconsume-times", "3", "--backoff", "exponential", "--initial-ms", "500", "--max-ms", "8000", "--jitter", "0.1", "--orderly");
    const backoff = { kind: "exponential", initialMs: 500, factor: 2, maxMs: 8_000, jitter: 0.1 };
    expect(created).toEqual({ group: "CliRetry", maxReconsumeTimes: 3, backoff, consumeEnable: true, orderly: true });
    const updated = await mqJson<Record<string, unknown>>("group", "update", "CliRetry", "--consume-enable", "false");
    expect(updated).toEqual({ ...created, consumeEnable: false });
    expect(await mqJson<Record<string, unknown>>("group", "config", "CliRetry")).toEqual(updated);
    const table = expectOk(await mq("group", "config", "CliRetry"), "group config");
    expect(table.stdout).toContain("maxReconsumeTimes 3");
    expectFailure(await mq("group", "update", "CliRetry", "--backoff", "exponential", "--initial-ms", "500"), "exponential without --max-ms", "--max-ms");
    expect(await mqJson<Record<string, unknown>>("group", "config", "CliRetry")).toEqual(updated);
  }, testTimeoutMs);
});

describe("mq: first steps (issue 9, item 15)", () => {
  test("consume --count 10 --timeout stops once nothing more arrives, printing what there was", async () => {
    await createTopic("CliIdle", 2);
    for (const body of ["i1", "i2", "i3"]) await send("CliIdle", body);
    const args = ["consume", "CliIdle", "--group", "CliIdleGroup", "--from", "first", "--count", "10", "--timeout", "1500", "--json"];
    const result = expectOk(await mq(...args), args.join(" "));
    const bodies = result.stdout.split("\n").filter((line) => line.length > 0).map((line) => (JSON.parse(line) as ConsumedLine).body);
    expect(bodies.sort()).toEqual(["i1", "i2", "i3"]);
  }, testTimeoutMs);

  test("group reset-offset of an unknown group is an error and creates nothing; --create starts it", async () => {
    await createTopic("CliGhost", 2);
    expectFailure(await mq("group", "reset-offset", "CliGhostTypo", "--topic", "CliGhost", "--to", "first"), "reset-offset <typo>", 'GROUP_NOT_FOUND: Cannot find consumer group "CliGhostTypo"');
    const groups = await mqJson<Array<{ group: string }>>("group", "list");
    expect(groups.map((group) => group.group)).not.toContain("CliGhostTypo");
    expectOk(await mq("group", "reset-offset", "CliGhostNew", "--topic", "CliGhost", "--to", "first", "--create"), "reset-offset --create");
    expect((await mqJson<Array<{ group: string }>>("group", "list")).map((group) => group.group)).toContain("CliGhostNew");
  }, testTimeoutMs);

  test("topic create --help claims no update; creating an existing topic is TOPIC_EXISTS", async () => {
    for (const args of [["topic", "--help"], ["topic", "create", "--help"]]) expect(expectOk(await mq(...args), args.join(" ")).stdout).not.toContain("or update");
    expect(expectOk(await mq("topic", "--help"), "topic --help").stdout).toContain("Create a topic (one that exists is an error: TOPIC_EXISTS)");
    await createTopic("CliTwice", 1);
    expectFailure(await mq("topic", "create", "CliTwice"), "topic create (again)", "TOPIC_EXISTS");
  }, testTimeoutMs);

  test("--broker at the HTTP port says an HTTP server answered and which flags take which port", async () => {
    const result = await cli.run(["topic", "list", "--broker", `127.0.0.1:${running.httpPort}`]);
    expectFailure(result, "topic list --broker <http port>", "WRONG_SERVICE");
    expect(result.stderr).toContain("an HTTP server, not an mq broker or NameServer");
    expect(result.stderr).toContain("--broker");
  }, testTimeoutMs);
});

describe("mq: values typed as text stay text", () => {
  test("a key 0042 is stored, found and printed as 0042, not 42", async () => {
    await createTopic("CliStrings", 2);
    const sent = await send("CliStrings", "zeros", "--keys", "0042", "--tag", "007", "--prop", "n=0042");
    const stored = await mqJson<MessageView>("message", "get", sent.msgId);
    expect({ keys: stored.keys, tags: stored.tags, n: stored.properties.n }).toEqual({ keys: ["0042"], tags: "007", n: "0042" });

    const found = await mqJson<MessageView[]>("message", "query", "--topic", "CliStrings", "--key", "0042");
    expect(found.map((message) => message.msgId)).toEqual([sent.msgId]);
    expect(await mqJson<MessageView[]>("message", "query", "--topic", "CliStrings", "--key", "42")).toEqual([]);

    const big = "9007199254740993"; // 2^53 + 1: a number would come back as ...992
    const bigSent = await send("CliStrings", "big", `--keys=${big}`);
    expect((await mqJson<MessageView[]>("message", "query", "--topic", "CliStrings", `--key=${big}`)).map((message) => [message.msgId, message.keys])).toEqual([[bigSent.msgId, [big]]]);

    const consumed = await consume("CliStrings", "007", 1, "--from", "first", "--tag", "007");
    expect(consumed.map((message) => message.body)).toEqual(["zeros"]);
    expect((await mqJson<{ group: string }[]>("group", "list")).map((group) => group.group)).toContain("007");
  }, testTimeoutMs);

  test("an all-digit message id is looked up as typed", async () => {
    const id = "00000000000000000000000000000042";
    expectFailure(await mq("message", "get", id), `message get ${id}`, `Cannot find message "${id}"`);
  }, testTimeoutMs);
});

describe("mq: errors", () => {
  test("bad commands, options and values exit non-zero with a message on stderr and nothing on stdout", async () => {
    await createTopic("CliErrors", 1);
    const cases: { args: string[]; message: string }[] = [
      { args: ["frobnicate"], message: 'Unknown command "frobnicate"' },
      { args: ["topic", "frob"], message: 'Unknown command "mq topic frob"' },
      { args: ["send", "CliErrors", "x", "--nope"], message: "Unknown option `--nope`" },
      { args: ["topic", "create"], message: "missing required args for command `create <topic>`" },
      { args: ["send", "CliErrors"], message: "missing required args" },
      { args: ["topic", "create", "CliNeverMade", "--queues", "abc"], message: 'INVALID_FIELD: Cannot accept request: field "--queues" must be a whole number, got "abc"' },
      { args: ["topic", "create", "CliNeverMade", "--queues", "0"], message: 'field "--queues" must be between 1 and 1024, got 0' },
      { args: ["consume", "CliErrors"], message: 'field "--group" is required' },
      { args: ["consume", "CliErrors", "--group", "G", "--from", "middle"], message: 'field "--from" must be one of first, last, got "middle"' },
      { args: ["consume", "CliNoSuchTopic", "--group", "G", "--count", "1"], message: 'TOPIC_NOT_FOUND: Cannot find topic "CliNoSuchTopic"' },
      { args: ["send", "CliErrors", "x", "--prop", "novalue"], message: 'field "--prop" expects name=value, got "novalue"' },
      { args: ["message", "query", "--topic", "CliErrors"], message: 'field "--key" is required' },
      { args: ["group", "reset-offset", "CliGroupX"], message: 'field "--topic" is required' },
      { args: ["group", "describe", "CliNoSuchGroup"], message: 'GROUP_NOT_FOUND: Cannot find consumer group "CliNoSuchGroup"' },
    ];
    const results = await Promise.all(cases.map((entry) => mq(...entry.args)));
    cases.forEach((entry, index) => expectFailure(results[index]!, entry.args.join(" "), entry.message));
    expect((await mqJson<{ topic: string }[]>("topic", "list")).map((topic) => topic.topic)).not.toContain("CliNeverMade");
  }, testTimeoutMs);

  test('an unreachable broker fails at once with "Cannot connect"', async () => {
    const unreachable = "127.0.0.1:1";
    const commands = [["topic", "list"], ["send", "CliErrors", "x"], ["consume", "CliErrors", "--group", "G", "--count", "1"], ["group", "list"], ["message", "get", "0123456789ABCDEF0123456789ABCDEF"]];
    const results = await Promise.all(commands.map((args) => cli.run([...args, "--broker", unreachable])));
    commands.forEach((args, index) => {
      const result = results[index]!;
      expectFailure(result, args.join(" "), `CONNECT_FAILED: Cannot connect to ${unreachable}`);
      expect({ args, fast: result.elapsedMs < 5_000 }).toEqual({ args, fast: true });
    });
    expectFailure(await cli.run(["topic", "list", "--broker", "nonsense"]), "--broker nonsense", 'field "--broker" expects host:port, got "nonsense"');
  }, testTimeoutMs);

  test("--help works on every noun and verb and exits 0", async () => {
    const top = await cli.run(["--help"]);
    expect({ exitCode: top.exitCode, stderr: top.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const nouns = ["start", "topic", "send", "consume", "group", "message", "bench"];
    for (const noun of nouns) expect(top.stdout).toContain(`  ${noun} `);

    const helps = [...nouns.map((noun) => [noun, "--help"]), ["topic", "create", "--help"], ["group", "reset-offset", "--help"], ["message", "query", "--help"], ["bench", "produce", "--help"], ["send", "-h"]];
    const results = await Promise.all(helps.map((args) => cli.run(args)));
    helps.forEach((args, index) => {
      const result = results[index]!;
      expect({ args, exitCode: result.exitCode, stderr: result.stderr, usage: result.stdout.includes("Usage") }).toEqual({ args, exitCode: 0, stderr: "", usage: true });
    });
    expect(results[nouns.indexOf("send")]!.stdout).toContain("--keys");
    expect(results[nouns.indexOf("consume")]!.stdout).toContain("--group");
  }, testTimeoutMs);
});

describe("mq bench", () => {
  const figures = ["msgs_s", "mb_s", "p50_us", "p99_us", "p999_us"] as const;

  /** The last line of stdout: one JSON object with the figures as finite numbers. */
  function lastJson(result: RunResult, what: string): Record<string, unknown> {
    expectOk(result, what);
    const last = JSON.parse(result.stdout.trimEnd().split("\n").at(-1)!) as Record<string, unknown>;
    for (const name of figures) expect({ what, name, finite: Number.isFinite(last[name]) }).toEqual({ what, name, finite: true });
    expect((last.p50_us as number) <= (last.p99_us as number) && (last.p99_us as number) <= (last.p999_us as number)).toBe(true);
    return last;
  }

  test("produce --count 2000 --size 64 --window 100 ends with one JSON object of figures", async () => {
    const last = lastJson(await mq("bench", "produce", "--count", "2000", "--size", "64", "--window", "100"), "bench produce");
    expect({ msgs: last.msgs, size: last.size, window: last.window }).toEqual({ msgs: 2000, size: 64, window: 100 });
    const topic = await mqJson<TopicDetail>("topic", "describe", "BenchTopic");
    expect(topic.queues.reduce((sum, queue) => sum + queue.maxOffset - queue.minOffset, 0)).toBeGreaterThanOrEqual(2000);
  }, testTimeoutMs);

  test("consume --count 2000 --group BG ends with one JSON object of figures", async () => {
    const last = lastJson(await mq("bench", "consume", "--count", "2000", "--group", "BG"), "bench consume");
    expect(last.msgs).toBe(2000);
  }, testTimeoutMs);

  test("latency --count 200 ends with one JSON object of figures, promptly", async () => {
    const result = await mq("bench", "latency", "--count", "200");
    const last = lastJson(result, "bench latency");
    expect(last.msgs).toBe(200);
    expect({ elapsedUnder10s: result.elapsedMs < 10_000 }).toEqual({ elapsedUnder10s: true });
  }, testTimeoutMs);

  test("latency --rate 2000 --count 400 splits end to end at store time and reports it from the intended send time too", async () => {
    const result = expectOk(await mq("bench", "latency", "--count", "400", "--rate", "2000"), "bench latency --rate");
    const last = lastJson(result, "bench latency --rate");
    expect(last.msgs).toBe(400);
    expect(result.stdout).toContain("end to end split at store time");
    expect(result.stdout).toContain("end to end from the intended send time");
    for (const field of ["to_store_p99_us", "from_store_p99_us", "intended_p99_us"]) expect({ field, type: typeof last[field] }).toEqual({ field, type: "number" });
  }, testTimeoutMs);
});
