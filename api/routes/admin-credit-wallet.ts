// POST /api/admin/orgs/:orgId/credits — a top-up, idempotent on the client's key.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { fingerprint, keyReused, requireIdempotencyKey } from '../middleware/idempotency';
import { parseBody } from '../middleware/validate';
import { positiveAmount, UUID_PATTERN } from './schemas';

export const MAX_CREDIT = 100_000_000;

const body = z.strictObject({
  amount: positiveAmount(MAX_CREDIT),
  reason: z.string().trim().min(1).max(500),
});

export function creditWallet({ wallet }: Services): RequestHandler {
  return async (req, res) => {
    const orgId = String(req.params.orgId);
    const key = requireIdempotencyKey(req);
    const input = parseBody(body, req);
    // Unknown and malformed org ids look the same.
    if (!UUID_PATTERN.test(orgId)) throw new AppError('not_found', 'No such organisation.');
    const r = await wallet.credit({
      orgId: orgId.toLowerCase(),
      amount: input.amount,
      idempotencyKey: key,
      fingerprint: fingerprint('credit', input),
      reason: input.reason,
    });
    switch (r.outcome) {
      case 'credited':
        res.status(201).json({ entryId: r.entryId, balance: r.balanceAfter, currency: r.wallet.currency });
        return;
      case 'not_found':
        throw new AppError('not_found', 'No such organisation.');
      case 'idempotency_key_reused':
        throw keyReused();
    }
  };
}
