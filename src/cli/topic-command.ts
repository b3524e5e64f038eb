/** `mq topic create|update|list|describe|route|delete`. */

import { Admin } from "../client/index.ts";
import { dedupWindowMsMax } from "../common/limits.ts";
import { brokerRoleOf } from "../protocol/broker-role.ts";
import { allStrings, clientTarget, integerOption, lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";

type Options = Record<string, unknown>;

async function withAdmin<T>(options: Options, body: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientTarget(options));
  try {
    return await body(admin);
  } finally {
    await admin.close();
  }
}

function describeLine(detail: { readQueues: number; writeQueues: number; perm: number; order: boolean; dedupWindowMs?: number }): string {
  const window = detail.dedupWindowMs === undefined ? "" : detail.dedupWindowMs === 0 ? ", no dedup window" : `, dedup window ${detail.dedupWindowMs} ms`;
  return `${detail.readQueues} read / ${detail.writeQueues} write queues, perm ${permText(detail.perm)}${detail.order ? ", ordered" : ""}${window}`;
}

function permText(perm: number): string {
  return `${perm & 4 ? "R" : "-"}${perm & 2 ? "W" : "-"}${perm & 1 ? "I" : "-"}`;
}

export const topicCommand = nounCommand({
  name: "topic",
  summary: "Create, list, describe and delete topics",
  define(cli) {
    cli
      .command("create <topic>", "Create a topic (one that exists is an error: TOPIC_EXISTS)")
      .option("--queues <n>", "Read and write queue count (default 8)", { type: [String] })
      .option("--perm <bits>", "Permission bits: read 4, write 2, inherit 1 (default 6)", { type: [String] })
      .option("--order", "Mark the topic as ordered")
      .option("--dedup-window-ms <ms>", "The topic's own dedup window (exactly-once produce), up to 86400000; 0: none even when the broker has one", { type: [String] })
      .option("--broker-name <names>", "With --namesrv: only on these brokers, comma separated or repeated (default: every broker of the cluster)", { type: [String] })
      .action((topic: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const queues = integerOption("queues", options.queues, { min: 1, max: 1024, fallback: 8 });
          const perm = integerOption("perm", options.perm, { min: 0, max: 7, fallback: 6 });
          const dedupWindowMs = options.dedupWindowMs === undefined ? undefined : integerOption("dedup-window-ms", options.dedupWindowMs, { min: 0, max: dedupWindowMsMax, fallback: 0 });
          const brokerNames = allStrings(options.brokerName).flatMap((entry) => entry.split(",")).map((name) => name.trim()).filter((name) => name.length > 0);
          await admin.createTopic(String(topic), { queues, perm, order: options.order === true, ...(dedupWindowMs === undefined ? {} : { dedupWindowMs }), ...(brokerNames.length === 0 ? {} : { brokerNames }) });
          const out = createOutput(options.json === true);
          const where = brokerNames.length === 0 ? "" : ` on ${brokerNames.join(", ")}`;
          out.result({ topic: String(topic), queues, perm, order: options.order === true, ...(brokerNames.length === 0 ? {} : { brokerNames }) }, () => `Created topic "${topic}" with ${queues} queues (${permText(perm)})${where}`);
        }),
      );
    cli
      .command("update <topic>", "Change a topic's queues, permission or dedup window; options left out keep their value")
      .option("--queues <n>", "Read and write queue count", { type: [String] })
      .option("--perm <bits>", "Permission bits: read 4, write 2, inherit 1", { type: [String] })
      .option("--dedup-window-ms <ms>", "The topic's own dedup window, up to 86400000; 0: none even when the broker has one", { type: [String] })
      .action((topic: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const queues = options.queues === undefined ? undefined : integerOption("queues", options.queues, { min: 1, max: 1024, fallback: 8 });
          const perm = options.perm === undefined ? undefined : integerOption("perm", options.perm, { min: 0, max: 7, fallback: 6 });
          const dedupWindowMs = options.dedupWindowMs === undefined ? undefined : integerOption("dedup-window-ms", options.dedupWindowMs, { min: 0, max: dedupWindowMsMax, fallback: 0 });
          const change = { ...(queues === undefined ? {} : { readQueues: queues, writeQueues: queues }), ...(perm === undefined ? {} : { perm }), ...(dedupWindowMs === undefined ? {} : { dedupWindowMs }) };
          await admin.updateTopic(String(topic), change);
          const detail = await admin.getTopic(String(topic));
          createOutput(options.json === true).result(detail, () => `Updated topic "${topic}": ${describeLine(detail)}`);
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
            `Topic "${detail.topic}": ${describeLine(detail)}`,
            formatTable(detail.queues.map((queue) => ({ ...(queue.brokerName === undefined ? {} : { broker: queue.brokerName }), queue: queue.queueId, min: queue.minOffset, max: queue.maxOffset, messages: queue.maxOffset - queue.minOffset }))),
          ].join("\n"),
        );
      }),
    );
    cli.command("route <topic>", "Show where a topic lives: queue data per broker and broker addresses").action((topic: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const route = await admin.getTopicRoute(String(topic));
        createOutput(options.json === true).result(route, () => {
          const addresses = new Map(route.brokerDatas.map((broker) => [broker.brokerName, broker]));
          return [
            `Topic "${route.topic}": ${route.queueDatas.length} broker(s)`,
            formatTable(
              route.queueDatas.map((queueData) => ({
                broker: queueData.brokerName,
                read: queueData.readQueues,
                write: queueData.writeQueues,
                perm: permText(queueData.perm),
                order: queueData.order,
                addresses: Object.entries(addresses.get(queueData.brokerName)?.brokerAddrs ?? {})
                  .map(([id, address]) => `${(addresses.get(queueData.brokerName)?.brokerRoles?.[id] ?? brokerRoleOf(Number(id))) === "master" ? "master" : `slave ${id}`} ${address}`)
                  .join(", "),
              })),
            ),
          ].join("\n");
        });
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
