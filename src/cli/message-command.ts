/** `mq message get ID` and `mq message query --topic T --key K`. */

import type { ReceivedMessage } from "../client/index.ts";
import { MqError } from "../common/errors.ts";
import { lastString } from "./options.ts";
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
  },
});
