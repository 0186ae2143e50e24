import type { Page } from "./types.js";

/** Pages through a list: `limit` items per page (1 to 200; the server's default is 50) from `cursor`. */
export interface ListParams {
  limit?: number;
  /** A previous page's next_cursor; leave out for the first page. */
  cursor?: string;
}

/** Sets limit and cursor on q. */
export function pageQuery(p: ListParams, q = new URLSearchParams()): URLSearchParams {
  if (p.limit !== undefined && p.limit > 0) q.set("limit", String(p.limit));
  if (p.cursor) q.set("cursor", p.cursor);
  return q;
}

/**
 * Yields every item of every page from cursor on, fetching the next page
 * only when the loop asks for it. An error ends the iteration by throwing.
 */
export async function* all<T>(
  cursor: string | undefined,
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T, void, undefined> {
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.data;
    const next = page.next_cursor;
    if (next === null || next === undefined || next === "" || next === cursor) return;
    cursor = next;
  }
}
