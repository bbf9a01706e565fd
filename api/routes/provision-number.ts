// POST /api/managed-telephony/provision — debit the price and queue the purchase (CONTRACT §3).
// One SQL function locks the wallet, replays or records the key's first outcome, debits and
// writes the durable request row; the job is queued only after that commit. If queueing fails
// the answer is still 202: the row is durable and the sweeper queues it (failure mode 12).
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { phoneNumberPrices } from '../../shared/pricing';
import type { Services } from '../../shared/process/services';
import { jobIds, provisioningJobOptions } from '../../shared/queues/queues';
import { withTimeout } from '../../shared/timeout';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { fingerprint, keyReused, requireIdempotencyKey } from '../middleware/idempotency';
import { parseBody } from '../middleware/validate';
import { vapiId } from './schemas';

/** Longest wait for Redis when queueing; after it the sweeper takes over. */
export const ENQUEUE_TIMEOUT_MS = 1000;

const body = z.strictObject({
  areaCode: z.string().regex(/^[0-9]{3}$/, 'must be three digits'),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be two upper-case letters').default('US'),
  assistantId: vapiId.optional(),
});

export const statusUrl = (requestId: string) => `/api/managed-telephony/provisioning/${requestId}`;

export function provisionNumber(services: Services): RequestHandler {
  const { config, provisioning, wallet, queues, metrics, log } = services;
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const key = requireIdempotencyKey(req);
    const input = parseBody(body, req);
    const r = await provisioning.create({
      orgId,
      prices: phoneNumberPrices(config.pricing),
      idempotencyKey: key,
      fingerprint: fingerprint('provision', input),
      areaCode: input.areaCode,
      country: input.country,
      assistantId: input.assistantId,
      maxAttempts: config.provisioning.maxAttempts,
    });
    switch (r.outcome) {
      case 'queued': {
        const requestId = r.request.id;
        metrics.walletMovements.inc({ kind: 'phone_number', outcome: r.replayed ? 'replayed' : 'posted' });
        if (!r.replayed) {
          metrics.walletMovementAmount.inc({ kind: 'phone_number', currency: r.currency }, r.request.charged);
          metrics.gateDecisions.inc({ gate: 'provision', outcome: 'allowed', path: 'database' });
          await wallet.writeThrough(orgId, { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls });
        }
        // Also on a replay: the first answer may have been given while Redis was down. The job
        // id makes a second add a no-op while the job exists.
        try {
          await withTimeout(queues.provisioning.add('provision', { requestId }, provisioningJobOptions(config, requestId)), ENQUEUE_TIMEOUT_MS, 'redis');
        } catch (err) {
          metrics.fallbacks.inc({ gate: 'provision', to: 'sweeper', reason: 'enqueue_failed' });
          log.warn({ requestId, jobId: jobIds.provisioning(requestId), err: (err as Error).message }, 'could not queue provisioning job; the sweeper will');
        }
        res.status(202).json({
          requestId,
          status: 'queued',
          statusUrl: statusUrl(requestId),
          charged: r.request.charged,
          currency: r.currency,
          balance: r.balance,
        });
        return;
      }
      case 'insufficient_funds':
        if (!r.replayed) metrics.gateDecisions.inc({ gate: 'provision', outcome: 'refused_insufficient_funds', path: 'database' });
        metrics.walletMovements.inc({ kind: 'phone_number', outcome: 'refused' });
        throw new AppError('insufficient_funds', 'The wallet balance is below the price of a phone number.', {
          currency: r.currency,
          balance: r.balance,
          required: r.required,
          shortfall: r.shortfall,
        });
      case 'currency_not_priced':
        if (!r.replayed) metrics.gateDecisions.inc({ gate: 'provision', outcome: 'refused_currency_not_priced', path: 'database' });
        metrics.walletMovements.inc({ kind: 'phone_number', outcome: 'refused' });
        throw new AppError('currency_not_priced', `Phone numbers have no price in ${r.currency}, the currency of this wallet; nothing was charged.`, {
          currency: r.currency,
          pricedCurrencies: r.priced_currencies,
        });
      case 'wallet_frozen':
        if (!r.replayed) metrics.spendControls.inc({ control: 'wallet_frozen', surface: 'purchase', outcome: 'refused' });
        throw new AppError('wallet_frozen', 'This wallet is frozen: no number can be bought until an operator unfreezes it.');
      case 'limit_reached':
        if (!r.replayed) metrics.spendControls.inc({ control: r.limit, surface: 'purchase', outcome: 'refused' });
        throw new AppError('limit_reached', `This purchase would pass the organisation's ${r.limit}.`, { limit: r.limit });
      case 'not_found':
        throw new AppError('not_found', 'This organisation has no wallet.');
      case 'idempotency_key_reused':
        throw keyReused();
    }
  };
}
