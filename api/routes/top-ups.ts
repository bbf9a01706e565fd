// POST /api/wallet/top-ups and GET /api/wallet/top-ups/:topUpId (CONTRACT §7), and the list
// GET /api/wallet/top-ups (newest first, with each paid top-up's receipt number, CONTRACT §12). The SQL function
// records the top-up and the key's first outcome before Stripe is called; the Checkout Session is
// created under the Stripe idempotency key `topup-<id>`, so a replay (or a retry after Stripe
// failed) reaches the same session. Nothing is credited here: only Stripe's events credit.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { TopUp } from '../../shared/money-in/money-in-store';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { fingerprint, keyReused, requireIdempotencyKey } from '../middleware/idempotency';
import { parseBody, parseQuery } from '../middleware/validate';
import { encodeKeysetCursor, keysetCursor } from './page-cursor';
import { UUID_PATTERN } from './schemas';

const returnUrl = z
  .string()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

function bodySchema(min: number, max: number) {
  return z.strictObject({
    amount: z.number().int('must be a whole number of minor units').min(min).max(max),
    returnUrl: returnUrl.optional(),
  });
}

export function topUpBody(t: TopUp) {
  return { topUpId: t.topUpId, status: t.status, amount: t.amount, currency: t.currency, credited: t.credited, refunded: t.refunded, createdAt: t.createdAt, updatedAt: t.updatedAt };
}

async function customerFor(services: Services, orgId: string): Promise<string> {
  const known = await services.moneyIn.stripeCustomer(orgId, null);
  if (known.outcome === 'found' && known.customer_id !== null) return known.customer_id;
  const c = await services.stripe.customers.create({ metadata: { orgId } }, { idempotencyKey: `customer-${orgId}` });
  const stored = await services.moneyIn.stripeCustomer(orgId, c.id);
  if (stored.outcome !== 'found' || stored.customer_id === null) throw new AppError('not_found', 'This organisation has no wallet.');
  return stored.customer_id;
}

export function createTopUp(services: Services): RequestHandler {
  const { config, moneyIn, stripe, metrics, log } = services;
  const body = bodySchema(config.topUps.minAmount, config.topUps.maxAmount);
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const key = requireIdempotencyKey(req);
    const input = parseBody(body, req);
    const r = await moneyIn.createTopUp({ orgId, amount: input.amount, idempotencyKey: key, fingerprint: fingerprint('topup', input) });
    if (r.outcome === 'not_found') throw new AppError('not_found', 'This organisation has no wallet.');
    if (r.outcome === 'idempotency_key_reused') throw keyReused();
    let top = r.top_up;
    if (top.checkoutSessionId === null) {
      const back = input.returnUrl ?? `${config.publicBaseUrl}/billing`;
      const sep = back.includes('?') ? '&' : '?';
      try {
        const customer = await customerFor(services, orgId);
        const session = await stripe.checkout.sessions.create(
          {
            mode: 'payment',
            customer,
            client_reference_id: orgId,
            line_items: [{ quantity: 1, price_data: { currency: top.currency, unit_amount: top.amount, product_data: { name: 'Wallet top-up' } } }],
            metadata: { orgId, topUpId: top.topUpId },
            payment_intent_data: { setup_future_usage: 'off_session', metadata: { kind: 'checkout', orgId, topUpId: top.topUpId } },
            success_url: `${back}${sep}topUp=${top.topUpId}&result=success`,
            cancel_url: `${back}${sep}topUp=${top.topUpId}&result=cancel`,
          },
          { idempotencyKey: `topup-${top.topUpId}` },
        );
        if (session.url === null) throw new Error('Stripe returned a Checkout Session without a url');
        const attached = await moneyIn.attachSession(top.topUpId, session.id, session.url);
        if (attached.outcome === 'found') top = attached.top_up;
      } catch (err) {
        if (err instanceof AppError) throw err;
        metrics.topUps.inc({ source: 'checkout', outcome: 'stripe_error' });
        log.error({ orgId, topUpId: top.topUpId, err: (err as Error).message }, 'could not create a Checkout Session');
        throw new AppError('payment_provider_unavailable', 'Stripe could not be reached; nothing was charged. Retry with the same Idempotency-Key.');
      }
    }
    metrics.topUps.inc({ source: 'checkout', outcome: r.replayed ? 'replayed' : 'created' });
    res.status(201).json({ topUpId: top.topUpId, status: top.status, amount: top.amount, currency: top.currency, checkoutUrl: top.checkoutUrl, checkoutSessionId: top.checkoutSessionId });
  };
}

export function getTopUp({ moneyIn }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const id = String(req.params.topUpId);
    if (!UUID_PATTERN.test(id)) throw new AppError('not_found', 'No such top-up.');
    const r = await moneyIn.getTopUp(orgId, id.toLowerCase());
    if (r.outcome === 'not_found') throw new AppError('not_found', 'No such top-up.');
    res.json(topUpBody(r.top_up));
  };
}

export const TOP_UPS_MAX_LIMIT = 100;

const listQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(TOP_UPS_MAX_LIMIT))
    .default(20),
  cursor: keysetCursor(UUID_PATTERN).optional(),
});

export function listTopUps({ moneyIn }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const q = parseQuery(listQuery, req);
    // One extra row tells whether another page exists without a count query.
    const rows = await moneyIn.listTopUps({ orgId, before: q.cursor, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    res.json({
      items: items.map((r) => ({ ...topUpBody(r.topUp), receiptNumber: r.receiptNumber })),
      nextCursor: rows.length > q.limit && last ? encodeKeysetCursor(last.keyset) : null,
    });
  };
}
