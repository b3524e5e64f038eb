/**
 * `mq message get ID`, `mq message query --topic T --key K`, and scheduled messages:
 * `mq message scheduled [--topic T]` (counts per time bucket and the earliest pending ones) and
 * `mq message cancel MSGID` (prints cancelled, already-delivered or unknown), and
 * `mq message trace ID` (a message's trace timeline: hop, host, time, cost, status).
 */

import type { ReceivedMessage } from "../client/index.ts";
import { MqError } from "../common/errors.ts";
import type { ScheduledListing, TraceHop } from "../client/index.ts";
import { scheduledListBucketMsMin, scheduledListPageMax } from "../common/limits.ts";
import { integerOption, lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

type Options = Record<string, unknown>;

function messageJson(message: ReceivedMessage) {
  return {
    topic: message.topic,
    queueId: message.queueId,
    queueOffset: message.queueOffset,
    msgId: message.msgId,
    offsetMsgId: message.offsetMsgId,
    tags: message.tags,
    keys: message.keys,
    properties: message.properties,
    bornTimestampMs: message.bornTimestampMs,
    storeTimestampMs: message.storeTimestampMs,
    reconsumeTimes: message.reconsumeTimes,
    body: message.text(),
  };
}

function messageRow(message: ReceivedMessage) {
  return { msgId: message.msgId, topic: message.topic, queue: message.queueId, offset: message.queueOffset, tags: message.tags, keys: message.keys.join(","), stored: new Date(message.storeTimestampMs).toISOString(), body: message.text().slice(0, 60) };
}

export const messageCommand = nounCommand({
  name: "message",
  summary: "Look messages up by id or key",
  define(cli) {
    cli.command("get <id>", "A message by msgId or offsetMsgId").action((id: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const message = await admin.viewMessage(String(id));
        createOutput(options.json === true).result(messageJson(message), () =>
          Object.entries(messageJson(message)).map(([name, value]) => `${name.padEnd(16)} ${typeof value === "object" ? JSON.stringify(value) : String(value ?? "")}`).join("\n"),
        );
      }),
    );
    cli
      .command("query", "Messages of a topic carrying a key")
      .option("--topic <topic>", "The topic (required)", { type: [String] })
      .option("--key <key>", "The key (required)", { type: [String] })
      .action((options: Options) =>
        withAdmin(options, async (admin) => {
          const topic = lastString(options.topic);
          const key = lastString(options.key);
          if (topic === undefined) throw new MqError("INVALID_FIELD", { field: "--topic", reason: "is required" });
          if (key === undefined) throw new MqError("INVALID_FIELD", { field: "--key", reason: "is required" });
          const messages = await admin.queryByKey(topic, key);
          createOutput(options.json === true).result(messages.map(messageJson), () => formatTable(messages.map(messageRow)));
        }),
      );
    cli
      .command("scheduled", "Scheduled messages waiting for their delivery time: counts per time bucket and the earliest ones")
      .option("--topic <topic>", "Only those to be delivered into this topic", { type: [String] })
      .option("--from <time>", "Delivery at or after (ISO date-time or ms since the epoch)", { type: [String] })
      .option("--to <time>", "Delivery before (ISO date-time or ms since the epoch)", { type: [String] })
      .option("--bucket-ms <ms>", "Width of the count buckets (default 60000)", { type: [String] })
      .option("--limit <n>", "Messages listed (default 100)", { type: [String] })
      .option("--after <cursor>", "Continue after this cursor (the `next` printed by the previous page)", { type: [String] })
      .action((options: Options) =>
        withAdmin(options, async (admin) => {
          const listing = await admin.listScheduled({
            topic: lastString(options.topic),
            fromMs: timeOption("from", options.from),
            toMs: timeOption("to", options.to),
            bucketMs: options.bucketMs === undefined ? undefined : integerOption("bucket-ms", options.bucketMs, { min: scheduledListBucketMsMin, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
            limit: integerOption("limit", options.limit, { min: 1, max: scheduledListPageMax, fallback: 100 }),
            after: cursorOption(options.after),
          });
          createOutput(options.json === true).result(listing, () => scheduledText(listing));
        }),
      );
    cli
      .command("trace <id>", "A message's trace timeline by msgId, offsetMsgId or key: hop, host, time, cost, status")
      .option("--trace-topic <topic>", "Search this trace topic too (where clients were told to write)", { type: [String] })
      .action((id: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const topic = lastString(options.traceTopic);
          const hops = await admin.trace(String(id), topic === undefined ? {} : { topic });
          createOutput(options.json === true).result({ id: String(id), hops }, () => (hops.length === 0 ? `No trace found for "${String(id)}"` : formatTable(hops.map(traceRow))));
        }),
      );
    cli.command("cancel <msgId>", "Cancel a scheduled message: prints cancelled, already-delivered or unknown").action((msgId: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const outcome = await admin.cancelScheduled(String(msgId));
        createOutput(options.json === true).result({ msgId: String(msgId).toUpperCase(), outcome }, () => outcome);
      }),
    );
  },
});

function traceRow(hop: TraceHop) {
  const where = hop.queueId === undefined ? "" : `queue ${hop.queueId}${hop.queueOffset === undefined ? "" : ` offset ${hop.queueOffset}`}`;
  const about = [hop.topic, hop.group === undefined ? "" : `group ${hop.group}`, where, hop.reconsumeTimes === undefined ? "" : `retry ${hop.reconsumeTimes}`, hop.detail ?? ""].filter((part) => part !== "").join(", ");
  return { hop: hop.hop, host: hop.host, time: new Date(hop.timeMs).toISOString(), cost: hop.costMs === undefined ? "" : `${Math.round(hop.costMs * 10) / 10}ms`, status: hop.status, msgId: hop.msgId, about };
}

function timeOption(name: string, value: unknown): number | undefined {
  const text = lastString(value);
  if (text === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be an ISO date-time or ms since the epoch, got "${text}"` });
  return ms;
}

function cursorOption(value: unknown): { deliverAtMs: number; msgId: string } | undefined {
  const text = lastString(value);
  if (text === undefined) return undefined;
  const match = /^(\d{1,15})\.([0-9A-Fa-f]{32})$/.exec(text);
  if (match === null) throw new MqError("INVALID_FIELD", { field: "--after", reason: `must be a cursor printed as "next" (deliverAtMs.msgId), got "${text}"` });
  return { deliverAtMs: Number(match[1]), msgId: match[2]! };
}

function scheduledText(listing: ScheduledListing): string {
  const lines = [`${listing.total} pending`];
  if (listing.buckets.length > 0) {
    lines.push("", formatTable(listing.buckets.map((bucket) => ({ from: new Date(bucket.startMs).toISOString(), count: bucket.count }))));
    if (listing.bucketsTruncated) lines.push("(later buckets left out)");
  }
  if (listing.messages.length > 0) {
    const rows = listing.messages.map((message) => ({ msgId: message.msgId, topic: message.topic, queue: message.queueId, deliverAt: new Date(message.deliverAtMs).toISOString(), tags: message.tags ?? "", bytes: message.bodyBytes ?? "" }));
    lines.push("", formatTable(rows));
  }
  if (listing.next !== undefined) lines.push("", `next: ${listing.next.deliverAtMs}.${listing.next.msgId}`);
  return lines.join("\n");
}
