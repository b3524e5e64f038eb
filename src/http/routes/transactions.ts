/**
 * Transactions (issue 12): `GET /transactions?state=pending|exhausted` lists the unresolved half
 * messages (producer group, topic, age, check-backs), oldest first, a page at a time (`next`
 * continues); `POST /transactions/{id}/commit` and `.../rollback` end one by id — for an
 * operator resolving what a dead producer left, or a REST sender ending its own half message
 * (sent with `"transaction": true`). A repeated commit answers `already: true` and stores nothing.
 */

import { Hono } from "hono";
import { transactionListPageDefault } from "../../common/limits.ts";
import type { ApiContext } from "../api-context.ts";
import { transactionPath, transactionsQuery } from "../schemas.ts";
import { parseParams, parseQuery } from "../validation.ts";

export function transactionRoutes(api: ApiContext): Hono {
  const routes = new Hono();

  routes.get("/transactions", async (context) => {
    const query = parseQuery(context, transactionsQuery);
    const listing = await api.backend.listTransactions({ state: query.state, limit: query.limit ?? transactionListPageDefault, ...(query.after === undefined ? {} : { after: query.after.toUpperCase() }) });
    return context.json(listing);
  });

  for (const resolution of ["commit", "rollback"] as const) {
    routes.post(`/transactions/:id/${resolution}`, async (context) => {
      const { id } = parseParams(context, transactionPath);
      return context.json(await api.backend.endTransaction(id.toUpperCase(), resolution));
    });
  }

  return routes;
}
