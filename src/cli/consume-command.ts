/**
 * `mq consume TOPIC --group G [--from first|last] [--count N] [--timeout MS] [--tag E | --sql E]`: prints messages as
 * they arrive (one JSON object a line with --json) until N have been printed, nothing has come
 * for MS milliseconds, or Ctrl-C; offsets are committed on the way out, so the next run of the
 * group continues after them. Against a cluster each line names the broker its queue is on
 * (queue ids repeat across brokers).
 */

import { PushConsumer, type ReceivedMessage } from "../client/index.ts";
import { compileSubscription } from "../client/subscription.ts";
import { MqError } from "../common/errors.ts";
import { consumeIdleTimeoutMsMax } from "../common/limits.ts";
import { choiceOption, clientTarget, integerOption, lastString } from "./options.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

/** One line a message: JSON, or `[broker-a Orders:2@0] <msgId> tags=.. keys=.. <body>` (the broker only in cluster mode). */
function formatMessage(message: ReceivedMessage, options: { json: boolean; cluster: boolean }): string {
  const broker = options.cluster ? message.brokerName : undefined;
  if (options.json) {
    const { topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, properties, storeTimestampMs } = message;
    return JSON.stringify({ ...(broker === undefined ? {} : { brokerName: broker }), topic, queueId, queueOffset, msgId, offsetMsgId, tags, keys, properties, storeTimestampMs, body: message.text() });
  }
  const tags = message.tags === undefined ? "" : ` tags=${message.tags}`;
  const keys = message.keys.length === 0 ? "" : ` keys=${message.keys.join(",")}`;
  return `[${broker === undefined ? "" : `${broker} `}${message.topic}:${message.queueId}@${message.queueOffset}] ${message.msgId}${tags}${keys} ${message.text()}`;
}

export const consumeCommand = nounCommand({
  name: "consume",
  summary: "Consume messages: mq consume TOPIC --group G",
  define(cli) {
    cli
      .command("<topic>", "Print messages of TOPIC as a member of --group")
      .option("--group <group>", "Consumer group (required)", { type: [String] })
      .option("--from <where>", "Where a new group starts: first or last (default last)", { type: [String] })
      .option("--count <n>", "Stop after N messages (default: run until Ctrl-C)", { type: [String] })
      .option("--timeout <ms>", "Stop once no message has arrived for this many ms (default: wait for ever)", { type: [String] })
      .option("--tag <expression>", 'Tag filter, e.g. "a || b" (default *)', { type: [String] })
      .option("--sql <expression>", "SQL92 filter over properties, e.g. \"region = 'eu' AND price > 30\" (not with --tag)", { type: [String] })
      .option("--broadcast", "Broadcasting: every consumer gets every message")
      .action(async (topic: string, options: Record<string, unknown>) => {
        const group = lastString(options.group);
        if (group === undefined) throw new MqError("INVALID_FIELD", { field: "--group", reason: "is required" });
        const from = choiceOption("from", options.from, ["first", "last"] as const, "last");
        const count = integerOption("count", options.count, { min: 1, max: Number.MAX_SAFE_INTEGER, fallback: Number.MAX_SAFE_INTEGER });
        const idleMs = integerOption("timeout", options.timeout, { min: 1, max: consumeIdleTimeoutMsMax, fallback: 0 });
        const json = options.json === true;
        const tag = lastString(options.tag);
        const sql = lastString(options.sql);
        if (tag !== undefined && sql !== undefined) throw new MqError("INVALID_FIELD", { field: "--sql", reason: "cannot be given with --tag" });
        // A bad expression is reported before connecting (FILTER_EXPRESSION_INVALID: line and column).
        const expression = sql === undefined ? (tag ?? "*") : { sql };
        compileSubscription(expression);
        const target = clientTarget(options);
        // The SDK waits for a topic that may be created later; from a terminal that looks like a
        // hang, so a topic that does not exist is reported (TOPIC_NOT_FOUND) before subscribing.
        await withAdmin(options, (admin) => admin.getTopic(String(topic)));
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        const consumer = new PushConsumer({
          ...target,
          group,
          consumeFromWhere: from,
          messageModel: options.broadcast === true ? "broadcasting" : "clustering",
          concurrency: 1,
          signal: stop.signal,
        });
        consumer.subscribe(String(topic), expression);
        const cluster = target.namesrv !== undefined;
        // --timeout: an idle timer, restarted by every message, that stops the consumer.
        let idleTimer: ReturnType<typeof setTimeout> | undefined;
        const restartIdleTimer = () => {
          if (idleMs === 0) return;
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => stop.abort(), idleMs);
        };
        restartIdleTimer();
        let printed = 0;
        try {
          for await (const message of consumer) {
            restartIdleTimer();
            process.stdout.write(formatMessage(message, { json, cluster }) + "\n");
            printed += 1;
            if (printed >= count) break;
          }
        } finally {
          clearTimeout(idleTimer);
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await consumer.shutdown();
        }
        if (!json) process.stderr.write(`Consumed ${printed} message(s)\n`);
      });
  },
});
