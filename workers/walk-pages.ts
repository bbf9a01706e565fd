// How every sweeper reads its work list (failure mode 29): page by page with a keyset cursor, each
// page starting after the last row of the one before, until a short page (the end of the list) or
// the walk's budget of pageSize × maxPages rows. Rows left unfinished never stop the walk: the
// cursor moves past them whatever happened to them.
//
// A list whose rows stay in it once looked at (the meter sweep's open calls) needs more: with a
// `resume` store a walk starts after the row the previous walk stopped at and, past the end of the
// list, carries on from the start until its budget is spent or it comes round to a row it already
// took. Walks so take the list's rows in turn, none twice in one walk, and every row is visited
// within ceil(rows ÷ (pageSize × maxPages)) walks, wherever the first began. Lists that drop the
// rows they were shown (the sweeps that defer them) walk from their first due row, without a store.

/** Where a walk stopped, kept between walks (workers/sweep-cursor.ts keeps it in Redis). */
export interface ResumeStore<Cursor> {
  /** The cursor the previous walk stopped at; null: from the start. */
  load(): Promise<Cursor | null>;
  save(cursor: Cursor | null): Promise<void>;
}

export interface PageWalk<Row, Cursor> {
  /** Up to `pageSize` rows after `after` (null: from the start of the list), in the list's order. */
  page(after: Cursor | null): Promise<Row[]>;
  cursorOf(row: Row): Cursor;
  /** Handles one row; expected to catch what it can, since a throw ends the walk. */
  each(row: Row): Promise<void>;
  pageSize: number;
  /**
   * Pages of rows one walk may take (pageSize × maxPages rows). A walk reads at most this many
   * pages, or two more with `resume` (the end of the list and the wrap may each cost a short one).
   */
  maxPages: number;
  resume?: ResumeStore<Cursor>;
}

export interface WalkSummary {
  /** Pages read. */
  pages: number;
  /** True when the budget ended the walk before the end of the list: the next walk carries on. */
  bounded: boolean;
}

export async function walkPages<Row, Cursor>(w: PageWalk<Row, Cursor>): Promise<WalkSummary> {
  const start: Cursor | null = w.resume === undefined ? null : await w.resume.load();
  // Rows this walk took (by cursor), to see it come round; a walk from the start cannot.
  const taken = start === null ? undefined : new Set<string>();
  let budget = w.pageSize * w.maxPages;
  let after = start;
  let wrapped = start === null;
  let pages = 0;
  const end = async (stop: Cursor | null, bounded: boolean): Promise<WalkSummary> => {
    await w.resume?.save(stop);
    return { pages, bounded };
  };
  for (;;) {
    const rows = await w.page(after);
    pages++;
    for (const row of rows) {
      if (budget === 0) return end(after, true);
      const cursor = w.cursorOf(row);
      if (taken !== undefined) {
        const key = JSON.stringify(cursor);
        if (taken.has(key)) return end(after, false);
        taken.add(key);
      }
      await w.each(row);
      budget--;
      after = cursor;
    }
    if (rows.length < w.pageSize) {
      if (wrapped) return end(null, false);
      // The end of the list, in a walk that began after its first row: on from the start.
      wrapped = true;
      after = null;
    } else if (budget === 0) {
      return end(after, true);
    }
  }
}
