/**
 * `mq send TOPIC BODY [--tag T] [--keys k1,k2] [--prop k=v]... [--delay 90s | --deliver-at TIME |
 * --delay-level N]`: one message, printing its ids (and, when scheduled, its delivery time).
 */

import { Producer } from "../client/index.ts";
import { clientTarget, durationOption, instantOption, integerOption, keysOption, lastString, propertiesOption } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";

export const sendCommand = nounCommand({
  name: "send",
  summary: "Send one message: mq send TOPIC BODY",
  define(cli) {
    cli
      .command("<topic> <body>", "Send one message (BODY as UTF-8 text; - reads the body from stdin, as bytes)")
      .option("--tag <tag>", "The message's tag", { type: [String] })
      .option("--keys <keys>", "Business keys, comma separated (indexed for lookup)", { type: [String] })
      .option("--prop <name=value>", "A user property (repeatable)", { type: [String] })
      .option("--sharding-key <key>", "Messages with one sharding key go to one queue, in order", { type: [String] })
      .option("--delay <duration>", "Deliver after this long (90s, 1500ms, 2m, 1h, 1d), counted on the broker's clock", { type: [String] })
      .option("--deliver-at <time>", "Deliver at this time (ISO date-time like 2026-12-24T18:00Z, or ms since the epoch)", { type: [String] })
      .option("--delay-level <level>", "Deliver after the broker's delay level N (default table 1s 5s 10s 30s 1m ... 2h)", { type: [String] })
      .action(async (topic: string, body: string, options: Record<string, unknown>) => {
        // Stdin is taken as bytes: decoding it as UTF-8 would turn any binary body into U+FFFDs.
        const payload = String(body) === "-" ? new Uint8Array(await new Response(Bun.stdin.stream()).arrayBuffer()) : String(body);
        const producer = new Producer(clientTarget(options));
        await producer.start();
        try {
          const tags = lastString(options.tag);
          const shardingKey = lastString(options.shardingKey);
          const delayMs = durationOption("delay", options.delay);
          const deliverAtMs = instantOption("deliver-at", options.deliverAt);
          const delayLevel = options.delayLevel === undefined ? undefined : integerOption("delay-level", options.delayLevel, { min: 1, max: 64, fallback: 0 });
          const result = await producer.send({
            topic: String(topic),
            body: payload,
            ...(tags === undefined ? {} : { tags }),
            ...(shardingKey === undefined ? {} : { shardingKey }),
            keys: keysOption(options.keys) ?? [],
            properties: propertiesOption(options.prop) ?? {},
            ...(delayMs === undefined ? {} : { delayMs }),
            ...(deliverAtMs === undefined ? {} : { deliverAt: deliverAtMs }),
            ...(delayLevel === undefined ? {} : { delayLevel }),
          });
          const scheduled = result.deliverAtMs === undefined ? {} : { deliverAt: new Date(result.deliverAtMs).toISOString(), scheduled: result.scheduled };
          createOutput(options.json === true).result(result, () => formatTable([{ ...result, ...scheduled }], ["msgId", "offsetMsgId", "topic", "queueId", "queueOffset", ...(result.deliverAtMs === undefined ? [] : ["deliverAt", "scheduled"])]));
        } finally {
          await producer.shutdown();
        }
      });
  },
});
