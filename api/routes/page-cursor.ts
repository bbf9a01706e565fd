// The cursor formats of the dashboard's paged lists. By entry id (GET /api/wallet/transactions and
// /api/wallet/events): opaque to the caller (base64url of the last row's id), a string as
// api/openapi.ts documents `nextCursor`, and refused with a 400 when it is not one of ours.
import { z } from 'zod';

export const pageCursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,24}$/, 'is not a cursor from this API')
  .transform((c, ctx) => {
    const id = Number(Buffer.from(c, 'base64url').toString('utf8'));
    if (!Number.isSafeInteger(id) || id < 1) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor from this API' });
      return z.NEVER;
    }
    return id;
  });

export const encodeCursor = (id: number) => Buffer.from(String(id), 'utf8').toString('base64url');

// Lists ordered by a time and a text id (GET /api/calls: admitted_at and call id; the top-ups
// list: created_at and top-up id) page by a keyset of both, opaque to the caller too: base64url of
// the JSON pair [time, id], the time exactly as Postgres wrote it (microseconds), so the next page
// starts strictly after the last row shown, ties broken by the id.
const KEYSET_CURSOR_MAX_CHARS = 1200;
const POSTGRES_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)$/;

export interface Keyset {
  at: string;
  id: string;
}

export function keysetCursor(id: RegExp) {
  return z
    .string()
    .regex(new RegExp(`^[A-Za-z0-9_-]{1,${KEYSET_CURSOR_MAX_CHARS}}$`), 'is not a cursor from this API')
    .transform((c, ctx): Keyset => {
      let pair: unknown;
      try {
        pair = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
      } catch {
        pair = undefined;
      }
      const [at, key] = Array.isArray(pair) && pair.length === 2 ? (pair as unknown[]) : [];
      if (typeof at !== 'string' || typeof key !== 'string' || !POSTGRES_TIMESTAMP.test(at) || !Number.isFinite(Date.parse(at)) || !id.test(key)) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor from this API' });
        return z.NEVER;
      }
      return { at, id: key };
    });
}

export const encodeKeysetCursor = (k: Keyset) => Buffer.from(JSON.stringify([k.at, k.id]), 'utf8').toString('base64url');
