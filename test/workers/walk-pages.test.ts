// Proves the sweepers' paging (workers/walk-pages.ts) on lists in memory, for any length, page
// size, page budget and starting cursor (fast-check): without a resume store a walk takes the
// first pageSize × maxPages rows and says whether the budget stopped it; with one, walks take the
// rows in turn, never one twice in a walk, so every row is visited within
// ceil(rows ÷ (pageSize × maxPages)) walks wherever the first began.
import fc from 'fast-check';
import { walkPages, type PageWalk, type ResumeStore } from '../../workers/walk-pages';

/** A list of rows 0 … length−1, read in pages after a cursor (the row number), and what was taken. */
function list(length: number, pageSize: number, maxPages: number, resume?: ResumeStore<number>) {
  const taken: number[] = [];
  const walk: PageWalk<number, number> = {
    page: async (after) => Array.from({ length }, (_, i) => i).filter((i) => after === null || i > after).slice(0, pageSize),
    cursorOf: (row) => row,
    each: async (row) => {
      taken.push(row);
    },
    pageSize,
    maxPages,
    resume,
  };
  return { walk, taken };
}

function memoryStore(start: number | null): ResumeStore<number> & { cursor: number | null } {
  const store = {
    cursor: start,
    load: async () => store.cursor,
    save: async (c: number | null) => {
      store.cursor = c;
    },
  };
  return store;
}

const shapes = fc.record({ length: fc.integer({ min: 0, max: 60 }), pageSize: fc.integer({ min: 1, max: 6 }), maxPages: fc.integer({ min: 1, max: 5 }) });

describe('walking a work list in pages', () => {
  it('takes the first pageSize × maxPages rows from the start, and is bounded only when rows are left', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, async ({ length, pageSize, maxPages }) => {
        const { walk, taken } = list(length, pageSize, maxPages);
        const summary = await walkPages(walk);
        const budget = pageSize * maxPages;
        expect(taken).toEqual(Array.from({ length: Math.min(length, budget) }, (_, i) => i));
        expect(summary.bounded).toBe(length >= budget);
        expect(summary.pages).toBeLessThanOrEqual(maxPages);
      }),
    );
  });

  it('with a resume cursor, visits every row within ceil(rows / budget) walks from any start, none twice in a walk', async () => {
    const start = fc.option(fc.integer({ min: -1, max: 62 }), { nil: null });
    await fc.assert(
      fc.asyncProperty(shapes, start, async ({ length, pageSize, maxPages }, from) => {
        const store = memoryStore(from);
        const seen = new Set<number>();
        const walks = Math.max(1, Math.ceil(length / (pageSize * maxPages)));
        for (let n = 0; n < walks; n++) {
          const { walk, taken } = list(length, pageSize, maxPages, store);
          const summary = await walkPages(walk);
          expect(new Set(taken).size).toBe(taken.length);
          expect(taken.length).toBeLessThanOrEqual(pageSize * maxPages);
          expect(summary.pages).toBeLessThanOrEqual(maxPages + 2);
          for (const row of taken) seen.add(row);
        }
        expect(seen.size).toBe(length);
      }),
    );
  });
});
