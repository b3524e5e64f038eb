/** `mq send TOPIC BODY [--tag T] [--keys k1,k2] [--prop k=v]...`: one message, printing its ids. */

import { Producer } from "../client/index.ts";
import { clientTarget, keysOption, lastString, propertiesOption } from "./options.ts";
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
      .action(async (topic: string, body: string, options: Record<string, unknown>) => {
        // Stdin is taken as bytes: decoding it as UTF-8 would turn any binary body into U+FFFDs.
        const payload = String(body) === "-" ? new Uint8Array(await new Response(Bun.stdin.stream()).arrayBuffer()) : String(body);
        const producer = new Producer(clientTarget(options));
        await producer.start();
        try {
          const tags = lastString(options.tag);
          const shardingKey = lastString(options.shardingKey);
          const result = await producer.send({
            topic: String(topic),
            body: payload,
            ...(tags === undefined ? {} : { tags }),
            ...(shardingKey === undefined ? {} : { shardingKey }),
            keys: keysOption(options.keys) ?? [],
            properties: propertiesOption(options.prop) ?? {},
          });
          createOutput(options.json === true).result(result, () => formatTable([{ ...result }], ["msgId", "offsetMsgId", "topic", "queueId", "queueOffset"]));
        } finally {
          await producer.shutdown();
        }
      });
  },
});
