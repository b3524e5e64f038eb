/** `mq dlq list|redrive`: a group's dead letters, why they failed, and resending them. */

import { MqError } from "../common/errors.ts";
import { deadLetterPageDefault, deadLetterPageMax, redriveRatePerSecondMax } from "../common/limits.ts";
import type { DeadLetterView, RedriveResult } from "../client/dead-letter-listing.ts";
import { instantOption, integerOption, lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

type Options = Record<string, unknown>;

export const dlqCommand = nounCommand({
  name: "dlq",
  summary: "A group's dead letters: list them with why they failed, redrive them",
  define(cli) {
    cli
      .command("list <group>", "Dead letters of a group, oldest first: origin, reconsume count, failure times, client id, error")
      .option("--from <time>", "Entered the DLQ at or after (ISO date-time or ms since the epoch)", { type: [String] })
      .option("--to <time>", "Entered the DLQ at or before (ISO date-time or ms since the epoch)", { type: [String] })
      .option("--msg-id <id>", "Only the entry with this id, msgId or origin msgId", { type: [String] })
      .option("--limit <n>", `Entries listed (default ${deadLetterPageDefault})`, { type: [String] })
      .option("--after <cursor>", "Continue after this cursor (the `next` printed by the previous page)", { type: [String] })
      .action((group: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const page = await admin.listDeadLetters(String(group), {
            fromMs: instantOption("from", options.from),
            toMs: instantOption("to", options.to),
            msgId: lastString(options.msgId),
            limit: integerOption("limit", options.limit, { min: 1, max: deadLetterPageMax, fallback: deadLetterPageDefault }),
            after: lastString(options.after),
          });
          createOutput(options.json === true).result(page, () => [formatTable(page.entries.map(entryRow)), ...(page.next === undefined ? [] : [`next: ${page.next}`])].join("\n"));
        }),
      );
    cli
      .command("redrive <group>", "Resend dead letters to their origin topic (or --to-topic); one result per entry")
      .option("--ids <ids>", "Entries by id, msgId or origin msgId, comma separated", { type: [String] })
      .option("--from <time>", "Entries that entered the DLQ at or after (ISO date-time or ms since the epoch)", { type: [String] })
      .option("--to <time>", "...and at or before", { type: [String] })
      .option("--all", "Every entry of the group's DLQ")
      .option("--to-topic <topic>", "Resend to this topic instead of each entry's origin topic", { type: [String] })
      .option("--rate <n>", "Messages per second at most (default: as fast as the broker stores them)", { type: [String] })
      .option("--force", "Resend entries a redrive already resent")
      .action((group: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const ids = lastString(options.ids)?.split(",").map((id) => id.trim()).filter((id) => id.length > 0);
          const fromMs = instantOption("from", options.from);
          const toMs = instantOption("to", options.to);
          if (ids === undefined && fromMs === undefined && toMs === undefined && options.all !== true) throw new MqError("INVALID_FIELD", { field: "--ids", reason: "is required: pass --ids, --from/--to, or --all" });
          const results = await admin.redrive(String(group), {
            ids,
            fromMs,
            toMs,
            all: options.all === true,
            toTopic: lastString(options.toTopic),
            ratePerSecond: options.rate === undefined ? undefined : integerOption("rate", options.rate, { min: 1, max: redriveRatePerSecondMax, fallback: 1 }),
            force: options.force === true,
          });
          createOutput(options.json === true).result(results, () => formatTable(results.map(resultRow)));
        }),
      );
  },
});

function entryRow(entry: DeadLetterView & { brokerName?: string }) {
  return {
    ...(entry.brokerName === undefined ? {} : { broker: entry.brokerName }),
    id: entry.id,
    originTopic: entry.originTopic,
    originMsgId: entry.originMsgId,
    reconsumes: entry.reconsumeTimes,
    firstFailure: isoTime(entry.firstFailureMs),
    lastFailure: isoTime(entry.lastFailureMs),
    clientId: entry.clientId,
    error: entry.errorText,
    redriven: entry.redriven,
  };
}

function resultRow(result: RedriveResult & { brokerName?: string }) {
  return {
    ...(result.brokerName === undefined ? {} : { broker: result.brokerName }),
    id: result.id,
    originMsgId: result.originMsgId,
    result: result.status === "resent" ? `resent to ${result.topic} as ${result.msgId}` : `failed: ${result.reason}`,
  };
}

function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
