/**
 * `mq dlq list` and `mq dlq redrive` against a broker in this process: the table and --json
 * listing with each entry's why, redrive by ids and by time range with one result per entry,
 * a repeat that resends nothing, --force, and the refusal of a redrive that names nothing.
 */

import { describe, expect, test } from "bun:test";
import { dlqCommand } from "../../../src/cli/dlq-command.ts";
import { Admin } from "../../../src/client/admin.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { type CliRun, runCli } from "../../helpers/run-cli.ts";
import { appendDeadLetter, originId } from "../../helpers/dead-letters.ts";

function mqDlq(...argv: string[]): Promise<CliRun> {
  return runCli(dlqCommand, argv);
}

async function brokerWithEntries(count: number) {
  const broker = await startTestBroker();
  const admin = new Admin({ broker: broker.address });
  await admin.createTopic("Orders", { queues: 1 });
  await admin.close();
  const storedMs: number[] = [];
  for (let index = 0; index < count; index++) storedMs.push((await appendDeadLetter(broker.store, "billing", { originTopic: "Orders", originMsgId: originId(index), errorText: `Error: order ${index}` })).storeTimestampMs);
  return { broker, storedMs };
}

describe("mq dlq", () => {
  test("list prints a table of entries with why they failed, or one JSON document", async () => {
    const { broker } = await brokerWithEntries(2);
    const table = await mqDlq("list", "billing", "--broker", broker.address);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("ORIGINTOPIC");
    expect(table.stdout).toContain("Error: order 1");
    const json = await mqDlq("list", "billing", "--broker", broker.address, "--json", "--limit", "1");
    const page = JSON.parse(json.stdout) as { entries: Array<{ originMsgId: string; reconsumeTimes: number; clientId: string }>; next?: string };
    expect(page.entries.map((entry) => entry.originMsgId)).toEqual([originId(0)]);
    expect(page.entries[0]).toMatchObject({ reconsumeTimes: 16, clientId: "10.0.0.1@worker-1" });
    expect(page.next).toBeDefined();
  });

  test("redrive by ids and by time range prints one result per entry; a repeat resends nothing; --force resends", async () => {
    const { broker, storedMs } = await brokerWithEntries(3);
    const byIds = await mqDlq("redrive", "billing", "--broker", broker.address, "--ids", `${originId(0)},${originId(1)}`, "--json");
    expect(byIds.code).toBe(0);
    expect((JSON.parse(byIds.stdout) as Array<{ status: string }>).map((result) => result.status)).toEqual(["resent", "resent"]);

    const byRange = await mqDlq("redrive", "billing", "--broker", broker.address, "--from", String(storedMs[0]), "--to", String(storedMs.at(-1)), "--rate", "100", "--json");
    const ranged = JSON.parse(byRange.stdout) as Array<{ originMsgId: string; status: string }>;
    expect(ranged.map((result) => [result.originMsgId, result.status])).toEqual([
      [originId(0), "failed"],
      [originId(1), "failed"],
      [originId(2), "resent"],
    ]);
    const repeat = await mqDlq("redrive", "billing", "--broker", broker.address, "--all");
    expect(repeat.stdout).toContain("failed: already redriven: force resends it");
    expect(repeat.stdout).not.toContain("resent to");
    const forced = await mqDlq("redrive", "billing", "--broker", broker.address, "--ids", originId(2), "--force", "--to-topic", "Orders");
    expect(forced.stdout).toContain("resent to Orders as ");
  });

  test("a redrive naming no ids, range or --all is refused", async () => {
    const { broker } = await brokerWithEntries(1);
    const refused = await mqDlq("redrive", "billing", "--broker", broker.address);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--ids");
  });
});
