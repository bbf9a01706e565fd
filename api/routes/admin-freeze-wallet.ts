// POST /api/admin/orgs/:orgId/freeze {"reason"} and /unfreeze — operators freeze a wallet
// (CONTRACT §8): it admits no call, renews none, buys no number; its calls in progress are ended
// at once through their control URLs (shared/calls/call-meter.ts endLiveCalls: the sentence, then
// end-call). SQL wallet_freeze / wallet_unfreeze are the one freeze (Stripe disputes use it too,
// with source 'stripe_dispute'); they also write the wallet.frozen / wallet.unfrozen events.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { parseBody } from '../middleware/validate';
import { orgIdParam } from './admin-org-limits';

const freezeBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
const unfreezeBody = z.strictObject({});

export function freezeWallet({ controls, wallet, calls, metrics, log }: Services): RequestHandler {
  return async (req, res) => {
    const orgId = orgIdParam(req.params.orgId);
    const { reason } = parseBody(freezeBody, req);
    const c = await controls.freeze(orgId, reason, 'operator');
    if (c === undefined) throw new AppError('not_found', 'No such organisation.');
    // Before ending calls: the gate must already refuse new ones on the cached wallet.
    await wallet.writeThrough(orgId, c.wallet);
    metrics.walletFreezes.inc({ action: 'freeze', outcome: c.outcome === 'frozen' ? 'changed' : 'unchanged' });
    // Also on a repeated freeze: a call that slipped in meanwhile is ended too; the wallet version
    // in the job ids makes one freeze's steps run once however often it is asked.
    const callsEnding = await calls.meters.endLiveCalls(orgId, String(c.wallet.version));
    log.warn({ orgId, outcome: c.outcome, callsEnding }, 'wallet frozen by an operator');
    res.json({ orgId, frozen: c.frozen, frozenReason: c.frozenReason, callsEnding });
  };
}

export function unfreezeWallet({ controls, wallet, metrics, log }: Services): RequestHandler {
  return async (req, res) => {
    const orgId = orgIdParam(req.params.orgId);
    parseBody(unfreezeBody, req);
    const c = await controls.unfreeze(orgId, 'operator');
    if (c === undefined) throw new AppError('not_found', 'No such organisation.');
    await wallet.writeThrough(orgId, c.wallet);
    metrics.walletFreezes.inc({ action: 'unfreeze', outcome: c.outcome === 'unfrozen' ? 'changed' : 'unchanged' });
    log.info({ orgId, outcome: c.outcome }, 'wallet unfrozen by an operator');
    res.json({ orgId, frozen: c.frozen, frozenReason: c.frozenReason });
  };
}
