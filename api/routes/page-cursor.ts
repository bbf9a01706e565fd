// The one cursor format of the dashboard's paged lists (GET /api/wallet/transactions and
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
