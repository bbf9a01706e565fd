// How every sweeper reads its work list (failure mode 29): page by page with a keyset cursor, each
// page starting after the last row of the one before, until a short page (the end of the list) or
// the page budget. Rows left unfinished never stop the walk: the cursor moves past them whatever
// happened to them.

export interface PageWalk<Row, Cursor> {
  /** Up to `pageSize` rows after `after` (null: from the start of the list), in the list's order. */
  page(after: Cursor | null): Promise<Row[]>;
  cursorOf(row: Row): Cursor;
  /** Handles one row; expected to catch what it can, since a throw ends the walk. */
  each(row: Row): Promise<void>;
  pageSize: number;
  /** Pages one walk may read. */
  maxPages: number;
}

export interface WalkSummary {
  /** Pages read. */
  pages: number;
  /** True when the page budget ended the walk before the end of the list: the next walk carries on. */
  bounded: boolean;
}

export async function walkPages<Row, Cursor>(w: PageWalk<Row, Cursor>): Promise<WalkSummary> {
  let after: Cursor | null = null;
  for (let pages = 1; ; pages++) {
    const rows = await w.page(after);
    for (const row of rows) await w.each(row);
    const last = rows.at(-1);
    if (rows.length < w.pageSize || last === undefined) return { pages, bounded: false };
    if (pages >= w.maxPages) return { pages, bounded: true };
    after = w.cursorOf(last);
  }
}
