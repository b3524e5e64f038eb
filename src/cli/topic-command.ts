/** `mq topic create|list|describe|delete`. */

import { Admin } from "../client/index.ts";
import { brokerOption, integerOption, lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";

type Options = Record<string, unknown>;

async function withAdmin<T>(options: Options, body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ broker: brokerOption(options) });
  try {
    return await body(admin);
  } finally {
    await admin.close();
  }
}

function permText(perm: number): string {
  return `${perm & 4 ? "R" : "-"}${perm & 2 ? "W" : "-"}${perm & 1 ? "I" : "-"}`;
}

export const topicCommand = nounCommand({
  name: "topic",
  summary: "Create, list, describe and delete topics",
  define(cli) {
    cli
      .command("create <topic>", "Create or update a topic")
      .option("--queues <n>", "Read and write queue count (default 8)", { type: [String] })
      .option("--perm <bits>", "Permission bits: read 4, write 2, inherit 1 (default 6)", { type: [String] })
      .option("--order", "Mark the topic as ordered")
      .action((topic: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const queues = integerOption("queues", options.queues, { min: 1, max: 1024, fallback: 8 });
          const perm = integerOption("perm", options.perm, { min: 0, max: 7, fallback: 6 });
          await admin.createTopic(String(topic), { queues, perm, order: options.order === true });
          const out = createOutput(options.json === true);
          out.result({ topic: String(topic), queues, perm, order: options.order === true }, () => `Created topic "${topic}" with ${queues} queues (${permText(perm)})`);
        }),
      );
    cli.command("list", "List topics").action((options: Options) =>
      withAdmin(options, async (admin) => {
        const topics = await admin.listTopics();
        createOutput(options.json === true).result(topics, () =>
          formatTable(topics.map((topic) => ({ topic: topic.topic, read: topic.readQueues, write: topic.writeQueues, perm: permText(topic.perm), order: topic.order }))),
        );
      }),
    );
    cli.command("describe <topic>", "Show a topic's configuration and per-queue offsets").action((topic: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const detail = await admin.getTopic(String(topic));
        createOutput(options.json === true).result(detail, () =>
          [
            `Topic "${detail.topic}": ${detail.readQueues} read / ${detail.writeQueues} write queues, perm ${permText(detail.perm)}${detail.order ? ", ordered" : ""}`,
            formatTable(detail.queues.map((queue) => ({ queue: queue.queueId, min: queue.minOffset, max: queue.maxOffset, messages: queue.maxOffset - queue.minOffset }))),
          ].join("\n"),
        );
      }),
    );
    cli.command("delete <topic>", "Delete a topic").action((topic: string, options: Options) =>
      withAdmin(options, async (admin) => {
        await admin.deleteTopic(String(topic));
        createOutput(options.json === true).result({ topic: String(topic), deleted: true }, () => `Deleted topic "${topic}"`);
      }),
    );
  },
});

export { withAdmin };
