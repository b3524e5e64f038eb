/**
 * `mq tx list`, `mq tx commit ID` and `mq tx rollback ID` against a broker in this process: the
 * table and --json listing of pending transactions, commit and rollback by id, a repeated commit
 * that says so, and the refusal of the other outcome with the catalogue error.
 */

import { describe, expect, test } from "bun:test";
import { txCommand } from "../../../src/cli/tx-command.ts";
import { Admin } from "../../../src/client/admin.ts";
import { TransactionProducer } from "../../../src/client/transaction-producer.ts";
import { startTestBroker } from "../../helpers/broker.ts";
import { type CliRun, runCli } from "../../helpers/run-cli.ts";

function mqTx(...argv: string[]): Promise<CliRun> {
  return runCli(txCommand, argv);
}

describe("CLI: mq tx", () => {
  test("lists pending transactions, commits and rolls back by id, and refuses the other outcome", async () => {
    const broker = await startTestBroker();
    const admin = new Admin({ broker: broker.address });
    await admin.createTopic("Orders", { queues: 1 });
    const producer = new TransactionProducer({ broker: broker.address, group: "shop", checkListener: () => "unknown" });
    await producer.start();
    try {
      const first = await producer.sendHalf({ topic: "Orders", body: "a" });
      const second = await producer.sendHalf({ topic: "Orders", body: "b" });
      const table = await mqTx("list", "--broker", broker.address);
      expect(table.code).toBe(0);
      expect(table.stdout).toContain(first.transactionId);
      expect(table.stdout).toContain("shop");
      expect(table.stdout).toContain("2 in all");
      const json = await mqTx("list", "--broker", broker.address, "--json");
      expect(JSON.parse(json.stdout).transactions.map((view: { transactionId: string }) => view.transactionId)).toEqual([first.transactionId, second.transactionId]);
      const committed = await mqTx("commit", first.transactionId, "--broker", broker.address);
      expect([committed.code, committed.stdout.trim()]).toEqual([0, `Transaction ${first.transactionId} committed (queue 0, offset 0, offsetMsgId ${committed.stdout.trim().split("offsetMsgId ")[1]!.slice(0, -1)})`]);
      const again = await mqTx("commit", first.transactionId, "--broker", broker.address);
      expect(again.stdout.trim()).toBe(`Transaction ${first.transactionId} was already committed`);
      const rolledBack = await mqTx("rollback", second.transactionId, "--broker", broker.address);
      expect(rolledBack.stdout.trim()).toBe(`Transaction ${second.transactionId} rolled back`);
      const refused = await mqTx("commit", second.transactionId, "--broker", broker.address);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`Cannot commit transaction "${second.transactionId}": it was already rolled back`);
      expect((await mqTx("list", "--broker", broker.address)).stdout.trim()).toBe("No transactions");
      expect(broker.store.maxOffset("Orders", 0) as number).toBe(1);
    } finally {
      await producer.shutdown();
      await admin.close();
    }
  });
});
