/**
 * `mq tx list|commit|rollback`: transactions left unresolved (issue 12). `list` shows the
 * pending (or, with --state exhausted, the exhausted) half messages with producer group, topic,
 * age and check-backs; `commit ID` / `rollback ID` end one by transaction id — for an operator
 * resolving what a dead producer left.
 */

import { transactionListPageDefault, transactionListPageMax } from "../common/limits.ts";
import { MqError } from "../common/errors.ts";
import { describeEnd, type TransactionListing, type TransactionView } from "../client/transaction-listing.ts";
import { integerOption, lastString } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

type Options = Record<string, unknown>;

export const txCommand = nounCommand({
  name: "tx",
  summary: "Transactions left unresolved: list them, commit or roll one back by id",
  define(cli) {
    cli
      .command("list", "Pending (or exhausted) transactions, oldest first: producer group, topic, age, check-backs")
      .option("--state <state>", "pending (default) or exhausted", { type: [String] })
      .option("--limit <n>", `Transactions listed (default ${transactionListPageDefault})`, { type: [String] })
      .option("--after <id>", "Continue after this transaction id (the `next` printed by the previous page)", { type: [String] })
      .action((options: Options) =>
        withAdmin(options, async (admin) => {
          const state = lastString(options.state) ?? "pending";
          if (state !== "pending" && state !== "exhausted") throw new MqError("INVALID_FIELD", { field: "--state", reason: `must be pending or exhausted, got "${state}"` });
          const listing = await admin.listTransactions({ state, limit: integerOption("limit", options.limit, { min: 1, max: transactionListPageMax, fallback: transactionListPageDefault }), after: lastString(options.after) });
          createOutput(options.json === true).result(listing, () => listingText(listing));
        }),
      );
    for (const resolution of ["commit", "rollback"] as const) {
      cli.command(`${resolution} <id>`, resolution === "commit" ? "Commit a transaction by id: its message appears in its topic" : "Roll a transaction back by id: its message is discarded").action((id: string, options: Options) =>
        withAdmin(options, async (admin) => {
          const result = resolution === "commit" ? await admin.commitTransaction(String(id)) : await admin.rollbackTransaction(String(id));
          createOutput(options.json === true).result(result, () => describeEnd(result));
        }),
      );
    }
  },
});

function listingText(listing: TransactionListing): string {
  if (listing.transactions.length === 0) return "No transactions";
  return [formatTable(listing.transactions.map(row)), `${listing.total} in all`, ...(listing.next === undefined ? [] : [`next: ${listing.next}`])].join("\n");
}

function row(view: TransactionView) {
  return {
    transactionId: view.transactionId,
    producerGroup: view.producerGroup,
    topic: view.topic,
    age: `${Math.round(view.ageMs / 1_000)}s`,
    checks: view.checks,
    state: view.state,
    nextCheck: view.nextCheckMs === undefined ? undefined : new Date(view.nextCheckMs).toISOString(),
  };
}
