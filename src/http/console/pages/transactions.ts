/**
 * Transactions: half messages waiting for an outcome (pending) or past their check-backs without
 * one (exhausted), oldest first with producer group, topic, age and check-backs; commit or roll
 * one back after a confirmation (a commit makes its message appear in its topic).
 */

import { useState } from "preact/hooks";
import { enc, get, mutate } from "../api.ts";
import type { PageProps } from "../router.ts";
import { ErrorBanner, formatDuration, formatNumber, formatTime, html, useConfirm, usePoll } from "../ui.ts";

const refreshMs = 5_000;

interface TransactionView {
  transactionId: string;
  msgId: string;
  producerGroup: string;
  topic: string;
  state: "pending" | "exhausted";
  storedMs: number;
  ageMs: number;
  checks: number;
  nextCheckMs?: number;
}

interface TransactionListing {
  transactions: TransactionView[];
  total: number;
  next?: string;
}

interface EndAnswer {
  already: boolean;
  committed?: { queueId: number; queueOffset: number; offsetMsgId: string };
}

export function TransactionsPage(props: PageProps) {
  const [state, setState] = useState<"pending" | "exhausted">("pending");
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after.at(-1);
  const listing = usePoll(() => get<TransactionListing>("/transactions", { state, limit: 100, after: cursor }), refreshMs, [state, cursor]);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const { ask, dialog } = useConfirm((result) => {
    setOutcome(result as string);
    listing.reload();
  });
  const end = (transaction: TransactionView, resolution: "commit" | "rollback") =>
    ask({
      title: `${resolution === "commit" ? "Commit" : "Roll back"} transaction ${transaction.transactionId}?`,
      detail: html`<p>${resolution === "commit" ? `Its message (msgId ${transaction.msgId}) appears in ${transaction.topic}.` : "Its message is discarded."} Producer group ${transaction.producerGroup}.</p>`,
      confirmLabel: resolution === "commit" ? "Commit" : "Roll back",
      danger: resolution === "rollback",
      run: async () => {
        const answer = await mutate<EndAnswer>("POST", `/transactions/${enc(transaction.transactionId)}/${resolution}`);
        const done = resolution === "commit" ? "committed" : "rolled back";
        return answer.already ? `${transaction.transactionId} was already ${done}` : `${transaction.transactionId} ${done}${answer.committed === undefined ? "" : `: ${transaction.topic} queue ${answer.committed.queueId}, offset ${answer.committed.queueOffset}`}`;
      },
    });
  const data = listing.data;
  const choose = (next: "pending" | "exhausted") => {
    setState(next);
    setAfter([]);
  };
  return html`<h1>Transactions</h1>
    <${ErrorBanner} error=${listing.error} />
    <div class="tabs" role="tablist">
      ${(["pending", "exhausted"] as const).map((each) => html`<button type="button" role="tab" aria-selected=${state === each} class=${state === each ? "tab active" : "tab"} onClick=${() => choose(each)}>${each === "pending" ? "Pending" : "Exhausted"}</button>`)}
    </div>
    <p class="muted" data-stat="transactions">${data === undefined ? "" : `${formatNumber(data.total)} ${state}`}</p>
    ${outcome === undefined ? null : html`<p class="ok" role="status">${outcome}</p>`}
    <table class="grid" aria-label="Transactions">
      <thead><tr><th>Transaction id</th><th>msgId</th><th>Producer group</th><th>Topic</th><th>Stored</th><th>Age</th><th>Check-backs</th><th>Next check</th>${props.settings.readOnly ? null : html`<th></th>`}</tr></thead>
      <tbody>
        ${(data?.transactions ?? []).map(
          (transaction) => html`<tr>
            <td class="mono">${transaction.transactionId}</td><td class="mono">${transaction.msgId}</td><td>${transaction.producerGroup}</td><td>${transaction.topic}</td>
            <td>${formatTime(transaction.storedMs)}</td><td>${formatDuration(transaction.ageMs)}</td><td class="num">${transaction.checks}</td><td>${formatTime(transaction.nextCheckMs)}</td>
            ${props.settings.readOnly
              ? null
              : html`<td class="actions"><button type="button" class="primary small" onClick=${() => end(transaction, "commit")}>Commit</button> <button type="button" class="danger small" onClick=${() => end(transaction, "rollback")}>Roll back</button></td>`}
          </tr>`,
        )}
      </tbody>
    </table>
    ${data !== undefined && data.transactions.length === 0 ? html`<p class="muted">No ${state} transaction.</p>` : null}
    <div class="toolbar">
      <button type="button" disabled=${after.length === 0} onClick=${() => setAfter(after.slice(0, -1))}>← Previous</button>
      <button type="button" disabled=${data?.next === undefined} onClick=${() => setAfter([...after, data!.next!])}>Next →</button>
    </div>
    ${dialog}`;
}
