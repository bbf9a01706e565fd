// GET /api/wallet/usage?from=YYYY-MM-DD&to=YYYY-MM-DD (CONTRACT §12): the caller's usage per UTC
// day, every day of the range present (zeros included), each amount the sum of that day's ledger
// entries of its bucket (wallet_usage; the kind→bucket map is ledger_kinds() in SQL).
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { parseQuery } from '../middleware/validate';

/** The most days one request may cover (CONTRACT §12). */
export const USAGE_MAX_DAYS = 366;
const DAY_MS = 86_400_000;

/** A real UTC calendar day written YYYY-MM-DD (2026-02-30 is refused), as ms since the epoch. */
export const calendarDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
  .transform((s, ctx) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== s || s < '0001-01-01') {
      ctx.addIssue({ code: 'custom', message: 'is not a calendar date' });
      return z.NEVER;
    }
    return { text: s, ms };
  });

const query = z
  .strictObject({ from: calendarDay, to: calendarDay })
  .refine((q) => q.from.ms <= q.to.ms, { message: 'must not be before from', path: ['to'] })
  .refine((q) => (q.to.ms - q.from.ms) / DAY_MS + 1 <= USAGE_MAX_DAYS, { message: `the range may cover at most ${USAGE_MAX_DAYS} days`, path: ['to'] });

export function getUsage({ usage }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const q = parseQuery(query, req);
    const u = await usage.usage(orgId, q.from.text, q.to.text);
    if (!u) throw new AppError('not_found', 'This organisation has no wallet.');
    res.json({ currency: u.currency, days: u.days });
  };
}
