/**
 * `mq topic update` against a broker in this process: options left out keep their value — a
 * queue change keeps the topic's own dedup window — and `--dedup-window-ms` changes it;
 * `mq topic describe` shows the window.
 */

import { describe, expect, test } from "bun:test";
import { topicCommand } from "../../../src/cli/topic-command.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { type CliRun, runCli } from "../../helpers/run-cli.ts";

function mqTopic(...argv: string[]): Promise<CliRun> {
  return runCli(topicCommand, argv);
}

describe("CLI: mq topic update", () => {
  test("changes queues and keeps the dedup window; --dedup-window-ms changes the window", async () => {
    const broker = await startTestBroker();
    const config = () => broker.broker.context.topics.get("Orders");
    expect((await mqTopic("create", "Orders", "--queues", "2", "--dedup-window-ms", "60000", "--broker", broker.address)).code).toBe(0);
    const updated = await mqTopic("update", "Orders", "--queues", "4", "--broker", broker.address);
    expect([updated.code, updated.stdout.trim()]).toEqual([0, `Updated topic "Orders": 4 read / 4 write queues, perm RW-, dedup window 60000 ms`]);
    expect([config()?.writeQueues, config()?.perm, config()?.dedupWindowMs]).toEqual([4, 6, 60_000]);
    const off = await mqTopic("update", "Orders", "--dedup-window-ms", "0", "--json", "--broker", broker.address);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ topic: "Orders", writeQueues: 4, dedupWindowMs: 0 });
    expect(config()?.dedupWindowMs).toBe(0);
    const described = await mqTopic("describe", "Orders", "--broker", broker.address);
    expect(described.stdout).toContain(`Topic "Orders": 4 read / 4 write queues, perm RW-, no dedup window`);
  });
});
