/** `mq group list|describe|config|create|update|reset-offset`. */

import type { CAC } from "cac";
import { isMqError, MqError } from "../common/errors.ts";
import { type GroupConfig, type GroupConfigUpdate, groupConfigUpdateSchema } from "../protocol/group-config.ts";
import { validateFields } from "../protocol/schemas.ts";
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

/** A number flag (the back-off's factor and jitter may be fractions); undefined when absent. */
function numberFlag(name: string, value: unknown): number | undefined {
  const text = lastString(value);
  if (text === undefined) return undefined;
  const parsed = Number(text);
  if (text.trim() === "" || !Number.isFinite(parsed)) throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be a number, got "${text}"` });
  return parsed;
}

/** `--orderly` alone is true; `--orderly false` turns it off. */
function booleanFlag(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  const text = value === true ? "true" : lastString(value);
  if (text === "true" || text === "") return true;
  if (text === "false") return false;
  throw new MqError("INVALID_FIELD", { field: `--${name}`, reason: `must be true or false, got "${text}"` });
}

/** The group config flags as an update, checked by the same schema the broker uses. */
export function groupConfigFromFlags(group: string, options: Options): GroupConfigUpdate {
  const kind = lastString(options.backoff);
  const backoff =
    kind === undefined
      ? undefined
      : kind === "exponential"
        ? { kind, initialMs: numberFlag("initial-ms", options.initialMs), factor: numberFlag("factor", options.factor) ?? 2, maxMs: numberFlag("max-ms", options.maxMs), jitter: numberFlag("jitter", options.jitter) ?? 0 }
        : { kind };
  const update = {
    group,
    maxReconsumeTimes: numberFlag("max-reconsume-times", options.maxReconsumeTimes),
    backoff,
    consumeEnable: booleanFlag("consume-enable", options.consumeEnable),
    orderly: booleanFlag("orderly", options.orderly),
  };
  const checked = validateFields(groupConfigUpdateSchema, update);
  if (!checked.ok) throw flagError(checked.error);
  return checked.fields;
}

const flagNames: Record<string, string> = { maxReconsumeTimes: "--max-reconsume-times", "backoff.kind": "--backoff", "backoff.initialMs": "--initial-ms", "backoff.factor": "--factor", "backoff.maxMs": "--max-ms", "backoff.jitter": "--jitter" };

function flagError(error: MqError): MqError {
  const field = String(error.params.field ?? "");
  return new MqError("INVALID_FIELD", { ...error.params, field: flagNames[field] ?? field });
}

function configText(config: GroupConfig): string {
  const backoff = config.backoff.kind === "levels" ? "levels (delay levels 3.., 10 s .. 2 h)" : `exponential (initial ${config.backoff.initialMs} ms, factor ${config.backoff.factor}, max ${config.backoff.maxMs} ms, jitter ${config.backoff.jitter})`;
  return [`Group "${config.group}"`, `  maxReconsumeTimes ${config.maxReconsumeTimes}`, `  back-off          ${backoff}`, `  consumeEnable     ${config.consumeEnable}`, `  orderly           ${config.orderly}`].join("\n");
}

function configCommand(cli: CAC, name: "create" | "update", summary: string): void {
  cli
    .command(`${name} <group>`, summary)
    .option("--max-reconsume-times <n>", "Deliveries of a failing message are 1 + this, then it goes to %DLQ%<group> (default 16)", { type: [String] })
    .option("--backoff <kind>", "levels (delay levels 3.., the default) or exponential", { type: [String] })
    .option("--initial-ms <ms>", "exponential: the first retry's delay", { type: [String] })
    .option("--factor <x>", "exponential: each retry waits this many times the one before (default 2)", { type: [String] })
    .option("--max-ms <ms>", "exponential: the longest delay", { type: [String] })
    .option("--jitter <fraction>", "exponential: 0..1 of the delay added or removed at random (default 0)", { type: [String] })
    .option("--orderly [bool]", "Consumed in order (true/false)")
    .option("--consume-enable [bool]", "The group may consume (true/false)")
    .action((group: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const { group: name, ...settings } = groupConfigFromFlags(String(group), options);
        const config = await admin.updateGroupConfig(name, settings);
        createOutput(options.json === true).result(config, () => configText(config));
      }),
    );
}

export const groupCommand = nounCommand({
  name: "group",
  summary: "List consumer groups, show lag, configure retries, reset offsets",
  define(cli) {
    configCommand(cli, "create", "Create a group's configuration (retry max, back-off, orderly, consume-enable), or change it");
    configCommand(cli, "update", "Change a group's configuration; flags left out keep their value");
    cli.command("config <group>", "Show a group's configuration").action((group: string, options: Options) =>
      withAdmin(options, async (admin) => {
        const config = await admin.getGroupConfig(String(group));
        createOutput(options.json === true).result(config, () => configText(config));
      }),
    );
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
