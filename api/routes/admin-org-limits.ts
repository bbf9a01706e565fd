// GET / PUT /api/admin/orgs/:orgId/limits — the operators' spend limits (CONTRACT §8). A PUT
// replaces all four (a key left out is null = no limit); the new limits are written through to
// the cached wallet at the version their SQL function gave it, so the next call is decided on them.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import type { OrgControls } from '../../shared/wallet/spend-controls-store';
import { parseBody } from '../middleware/validate';
import { UUID_PATTERN } from './schemas';

/** Bounds of each limit (also the columns' checks): beyond them a value is a typo, not a policy. */
export const LIMIT_BOUNDS = {
  maxConcurrentCalls: { min: 0, max: 10_000 },
  dailySpendLimit: { min: 0, max: 100_000_000 },
  maxCallSeconds: { min: 10, max: 43_200 },
  maxNumbersPerDay: { min: 0, max: 1000 },
} as const;

const limit = (b: { min: number; max: number }) => z.number().int('must be a whole number').min(b.min).max(b.max).nullable().default(null);

const body = z.strictObject({
  maxConcurrentCalls: limit(LIMIT_BOUNDS.maxConcurrentCalls),
  dailySpendLimit: limit(LIMIT_BOUNDS.dailySpendLimit),
  maxCallSeconds: limit(LIMIT_BOUNDS.maxCallSeconds),
  maxNumbersPerDay: limit(LIMIT_BOUNDS.maxNumbersPerDay),
});

/** The route's org id: unknown and malformed look the same (404), as for credits. */
export function orgIdParam(raw: unknown): string {
  const orgId = String(raw);
  if (!UUID_PATTERN.test(orgId)) throw new AppError('not_found', 'No such organisation.');
  return orgId.toLowerCase();
}

export const limitsBody = (c: OrgControls) => ({ orgId: c.orgId, ...c.limits, currency: c.wallet.currency });

export function getOrgLimits({ controls }: Services): RequestHandler {
  return async (req, res) => {
    const c = await controls.get(orgIdParam(req.params.orgId));
    if (c === undefined) throw new AppError('not_found', 'No such organisation.');
    res.json(limitsBody(c));
  };
}

export function putOrgLimits({ controls, wallet, log }: Services): RequestHandler {
  return async (req, res) => {
    const orgId = orgIdParam(req.params.orgId);
    const input = parseBody(body, req);
    const c = await controls.set(orgId, input);
    if (c === undefined) throw new AppError('not_found', 'No such organisation.');
    // A failed write is repaired in the background by the wallet service (failure mode 28).
    await wallet.writeThrough(orgId, c.wallet);
    log.info({ orgId, limits: c.limits }, 'spend limits set');
    res.json(limitsBody(c));
  };
}
