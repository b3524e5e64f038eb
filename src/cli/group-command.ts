/** `mq group list|describe|reset-offset`. */

import { isMqError, MqError } from "../common/errors.ts";
import { lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

type Options = Record<string, unknown>;

/** `first`, `last`, ms since the epoch, or an ISO date. */
export function parseResetTarget(text: string | undefined): number | "first" | "last" {
  if (text === undefined) throw new MqError("INVALID_FIELD", { field: "--to", reason: "is required: first, last, a timestamp in ms or an ISO date" });
  if (text === "first" || text === "last") return text;
  if (/^\d+$/.test(text)) return Number(text);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new MqError("INVALID_FIELD", { field: "--to", reason: `must be first, last, a timestamp in ms or an ISO date, got "${text}"` });
  return parsed;
}

export const groupCommand = nounCommand({
  name: "group",
  summary: "List consumer groups, show lag, reset offsets",
  define(cli) {
    cli.command("list", "List consumer groups").action((options: Options) =>
      withAdmin(options, async (admin) => {
        const groups = await admin.listGroups();
        createOutput(options.json === true).result(groups, () =>
          formatTable(groups.map((group) => ({ group: group.group, model: group.messageModel, clients: group.clients, lag: group.totalLag, subscriptions: group.subscriptions.map((entry) => `${entry.topic}(${entry.expression})`).join(" ") }))),
        );
      }),
    );
    cli.command("describe <group>", "Members, subscriptions and lag per queue").action((group: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const detail = await admin.getGroup(String(group));
        createOutput(options.json === true).result(detail, () =>
          [
            `Group "${detail.group}": ${detail.clientIds.length} member(s), total lag ${detail.totalLag}`,
            ...(detail.subscriptionConflict === undefined ? [] : [`WARNING: ${detail.subscriptionConflict}`]),
            ...detail.clientIds.map((clientId) => `  member ${clientId}`),
            formatTable(detail.queues.map((queue) => ({ ...(queue.brokerName === undefined ? {} : { broker: queue.brokerName }), topic: queue.topic, queue: queue.queueId, brokerOffset: queue.brokerOffset, consumerOffset: queue.consumerOffset, lag: queue.lag, lockedBy: queue.lockedBy }))),
          ].join("\n"),
        );
      }),
    );
    cli
      .command("reset-offset <group>", "Move the group's offsets on a topic")
      .option("--topic <topic>", "The topic (required)", { type: [String] })
      .option("--to <target>", "first, last, a timestamp in ms, or an ISO date", { type: [String] })
      .option("--create", "Start the group with these offsets if it does not exist yet (else an unknown group is an error)")
      .action((group: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const topic = lastString(options.topic);
          if (topic === undefined) throw new MqError("INVALID_FIELD", { field: "--topic", reason: "is required" });
          const target = parseResetTarget(lastString(options.to));
          // A typo must not create a ghost group: the group has to exist (members or offsets) unless --create.
          if (options.create !== true) await admin.getGroup(String(group)).catch((error: unknown) => {
            if (!isMqError(error, "GROUP_NOT_FOUND")) throw error;
            throw new MqError("GROUP_NOT_FOUND", { group: String(group) }, { message: `${error.message}: check the name, or pass --create to start it at these offsets` });
          });
          const result = await admin.resetOffset(String(group), topic, target);
          createOutput(options.json === true).result(result, () => formatTable(result.map((queue) => ({ topic: queue.topic, queue: queue.queueId, offset: queue.queueOffset }))));
        }),
      );
  },
});
