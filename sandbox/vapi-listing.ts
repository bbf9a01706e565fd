// SANDBOX ONLY: how Vapi's list endpoints (GET /phone-number, GET /call) answer, shared by both
// simulators: at most `limit` items (default 100, at most 1000: Vapi's OpenAPI spec), narrowed by
// the spec's createdAt/updatedAt bounds (createdAtGt, createdAtLe, ...), newest first. There is no
// page token: a client pages by moving a createdAt bound past the last page, so the order and the
// bounds are what a paging client is tested against.

/** Vapi's largest `limit` (its OpenAPI spec). */
export const VAPI_LIST_MAX = 1000;
/** Vapi's `limit` when none is given (its OpenAPI spec). */
export const VAPI_LIST_DEFAULT = 100;

export interface Listable {
  id: string;
  createdAt: string;
  updatedAt: string;
}

/** Vapi answers newest first; oldest_first is for tests of a client that must follow either order. */
export type ListOrder = 'newest_first' | 'oldest_first';

export type Listed<T> = { ok: true; items: T[] } | { ok: false; message: string };

const BOUNDS: ReadonlyArray<[string, 'createdAt' | 'updatedAt', (a: number, b: number) => boolean]> = [
  ['createdAtGt', 'createdAt', (a, b) => a > b],
  ['createdAtGe', 'createdAt', (a, b) => a >= b],
  ['createdAtLt', 'createdAt', (a, b) => a < b],
  ['createdAtLe', 'createdAt', (a, b) => a <= b],
  ['updatedAtGt', 'updatedAt', (a, b) => a > b],
  ['updatedAtGe', 'updatedAt', (a, b) => a >= b],
  ['updatedAtLt', 'updatedAt', (a, b) => a < b],
  ['updatedAtLe', 'updatedAt', (a, b) => a <= b],
];

/** One page of `items` as Vapi would list it for `query` (express's req.query); a bad bound is Vapi's 400. */
export function vapiList<T extends Listable>(items: Iterable<T>, query: Record<string, unknown>, order: ListOrder = 'newest_first'): Listed<T> {
  const text = (k: string) => (typeof query[k] === 'string' ? query[k] : undefined);
  const limit = Math.min(Number(text('limit') ?? VAPI_LIST_DEFAULT) || VAPI_LIST_DEFAULT, VAPI_LIST_MAX);
  let kept = [...items];
  for (const [param, field, keep] of BOUNDS) {
    const raw = text(param);
    if (raw === undefined) continue;
    const at = Date.parse(raw);
    if (Number.isNaN(at)) return { ok: false, message: `${param} must be a valid ISO 8601 date string` };
    kept = kept.filter((x) => keep(Date.parse(x[field]), at));
  }
  // Ties of createdAt in a fixed order, so a repeated request answers the same page.
  kept.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1));
  if (order === 'oldest_first') kept.reverse();
  return { ok: true, items: kept.slice(0, Math.max(0, limit)) };
}
