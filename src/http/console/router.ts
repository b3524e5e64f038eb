/** The console's addresses: the page, an item (a topic or group) and a query, all in the URL's hash. */

import type { Settings } from "./api.ts";

export interface Route {
  /** The first path segment: "overview", "topics", ... */
  readonly page: string;
  /** The rest of the path, decoded (a topic or group name). */
  readonly item: string | undefined;
  readonly query: URLSearchParams;
}

export interface PageProps {
  readonly route: Route;
  readonly settings: Settings;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = text.split("?", 2) as [string?, string?];
  const [page = "", ...rest] = path.split("/");
  return { page: page === "" ? "overview" : page, item: rest.length === 0 || rest.join("/") === "" ? undefined : decodeURIComponent(rest.join("/")), query: new URLSearchParams(search) };
}

/** The hash of a console link: `link("topics", "orders")`, `link("messages", undefined, { topic: "orders" })`. */
export function link(page: string, item?: string, query: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== "") search.set(name, value);
  const text = search.toString();
  return `#/${page}${item === undefined ? "" : `/${encodeURIComponent(item)}`}${text === "" ? "" : `?${text}`}`;
}

