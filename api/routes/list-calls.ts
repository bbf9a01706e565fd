// GET /api/calls (CONTRACT §12): the caller's calls, newest first, each with its numbers, times,
// billed seconds, charge and rate (calls_list). Paged by a keyset of admission time and call id.
import { Router } from 'express';
import { z } from 'zod';
import type { Services } from '../../shared/process/services';
import type { CallItem } from '../../shared/usage/usage-store';
import { dashboardCaller, requireDashboard } from '../middleware/dashboard-auth';
import { parseQuery } from '../middleware/validate';
import { encodeKeysetCursor, keysetCursor } from './page-cursor';

export const CALLS_MAX_LIMIT = 200;
/** A call id as the calls table allows it: 1..200 characters, no NUL. */
const CALL_ID = /^[^\u0000]{1,200}$/u;

const query = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(CALLS_MAX_LIMIT))
    .default(50),
  cursor: keysetCursor(CALL_ID).optional(),
});

export function callBody(c: CallItem) {
  return { callId: c.callId, direction: c.direction, from: c.from, to: c.to, startedAt: c.startedAt, endedAt: c.endedAt, seconds: c.seconds, amount: c.amount, ratePerMinute: c.ratePerMinute, status: c.status };
}

export function listCallsRoutes(services: Services): Router {
  const { config, usage } = services;
  const r = Router();
  r.use(requireDashboard(config.auth.jwt));
  r.get('/', async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const q = parseQuery(query, req);
    // One extra row tells whether another page exists without a count query.
    const rows = await usage.listCalls({ orgId, before: q.cursor, limit: q.limit + 1, ratePerMinute: config.pricing.callRatePerMinute });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    res.json({ items: items.map(callBody), nextCursor: rows.length > q.limit && last ? encodeKeysetCursor({ at: last.admittedAt, id: last.callId }) : null });
  });
  return r;
}
